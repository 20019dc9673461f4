"""Plaintext outputs appear whole or not at all, even when the writer is killed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.errors import Conflict
from bastion.vault.publish import PendingFile


@pytest.fixture(params=["unnamed", "named"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of holding an unpublished file: O_TMPFILE, and the named fallback."""
    if request.param == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    return str(request.param)


def test_unpublished_output_leaves_nothing(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.csv"
    with PendingFile(target, overwrite=False) as sink:
        sink.write(b"secret rows")
        visible = sorted(p.name for p in tmp_path.iterdir())
    if mode == "unnamed":
        assert visible == []
    else:
        assert len(visible) == 1 and visible[0].startswith(".out.csv.")
    assert list(tmp_path.iterdir()) == []


def test_published_output_is_private_and_complete(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.csv"
    pending = PendingFile(target, overwrite=False)
    with pending as sink:
        sink.write(b"a" * 100_000)
        pending.publish()
    assert target.read_bytes() == b"a" * 100_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_existing_target_is_kept_unless_overwrite(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"theirs")
    pending = PendingFile(target, overwrite=False)
    with pytest.raises(Conflict) as caught, pending as sink:
        sink.write(b"ours")
        pending.publish()
    assert caught.value.code == "vault.output_exists"
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    replacing = PendingFile(target, overwrite=True)
    with replacing as sink:
        sink.write(b"ours")
        replacing.publish()
    assert target.read_bytes() == b"ours"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_killed_writer_leaves_no_plaintext(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bastion.vault.publish import PendingFile\n"
        "with PendingFile(Path(sys.argv[1]), overwrite=False) as sink:\n"
        "    sink.write(b'plaintext ' * 100000)\n"
        "    print('written', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "out.csv")], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    with child.stdout:
        assert child.stdout.readline().strip() == b"written"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert list(tmp_path.iterdir()) == []
