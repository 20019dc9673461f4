"""Keras: ``.keras`` zips (config.json) and legacy HDF5 ``.h5`` files, built by hand."""

from __future__ import annotations

import base64
import json
import zipfile
from typing import Any

import pytest

from bastion.models.scan import Severity, Verdict, scan_bytes
from tests.models.scan import crafted

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
WEIGHTS_PLACEHOLDER = HDF5_MAGIC + b"\x00" * 248
METADATA = {"keras_version": "3.8.0", "date_saved": "2026-01-01@00:00:00"}


def dense(name: str, units: int = 4) -> dict[str, Any]:
    """A Keras 3 Dense layer entry, with the nested objects Keras writes."""
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": name,
            "units": units,
            "activation": "relu",
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "f32"}},
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
            },
        },
        "registered_name": None,
    }


def lambda_layer(name: str = "sneaky") -> dict[str, Any]:
    """A Lambda layer whose function is (placeholder) marshalled bytecode."""
    code = base64.b64encode(b"not really bytecode, never run").decode()
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": name,
            "function": {"class_name": "__lambda__", "config": {"code": code, "defaults": None}},
        },
        "registered_name": None,
    }


def custom_layer() -> dict[str, Any]:
    return {
        "module": "mypkg.layers",
        "class_name": "Fancy",
        "config": {"name": "fancy"},
        "registered_name": "mypkg>Fancy",
    }


def sequential(layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "registered_name": None,
    }


def keras_file(config: dict[str, Any], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    return crafted.zip_of(
        [
            ("metadata.json", json.dumps(METADATA).encode()),
            ("config.json", json.dumps(config).encode()),
            ("model.weights.h5", WEIGHTS_PLACEHOLDER),
        ],
        compression=compression,
    )


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_dense_only_model_is_clean(compression: int) -> None:
    data = keras_file(sequential([dense("d1"), dense("d2", 1)]), compression=compression)
    result = scan_bytes(data, "model.keras")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "keras"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_lambda_layer_is_critical(compression: int) -> None:
    data = keras_file(sequential([dense("d1"), lambda_layer()]), compression=compression)
    result = scan_bytes(data, "model.keras")
    assert result.verdict is Verdict.MALICIOUS
    # The layer and its serialised function ("__lambda__") are each reported.
    assert 1 <= len(result.findings) <= 2
    assert "sneaky" in result.findings[0].detail
    for finding in result.findings:
        assert finding.severity is Severity.CRITICAL
        assert finding.scanner == "keras"
        assert finding.member == "config.json"
        assert finding.global_name == "keras.layers.Lambda"
        if compression == zipfile.ZIP_STORED:
            # A stored config.json: the offset is where its JSON starts in the archive.
            assert data[finding.offset : finding.offset + 10] == b'{"module":'


def test_custom_object_is_medium() -> None:
    result = scan_bytes(keras_file(sequential([dense("d1"), custom_layer()])), "m.keras")
    assert result.verdict is Verdict.SUSPICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.MEDIUM
    assert finding.global_name == "mypkg.layers.Fancy"


def test_keras_detected_by_metadata_whatever_the_name() -> None:
    result = scan_bytes(keras_file(sequential([lambda_layer()])), "download.zip")
    assert result.format == "keras"
    assert result.verdict is Verdict.MALICIOUS


def test_invalid_config_json_is_an_error() -> None:
    data = crafted.zip_of([("metadata.json", b"{}"), ("config.json", b'{"class_name": ')])
    result = scan_bytes(data, "m.keras")
    assert result.verdict is Verdict.ERROR
    assert result.error and "config.json" in result.error


def h5_with(config: dict[str, Any] | bytes) -> bytes:
    """A fake HDF5 file: magic, filler, the model config as an attribute's bytes, filler."""
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    return HDF5_MAGIC + b"\x00" * 512 + b"model_config\x00" + raw + b"\x00" * 256


def legacy(node: Any) -> Any:
    """The legacy (``.h5``) serialisation: ``class_name`` first, no ``module`` keys."""
    if isinstance(node, list):
        return [legacy(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {"class_name": node["class_name"]} if "class_name" in node else {}
    out |= {k: legacy(v) for k, v in node.items() if k not in ("class_name", "module")}
    return out


def test_h5_with_a_lambda_layer_is_critical() -> None:
    data = h5_with(legacy(sequential([dense("d1"), lambda_layer()])))
    result = scan_bytes(data, "model.h5")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == "hdf5"
    assert result.findings
    for finding in result.findings:
        assert finding.severity is Severity.CRITICAL
        assert finding.global_name == "keras.layers.Lambda"
        # The offset is where the decoded model config starts.
        assert data[finding.offset :].startswith(b'{"class_name": "Sequential"')


def test_h5_with_keys_in_another_order_is_still_flagged() -> None:
    result = scan_bytes(h5_with(sequential([dense("d1"), lambda_layer()])), "model.h5")
    assert result.verdict is Verdict.MALICIOUS


def test_h5_with_dense_layers_is_clean() -> None:
    result = scan_bytes(h5_with(legacy(sequential([dense("d1"), dense("d2")]))), "model.h5")
    assert result.verdict is Verdict.CLEAN, result


def test_h5_with_undecodable_config_still_names_lambda() -> None:
    broken = b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", '
    result = scan_bytes(h5_with(broken + b"\xff\xfe"), "model.h5")
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "keras.layers.Lambda"


def test_h5_legacy_config_shape_is_read() -> None:
    legacy = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "Dense", "config": {"name": "d", "units": 2}},
                {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEA", None, None]}},
            ]
        },
    }
    result = scan_bytes(h5_with(legacy), "old.h5")
    assert result.verdict is Verdict.MALICIOUS
    assert "'l'" in result.findings[0].detail


def test_h5_lambda_is_not_hidden_behind_another_finding() -> None:
    # The top-level config does not start with "class_name" (so it is not decoded as a
    # whole), the Lambda layer has no "__lambda__" node, and a custom object is found.
    config = sequential([])
    config["config"]["layers"] = [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"function": ["4wEA"]}},
        {"class_name": "Fancy", "module": "mypkg.layers", "config": {}},
    ]
    result = scan_bytes(h5_with(config), "model.h5")
    assert result.verdict is Verdict.MALICIOUS
    assert [f.severity for f in result.findings] == [Severity.CRITICAL, Severity.MEDIUM]
