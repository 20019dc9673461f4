"""Plaintext outputs appear whole or not at all, even when the writer is killed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.audit.service import query_events
from bastion.audit.store import AuditQuery
from bastion.errors import Conflict
from bastion.vault.objects import Kind, add, get
from bastion.vault.publish import PendingFile
from tests.conftest import Env
from tests.vault.helpers import payload, write


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


def test_a_read_is_audited_before_its_output_appears(
    sqlite_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = sqlite_env
    add(env.ws, env.admin, Kind.DATASET, write(tmp_path, "d.bin", payload(9000)), "d")
    seen: list[list[str]] = []
    real_publish = PendingFile.publish

    def publish(self: PendingFile) -> None:
        env.ws.audit.flush()
        recorded = query_events(env.ws, env.admin, AuditQuery(action="data.get"))
        seen.append([e.outcome for e in recorded])
        real_publish(self)

    monkeypatch.setattr(PendingFile, "publish", publish)
    get(env.ws, env.admin, Kind.DATASET, "d", tmp_path / "out.bin")
    assert seen == [["success"]]
    assert (tmp_path / "out.bin").read_bytes() == payload(9000)
