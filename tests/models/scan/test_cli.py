"""``bastion model scan``: JSON and table output, and the exit-code contract (0 / 1 / 2)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bastion.cli.main import run
from tests.models.scan import crafted


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``bastion model scan ARGS`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = run(["model", "scan", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def clean_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    np.save(folder / "weights.npy", np.arange(6.0))
    (folder / "config.json").write_text('{"layers": 2}')
    return folder


def test_clean_folder_exits_0_with_one_json_object_per_file(
    capsys: pytest.CaptureFixture[str], clean_folder: Path
) -> None:
    code, out, err = scan(capsys, str(clean_folder), "--json")
    assert code == 0, err
    doc: list[dict[str, Any]] = json.loads(out)
    assert [Path(r["path"]).name for r in doc] == ["config.json", "model.pkl", "weights.npy"]
    for entry in doc:
        assert {"path", "verdict", "findings"} <= set(entry)
        assert entry["verdict"] == "clean"
        assert entry["findings"] == []
        assert entry["error"] is None
        assert len(entry["sha256"]) == 64


def test_malicious_file_exits_1_and_is_described(
    capsys: pytest.CaptureFixture[str], clean_folder: Path
) -> None:
    evil, offset = crafted.system_call(4, crafted.HARMLESS.format(700))
    (clean_folder / "evil.pkl").write_bytes(evil)
    (clean_folder / "blob.dat").write_bytes(b"\x00\xff" * 40)  # an error as well
    code, out, _ = scan(capsys, str(clean_folder), "--json")
    assert code == 1
    by_name = {Path(r["path"]).name: r for r in json.loads(out)}
    bad = by_name["evil.pkl"]
    assert bad["verdict"] == "malicious"
    (finding,) = bad["findings"]
    assert {"severity", "scanner", "detail", "offset"} <= set(finding)
    assert finding["severity"] == "critical"
    assert finding["scanner"] == "pickle"
    assert finding["offset"] == offset
    assert finding["global"] == "os.system"
    assert "os.system" in finding["detail"]
    assert by_name["blob.dat"]["verdict"] == "error"


def test_only_an_unknown_format_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blob = tmp_path / "blob.dat"
    blob.write_bytes(bytes(range(256)))
    code, out, _ = scan(capsys, str(blob), "--json")
    assert code == 2
    (entry,) = json.loads(out)
    assert entry["verdict"] == "error"
    assert "unsupported format" in entry["error"]


def test_error_beside_clean_files_exits_2(
    capsys: pytest.CaptureFixture[str], clean_folder: Path
) -> None:
    (clean_folder / "empty.pkl").touch()
    code, _, _ = scan(capsys, str(clean_folder), "--json")
    assert code == 2


def test_suspicious_only_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = crafted.global_op("mypkg.helpers", "Thing") + crafted.EMPTY_TUPLE + crafted.REDUCE
    (tmp_path / "odd.pkl").write_bytes(crafted.framed(4, body)[0])
    code, out, _ = scan(capsys, str(tmp_path), "--json")
    assert code == 1
    assert json.loads(out)[0]["verdict"] == "suspicious"


def test_table_mentions_counts_and_the_worst_finding(
    capsys: pytest.CaptureFixture[str], clean_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that Rich does not wrap the paths
    evil, offset = crafted.system_call(2, crafted.HARMLESS.format(701))
    (clean_folder / "evil.pkl").write_bytes(evil)
    (clean_folder / "blob.dat").write_bytes(b"\x00\xff" * 40)
    code, out, _ = scan(capsys, str(clean_folder))
    assert code == 1
    assert "5 file(s): 3 clean, 0 suspicious, 1 malicious, 1 error." in out
    assert "malicious" in out and "evil.pkl" in out
    assert f"@{offset}" in out
    assert "Traceback" not in out


def test_corpus_folder_exit_code_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.models.scan.conftest import CORPUS

    code, out, _ = scan(capsys, str(CORPUS), "--json")
    assert code == 1
    verdicts = [r["verdict"] for r in json.loads(out)]
    assert len(verdicts) == 104  # 103 files and labels.json
    assert verdicts.count("clean") == 41
    assert verdicts.count("error") == 0


def test_missing_path_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = scan(capsys, str(tmp_path / "nope.pkl"), "--json")
    assert code == 2
    (entry,) = json.loads(out)
    assert "cannot read" in entry["error"]
    assert "Traceback" not in out + err
