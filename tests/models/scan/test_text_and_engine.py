"""Text beside a model, unknown and empty files, files on disk, folders and symlinks."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.models.scan import (
    Engine,
    ScanLimits,
    ScanResult,
    Severity,
    Verdict,
    scan_bytes,
    scan_paths,
)
from tests.models.scan import crafted


@pytest.mark.parametrize(
    "yaml",
    [
        b"model: !!python/object/apply:os.system ['true']\n",
        b"a: 1\nb: !!python/name:builtins.eval\n",
        b"x: !<tag:yaml.org,2002:python/object/new:subprocess.Popen> [[true]]\n",
    ],
)
def test_yaml_python_tags_are_high(yaml: bytes) -> None:
    result = scan_bytes(yaml, "config.yaml")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert finding.scanner == "text"
    assert yaml[finding.offset :].startswith((b"!!python/", b"tag:yaml.org"))


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b'{"vocab_size": 32000, "architectures": ["Llama"]}', "config.json", "json"),
        (b"model: resnet\nlayers: 50\n", "params.yaml", "text"),
        ("# Model card\n\nTrained on caf\u00e9 data.\n".encode(), "README.md", "text"),
        (b"the\nof\nand\n", "vocab.txt", "text"),
    ],
)
def test_plain_text_is_clean(data: bytes, name: str, fmt: str) -> None:
    result = scan_bytes(data, name)
    assert (result.verdict, result.format, result.findings) == (Verdict.CLEAN, fmt, ())


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        b"\x00\x01\x02\xff" * 100,
        "caf\u00e9 ".encode() * 30 + b"\xff\xfe binary tail",  # text head, binary body
    ],
)
def test_unknown_binary_is_an_unsupported_format_error(data: bytes) -> None:
    result = scan_bytes(data, "blob.dat")
    assert result.verdict is Verdict.ERROR
    assert result.error and "unsupported format" in result.error
    assert result.findings == ()


def test_empty_content_is_an_error(tmp_path: Path) -> None:
    assert scan_bytes(b"", "x.pkl").error == "empty file"
    empty = tmp_path / "empty.pkl"
    empty.touch()
    result = Engine().scan_file(empty)
    assert (result.verdict, result.error) == (Verdict.ERROR, "empty file")


def test_scan_file_matches_scan_bytes(tmp_path: Path) -> None:
    evil, offset = crafted.system_call(4, crafted.HARMLESS.format(600))
    path = tmp_path / "model.pkl"
    path.write_bytes(evil)
    on_disk = Engine().scan_file(path)
    in_memory = scan_bytes(evil, str(path))
    assert on_disk.findings == in_memory.findings
    assert on_disk.findings[0].offset == offset
    assert on_disk.sha256 == in_memory.sha256
    assert on_disk.size == len(evil)
    assert on_disk.as_dict()["findings"][0]["global"] == "os.system"


def test_symlink_is_reported_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.pkl"
    target.write_bytes(crafted.system_call(4, "true")[0])
    link = tmp_path / "link.pkl"
    os.symlink(target, link)
    result = Engine().scan_file(link)
    assert result.verdict is Verdict.SUSPICIOUS
    assert result.format == "symlink"
    assert "not followed" in result.findings[0].detail


def test_missing_file_and_folder_entries(tmp_path: Path) -> None:
    result = Engine().scan_file(tmp_path / "nope.pkl")
    assert result.verdict is Verdict.ERROR and result.error and "cannot read" in result.error
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert Engine().scan_file(fifo).error == "not a regular file"


def test_folders_are_walked_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.pkl").write_bytes(pickle.dumps([1]))
    (tmp_path / "b" / "a.pkl").write_bytes(crafted.system_call(2, "true")[0])
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "a.txt").write_text("hello")
    ticks: list[int] = []

    def progress(total: int) -> Callable[[int], None]:
        ticks.append(total)
        return ticks.append

    results = scan_paths([tmp_path], progress=progress)
    names = [Path(r.path).relative_to(tmp_path).as_posix() for r in results]
    assert names == ["a.txt", "c.json", "b/a.pkl", "b/z.pkl"]
    assert [r.verdict for r in results] == [
        Verdict.CLEAN,
        Verdict.CLEAN,
        Verdict.MALICIOUS,
        Verdict.CLEAN,
    ]
    assert ticks == [4, 1, 1, 1, 1]


def test_result_json_shape() -> None:
    result = scan_bytes(crafted.system_call(4, "true")[0], "m.pkl")
    doc = result.as_dict()
    assert set(doc) == {
        "path",
        "verdict",
        "format",
        "findings",
        "error",
        "size",
        "sha256",
        "seconds",
    }
    finding = doc["findings"][0]
    assert finding["severity"] == "critical"
    assert set(finding) == {
        "severity",
        "scanner",
        "detail",
        "offset",
        "global",
        "member",
        "threats",
    }
    assert "AML.T0010.003" in finding["threats"]


def test_time_limit_makes_an_error_with_what_was_found() -> None:
    evil, _ = crafted.system_call(4, "true")
    # An expired deadline: the walk stops at once (the first scan_target check).
    result = scan_bytes(evil, "m.pkl", limits=ScanLimits(seconds_per_file=-1))
    assert result.verdict is Verdict.ERROR
    assert result.error and "time limit" in result.error


@pytest.mark.parametrize("name", ["model.dat", "weights", "notes.txt"])
def test_protocol_0_pickles_are_pickles_whatever_the_name(name: str) -> None:
    # Protocol 0 is printable text: without a pickle suffix it must not pass as "text".
    evil = b"cos\nsystem\n(S'true'\ntR."
    result = scan_bytes(evil, name)
    assert result.format == "pickle" and result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "os.system" and result.findings[0].offset == 0
    benign = pickle.dumps({"a": [1, 2.5, "x"]}, protocol=0)
    plain = scan_bytes(benign, name)
    assert (plain.format, plain.verdict) == ("pickle", Verdict.CLEAN)


def test_text_that_merely_ends_with_a_dot_stays_text() -> None:
    result = scan_bytes(b"This model was trained on public data.\n", "README.md")
    assert (result.format, result.verdict) == ("text", Verdict.CLEAN)


def test_parallel_scan_gives_the_same_results_in_the_same_order(tmp_path: Path) -> None:
    evil = b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x04true\x94\x85\x94R\x94."
    for i in range(80):
        data = evil if i % 7 == 0 else pickle.dumps({"layer": i, "w": [0.5] * i}, protocol=4)
        (tmp_path / f"m{i:03d}.pkl").write_bytes(data)
    one = scan_paths([tmp_path], jobs=1)
    two = scan_paths([tmp_path], jobs=2)  # 80 files: enough for two worker processes
    assert [r.path for r in two] == sorted(str(p) for p in tmp_path.iterdir())

    def stable(results: list[ScanResult]) -> list[dict[str, object]]:
        return [{**r.as_dict(), "seconds": 0} for r in results]

    assert stable(one) == stable(two)
    assert sum(r.verdict is Verdict.MALICIOUS for r in two) == 12
