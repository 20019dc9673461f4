"""ONNX models: external-data paths and custom operator domains.

ONNX holds no Python, but a model can point its weights at any file (``location:
../../etc/shadow`` is read, or written on save) and can use operators from a domain
that only a custom-op library (native code loaded into the runtime) provides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "onnx"
# Domains every ONNX runtime implements itself (ai.onnx is also spelled "").
STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft"}
)


def _graphs(graph: Any) -> Iterator[Any]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _tensors(model: Any) -> Iterator[Any]:
    for graph in _graphs(model.graph):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors


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
        try:
            from google.protobuf.message import DecodeError
            from onnx import ModelProto, TensorProto
        except ImportError:  # pragma: no cover - onnx is a dependency
            raise ScanFailed("the onnx package is not installed") from None
        model = ModelProto()
        try:
            model.ParseFromString(bytes(target.data))
        except (DecodeError, ValueError, RecursionError):
            raise ScanFailed("not a valid ONNX protobuf") from None
        if not model.HasField("graph"):
            raise ScanFailed("ONNX model without a graph")
        folder = target.path.parent if target.path is not None else None
        findings: list[Finding] = []

        def flag(severity: Severity, detail: str, name: str | None = None) -> None:
            findings.append(Finding(severity, SCANNER, detail, None, name, target.member))

        for tensor in _tensors(model):
            if tensor.data_location != TensorProto.EXTERNAL:
                continue
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            if _escapes(location, folder):
                flag(
                    Severity.CRITICAL,
                    f"tensor {tensor.name!r} reads external data from {location!r}, "
                    "outside the model folder",
                    location,
                )
        local_functions = {(f.domain, f.name) for f in model.functions}
        custom: set[str] = set()
        for graph in _graphs(model.graph):
            for node in graph.node:
                if node.domain not in STANDARD_DOMAINS and (
                    (node.domain, node.op_type) not in local_functions
                ):
                    custom.add(f"{node.domain}::{node.op_type}")
        for op in sorted(custom):
            flag(
                Severity.MEDIUM,
                f"custom operator {op} needs a native custom-op library at load time",
                op,
            )
        return findings
