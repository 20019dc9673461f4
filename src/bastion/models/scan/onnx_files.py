"""ONNX models: external-data paths and custom operator domains.

ONNX holds no Python, but a model can point its weights at any file (``location:
../../etc/shadow`` is read, or written on save) and can use operators from a domain
that only a custom-op library (native code loaded into the runtime) provides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "onnx"
# Domains every ONNX runtime implements itself (ai.onnx is also spelled "").
STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft"}
)


# Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
# TensorProto, SparseTensorProto, FunctionProto, TrainingInfoProto).
_MODEL_GRAPH, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 20, 25
_GRAPH_NODE, _GRAPH_INIT, _GRAPH_SPARSE = 1, 5, 15
_NODE_OP, _NODE_ATTR, _NODE_DOMAIN = 4, 5, 7
_ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE = (5, 10), (6, 11), (22, 23)
_TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 13, 14
_FUNC_NAME, _FUNC_NODE, _FUNC_DOMAIN = 1, 7, 10
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
MAX_GRAPH_DEPTH = 64


class _Wire:
    """Protobuf wire-format reading over a buffer, with absolute offsets.

    Only the fields the checks need are decoded; everything else is skipped by length.
    Hostile bytes never reach a generated parser, and nothing is copied.
    """

    def __init__(self, data: Any) -> None:
        self.view = memoryview(data)

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            if pos >= end or shift > 63:
                raise ScanFailed("not a valid ONNX protobuf: bad varint")
            byte = self.view[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """(field, wire type, value start, value end or varint value) for each field."""
        pos = start
        while pos < end:
            key, pos = self.varint(pos, end)
            number, kind = key >> 3, key & 7
            if number == 0:
                raise ScanFailed("not a valid ONNX protobuf: field number 0")
            if kind == 0:
                value, pos = self.varint(pos, end)
                yield number, kind, pos, value
            elif kind == 2:
                length, pos = self.varint(pos, end)
                if pos + length > end:
                    raise ScanFailed("not a valid ONNX protobuf: field runs past its message")
                yield number, kind, pos, pos + length
                pos += length
            elif kind in (1, 5):
                pos += 8 if kind == 1 else 4
                if pos > end:
                    raise ScanFailed("not a valid ONNX protobuf: truncated fixed field")
            else:
                raise ScanFailed(f"not a valid ONNX protobuf: wire type {kind}")

    def messages(
        self, start: int, end: int, wanted: int | tuple[int, ...]
    ) -> Iterator[tuple[int, int]]:
        numbers = (wanted,) if isinstance(wanted, int) else wanted
        for number, kind, begin, finish in self.fields(start, end):
            if number in numbers and kind == 2:
                yield begin, finish

    def text(self, start: int, end: int, wanted: int) -> str:
        value = ""
        for begin, finish in self.messages(start, end, wanted):
            value = bytes(self.view[begin:finish]).decode("utf-8", errors="replace")
        return value


@dataclass
class _Model:
    """What the checks need from a model: its tensors and nodes, with offsets."""

    tensors: list[tuple[int, str, int, str]] = field(
        default_factory=list
    )  # offset, name, location kind, path
    nodes: list[tuple[int, str, str]] = field(default_factory=list)  # offset, domain, op type
    functions: set[tuple[str, str]] = field(default_factory=set)


def _read_model(wire: _Wire, size: int) -> _Model:
    model = _Model()
    graphs = list(wire.messages(0, size, _MODEL_GRAPH))
    if not graphs:
        raise ScanFailed("ONNX model without a graph")
    for begin, end in graphs:
        _read_graph(wire, begin, end, model, 0)
    for begin, end in wire.messages(0, size, _MODEL_TRAINING):
        for sub_begin, sub_end in wire.messages(begin, end, (1, 2)):
            _read_graph(wire, sub_begin, sub_end, model, 0)
    for begin, end in wire.messages(0, size, _MODEL_FUNCTIONS):
        domain = wire.text(begin, end, _FUNC_DOMAIN)
        model.functions.add((domain, wire.text(begin, end, _FUNC_NAME)))
        for node_begin, node_end in wire.messages(begin, end, _FUNC_NODE):
            _read_node(wire, node_begin, node_end, model, 0)
    return model


def _read_graph(wire: _Wire, start: int, end: int, model: _Model, depth: int) -> None:
    if depth > MAX_GRAPH_DEPTH:
        raise ScanFailed(f"ONNX subgraphs nested deeper than {MAX_GRAPH_DEPTH}")
    for number, kind, begin, finish in wire.fields(start, end):
        if kind != 2:
            continue
        if number == _GRAPH_NODE:
            _read_node(wire, begin, finish, model, depth)
        elif number == _GRAPH_INIT:
            _read_tensor(wire, begin, finish, model)
        elif number == _GRAPH_SPARSE:
            for t_begin, t_end in wire.messages(begin, finish, (1, 2)):
                _read_tensor(wire, t_begin, t_end, model)


def _read_node(wire: _Wire, start: int, end: int, model: _Model, depth: int) -> None:
    model.nodes.append(
        (start, wire.text(start, end, _NODE_DOMAIN), wire.text(start, end, _NODE_OP))
    )
    for begin, finish in wire.messages(start, end, _NODE_ATTR):
        for number, kind, a_begin, a_end in wire.fields(begin, finish):
            if kind != 2:
                continue
            if number in _ATTR_TENSORS:
                _read_tensor(wire, a_begin, a_end, model)
            elif number in _ATTR_GRAPHS:
                _read_graph(wire, a_begin, a_end, model, depth + 1)
            elif number in _ATTR_SPARSE:
                for t_begin, t_end in wire.messages(a_begin, a_end, (1, 2)):
                    _read_tensor(wire, t_begin, t_end, model)


def _read_tensor(wire: _Wire, start: int, end: int, model: _Model) -> None:
    location_kind, location = 0, ""
    for number, kind, begin, finish in wire.fields(start, end):
        if number == _TENSOR_LOCATION and kind == 0:
            location_kind = finish
        elif number == _TENSOR_EXTERNAL and kind == 2:
            key = wire.text(begin, finish, 1)
            if key == "location":
                location = wire.text(begin, finish, 2)
    if location_kind == _EXTERNAL:
        model.tensors.append((start, wire.text(start, end, _TENSOR_NAME), location_kind, location))


def _escapes(location: str, folder: Path | None) -> bool:
    if not location or location.startswith(("/", "\\")) or os.path.isabs(location):
        return True
    if ":" in location.split("/")[0]:  # a drive letter or a URL scheme
        return True
    if ".." in PurePosixPath(location.replace("\\", "/")).parts:
        return True
    if folder is not None:
        try:
            resolved = (folder / location).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop
            return True
        return not resolved.is_relative_to(folder.resolve())
    return False


class OnnxScanner:
    """``.onnx`` protobuf models."""

    name = "onnx"

    def detect(self, head: bytes, name: str) -> str | None:
        return "onnx" if name.lower().endswith(".onnx") else None

    def scan(self, target: Target) -> list[Finding]:
        model = _read_model(_Wire(target.data), len(target.data))
        folder = target.path.parent if target.path is not None else None
        findings: list[Finding] = []

        def flag(severity: Severity, detail: str, offset: int, name: str) -> None:
            findings.append(
                Finding(severity, SCANNER, detail, target.base_offset + offset, name, target.member)
            )

        for offset, name, _, location in model.tensors:
            if _escapes(location, folder):
                flag(
                    Severity.CRITICAL,
                    f"tensor {name!r} reads external data from {location!r}, "
                    "outside the model folder",
                    offset,
                    location,
                )
            elif folder is None:
                # Bytes without a folder (an archive member, a model out of the vault): the
                # weights live elsewhere, unverified, and would resolve wherever it is loaded.
                flag(
                    Severity.MEDIUM,
                    f"tensor {name!r} keeps its data in external file {location!r}, "
                    "which is not part of what was scanned or signed",
                    offset,
                    location,
                )
        custom: dict[str, int] = {}
        for offset, domain, op_type in model.nodes:
            if domain not in STANDARD_DOMAINS and (domain, op_type) not in model.functions:
                custom.setdefault(f"{domain}::{op_type}", offset)
        for op, offset in sorted(custom.items()):
            flag(
                Severity.MEDIUM,
                f"custom operator {op} needs a native custom-op library at load time",
                offset,
                op,
            )
        return findings
