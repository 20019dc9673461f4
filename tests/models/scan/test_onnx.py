"""ONNX: external-data paths that leave the model folder, and custom operator domains."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from bastion.models.scan import Engine, Severity, Verdict, scan_bytes


def tensor(name: str, location: str | None = None) -> TensorProto:
    """A float initialiser, stored inline or (with ``location``) as external data."""
    t = helper.make_tensor(name, TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        t.ClearField("float_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "8")):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
    return t


def model(
    *,
    location: str | None = None,
    domain: str = "",
    op: str = "Add",
    functions: list[object] | None = None,
    subgraph_location: str | None = None,
) -> bytes:
    """A one-node model ``Y = op(X, W)``; options make it hostile in one way each."""
    nodes = [helper.make_node(op, ["X", "W"], ["Y"], domain=domain)]
    if subgraph_location is not None:
        branch = helper.make_graph(
            [helper.make_node("Identity", ["C"], ["Z"])],
            "branch",
            [],
            [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [2])],
            [tensor("C", subgraph_location)],
        )
        nodes.append(
            helper.make_node(
                "If", ["cond"], ["Y2"], then_branch=branch, else_branch=branch, name="if"
            )
        )
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
        [tensor("W", location)],
    )
    opsets = [helper.make_opsetid("", 17)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    built = helper.make_model(graph, opset_imports=opsets, functions=functions or [])
    return built.SerializeToString()


def test_plain_model_is_clean() -> None:
    result = scan_bytes(model(), "model.onnx")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "onnx"


@pytest.mark.parametrize(
    "location",
    ["../../etc/passwd", "/etc/passwd", "weights/../../x.bin", "C:/Windows/win.ini", "\\\\srv\\s"],
)
def test_external_data_outside_the_folder_is_critical(location: str) -> None:
    result = scan_bytes(model(location=location), "model.onnx")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.CRITICAL
    assert finding.scanner == "onnx"
    assert finding.global_name == location
    assert "outside the model folder" in finding.detail


def test_external_data_in_a_subgraph_is_checked() -> None:
    result = scan_bytes(model(subgraph_location="/etc/shadow"), "model.onnx")
    assert result.verdict is Verdict.MALICIOUS
    assert {f.global_name for f in result.findings} == {"/etc/shadow"}


def test_external_data_beside_the_model_is_clean(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 8)
    path = tmp_path / "model.onnx"
    path.write_bytes(model(location="weights.bin"))
    assert Engine().scan_file(path).verdict is Verdict.CLEAN


def test_symlink_out_of_the_folder_is_critical(tmp_path: Path) -> None:
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"\x00" * 8)
    folder = tmp_path / "model"
    folder.mkdir()
    os.symlink(outside, folder / "weights.bin")
    path = folder / "model.onnx"
    path.write_bytes(model(location="weights.bin"))
    result = Engine().scan_file(path)
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "weights.bin"


@pytest.mark.parametrize("location", ["a\x00b.bin", "loop.bin"])
def test_unresolvable_locations_are_flagged_not_raised(tmp_path: Path, location: str) -> None:
    os.symlink("loop.bin", tmp_path / "loop.bin")
    path = tmp_path / "model.onnx"
    path.write_bytes(model(location=location))
    result = Engine().scan_file(path)
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].severity is Severity.CRITICAL


def test_custom_domain_is_medium() -> None:
    result = scan_bytes(model(domain="evil.custom", op="Pwn"), "model.onnx")
    assert result.verdict is Verdict.SUSPICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.MEDIUM
    assert finding.global_name == "evil.custom::Pwn"


@pytest.mark.parametrize("domain", ["ai.onnx.ml", "com.microsoft", "ai.onnx"])
def test_standard_domains_are_clean(domain: str) -> None:
    assert scan_bytes(model(domain=domain, op="Thing"), "m.onnx").verdict is Verdict.CLEAN


def test_op_from_a_model_local_function_is_clean() -> None:
    function = helper.make_function(
        "local.funcs",
        "AddTwice",
        ["a", "b"],
        ["c"],
        [helper.make_node("Add", ["a", "b"], ["t"]), helper.make_node("Add", ["t", "b"], ["c"])],
        [helper.make_opsetid("", 17)],
    )
    data = model(domain="local.funcs", op="AddTwice", functions=[function])
    result = scan_bytes(data, "model.onnx")
    assert result.verdict is Verdict.CLEAN, result
    # The same op without the function is a custom op.
    assert scan_bytes(model(domain="local.funcs", op="AddTwice"), "m.onnx").flagged


@pytest.mark.parametrize("data", [b"\xff" * 64, b"\x08\x07"])
def test_invalid_protobuf_is_an_error(data: bytes) -> None:
    result = scan_bytes(data, "model.onnx")
    assert result.verdict is Verdict.ERROR
    assert result.error and "ONNX" in result.error


def test_external_data_without_a_folder_is_flagged() -> None:
    # Out of the vault or an archive, the weights file was neither scanned nor signed.
    result = scan_bytes(model(location="weights.bin"), "model.onnx")
    assert result.verdict is Verdict.SUSPICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.MEDIUM and finding.global_name == "weights.bin"


def test_findings_carry_the_offset_of_the_offending_message() -> None:
    data = model(location="/etc/passwd", domain="evil.custom")
    result = scan_bytes(data, "model.onnx")
    assert {f.severity for f in result.findings} == {Severity.CRITICAL, Severity.MEDIUM}
    for finding in result.findings:
        assert finding.offset is not None and 0 < finding.offset < len(data)
    # The path and the domain sit inside the message the finding points at.
    critical = next(f for f in result.findings if f.severity is Severity.CRITICAL)
    assert b"/etc/passwd" in data[critical.offset : critical.offset + 64]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_named_onnx_never_raise(data: bytes) -> None:
    result = scan_bytes(data or b"\x00", "model.onnx")
    assert result.verdict in set(Verdict)
    if result.verdict is Verdict.ERROR:
        assert result.error


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_mutated_models_never_raise(position: int, value: int) -> None:
    data = bytearray(model(location="w.bin", domain="x.y"))
    data[position % len(data)] = value
    assert scan_bytes(bytes(data), "model.onnx").verdict in set(Verdict)
