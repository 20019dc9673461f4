"""Keras models: the ``.keras`` zip's ``config.json`` and legacy HDF5 ``.h5`` files.

A ``Lambda`` layer stores marshalled Python bytecode that Keras runs when the model is
loaded (unless ``safe_mode`` stops it); custom objects import modules named in the
config. HDF5 is read without an HDF5 library: the model config is a JSON attribute
stored as plain bytes, so it is found and decoded from the file's bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "keras"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CONFIG_START = re.compile(rb'\{\s*"class_name"\s*:')
_LAMBDA_BYTES = re.compile(rb'"class_name"\s*:\s*"(Lambda|TFOpLambda)"')
_KERAS_MODULES = ("keras", "tensorflow.keras", "tf_keras")


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def config_findings(config: Any, member: str | None, offset: int | None) -> list[Finding]:
    """Lambda layers and custom objects in a decoded Keras model config."""
    findings: list[Finding] = []
    for where, node in _walk(config):
        kind = node.get("class_name")
        layer = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
        if kind == "Lambda" or kind == "__lambda__":
            findings.append(
                Finding(
                    Severity.CRITICAL,
                    SCANNER,
                    f"Lambda layer {layer or where!r} carries Python bytecode run at load time",
                    offset,
                    "keras.layers.Lambda",
                    member,
                )
            )
        module = node.get("module")
        if (
            isinstance(kind, str)
            and isinstance(module, str)
            and not module.startswith(_KERAS_MODULES)
        ):
            findings.append(
                Finding(
                    Severity.MEDIUM,
                    SCANNER,
                    f"custom object {kind!r} from module {module!r} is imported at load time",
                    offset,
                    f"{module}.{kind}",
                    member,
                )
            )
    return findings


def scan_keras_config(data: bytes, member: str, offset: int) -> list[Finding]:
    """Findings for a ``.keras`` archive's ``config.json``."""
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        raise ScanFailed("config.json is not valid JSON") from None
    return config_findings(config, member, offset)


class Hdf5Scanner:
    """Legacy Keras ``.h5`` models (and weight files, which hold no code)."""

    name = "hdf5"

    def detect(self, head: bytes, name: str) -> str | None:
        return "hdf5" if head.startswith(HDF5_MAGIC) else None

    def scan(self, target: Target) -> list[Finding]:
        data = target.data
        findings: list[Finding] = []
        decoder = json.JSONDecoder()
        covered = -1  # nested layer configs sit inside the model config already decoded
        for match in _CONFIG_START.finditer(data):
            start = match.start()
            if start < covered:
                continue
            window = bytes(data[start : start + target.engine.limits.max_json_bytes])
            try:
                text = window.decode("utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                text = window[: exc.start].decode("utf-8")
            try:
                config, end = decoder.raw_decode(text)
            except (ValueError, RecursionError):
                continue
            covered = start + len(text[:end].encode())
            findings.extend(config_findings(config, target.member, target.base_offset + start))
        if not any(f.severity is Severity.CRITICAL for f in findings):
            # A config stored in a way we could not decode (or whose keys do not start with
            # "class_name", so it was not found) still names its Lambda layers.
            for match in _LAMBDA_BYTES.finditer(data):
                if match.group(1) == b"Lambda":
                    findings.append(
                        Finding(
                            Severity.CRITICAL,
                            SCANNER,
                            "Lambda layer in the HDF5 model config carries Python bytecode",
                            target.base_offset + match.start(),
                            "keras.layers.Lambda",
                            target.member,
                        )
                    )
        return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int | None]] = set()
    out = []
    for f in findings:
        if (f.detail, f.offset) not in seen:
            seen.add((f.detail, f.offset))
            out.append(f)
    return out
