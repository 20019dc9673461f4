"""Crashes during ``data add``: the vault never lists a half-written object.

A real ``bastion`` child process is killed with SIGKILL while it encrypts a large file,
and again right after publishing the blob but before its database transaction commits.
SQLite and the local keyring only: this is about files and the SQLite journal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, exc
from sqlalchemy.orm import Session

from bastion.audit.service import verify
from bastion.crypto.stream import decrypt_bytes
from bastion.db.models import VaultObjectRow
from bastion.errors import EncryptedObjectError, StorageError
from bastion.identity import apikeys, principals
from bastion.vault.keys import unwrap_data_key
from bastion.vault.objects import Kind, add, get, info, list_objects
from bastion.workspace import Workspace, open_workspace
from tests.conftest import Env, make_env
from tests.vault.helpers import (
    all_key_rows,
    blob_files,
    count_objects,
    events,
    object_row,
    orphan_keys,
    part_files,
    payload,
    write,
)

DS = Kind.DATASET
BIG_BLOCKS = 256  # MiB: long enough to catch the child half-way through
CLI = "import sys; from bastion.cli.main import run; sys.exit(run(sys.argv[1:]))"
# Dies exactly where a power cut would hurt most: blob published, metadata not committed.
KILL_BEFORE_COMMIT = (
    "import os, signal, sys\n"
    "from bastion.cli.main import run\n"
    "from bastion.vault import objects\n"
    "def die(*args, **kwargs):\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
    "objects.object_info = die\n"
    "sys.exit(run(sys.argv[1:]))\n"
)


@pytest.fixture
def crash_env(tmp_path: Path) -> Iterator[Env]:
    """A SQLite workspace with the local keyring (closed by the test when it reopens)."""
    e = make_env(tmp_path, None)
    try:
        yield e
    finally:
        e.ws.close()  # closing twice is harmless


def _child_env(env: Env, tmp_path: Path) -> dict[str, str]:
    """The child's environment: a data_scientist service account's API key, nothing else."""
    principals.add_principal(env.ws, env.admin, "loader", "data_scientist", service_account=True)
    key = apikeys.create_key(env.ws, env.admin, "loader", ttl=None)
    env.secrets_seen.append(key.token)
    master = env.settings.master_key
    assert master is not None
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    return {
        **clean,
        "HOME": str(tmp_path / "home"),
        "BASTION_STATE_DIR": str(tmp_path / "child-state"),
        "BASTION_WORKSPACE": str(env.settings.workspace),
        "BASTION_MASTER_KEY": master.reveal(),
        "BASTION_API_KEY": key.token,
        "PYTHONUNBUFFERED": "1",
    }


def _reopen(env: Env) -> Workspace:
    env.ws.close()
    return open_workspace(env.settings, clock=env.clock)


def _assert_only_version_one(env: Env, ws: Workspace, original: bytes, tmp_path: Path) -> None:
    assert [(i.name, i.version) for i in list_objects(ws, env.admin, DS)] == [("ds", 1)]
    every = list_objects(ws, env.admin, DS, all_versions=True)
    assert [(i.name, i.version) for i in every] == [("ds", 1)]
    assert [i.version for i in info(ws, env.admin, DS, "ds")] == [1]
    out = tmp_path / "v1.out"
    get(ws, env.admin, DS, "ds", out)
    assert out.read_bytes() == original


def test_sigkill_while_adding_a_large_file_keeps_the_old_version(
    crash_env: Env, tmp_path: Path
) -> None:
    env = crash_env
    original = payload(5000, seed=1)
    add(env.ws, env.admin, DS, write(tmp_path, "small.csv", original), "ds")
    child_env = _child_env(env, tmp_path)
    big = tmp_path / "big.bin"
    block = payload(1 << 20, seed=2)
    with big.open("wb") as f:
        for _ in range(BIG_BLOCKS):
            f.write(block)
    tmp_dir = env.ws.blob_dir / "tmp"

    with subprocess.Popen(
        [sys.executable, "-c", CLI, "data", "add", str(big), "--name", "ds"],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        # Polling a child's progress is the one place a wait is unavoidable; it is capped.
        deadline = time.monotonic() + 60
        grown = 0
        while proc.poll() is None and time.monotonic() < deadline:
            parts = list(tmp_dir.glob("*.part")) if tmp_dir.exists() else []
            grown = max((p.stat().st_size for p in parts), default=0)
            if grown > 4 << 20:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    big.unlink()  # 256 MiB that no later test needs
    assert proc.returncode == -signal.SIGKILL, err.decode()
    assert 4 << 20 < grown < BIG_BLOCKS << 20, "the child must die in the middle of the file"

    ws = _reopen(env)
    try:
        _assert_only_version_one(env, ws, original, tmp_path)
        with ws.sessions() as session:
            assert session.query(VaultObjectRow).count() == 1
        env.ws = ws  # helpers and the fixture's close now use the reopened workspace
        assert orphan_keys(env) == []
        assert len(all_key_rows(env)) == 1
        # The half-written temporary file is never published under a final name.
        assert list(blob_files(env)) == [object_row(env, DS, "ds", 1).id]
        assert all(p.parent.name == "tmp" for p in part_files(ws.blob_dir))
        # The child's add never finished, so it never claimed success; the chain is intact.
        assert [e.actor for e in events(env, "data.add") if e.outcome == "success"] == ["admin"]
        assert verify(ws, env.admin).events > 0
        # The vault keeps working: the next version is 2.
        again = add(ws, env.admin, DS, write(tmp_path, "v2.csv", b"v2"), "ds")
        assert again.version == 2
    finally:
        ws.close()


def test_sigkill_after_publishing_the_blob_lists_nothing_new(
    crash_env: Env, tmp_path: Path
) -> None:
    env = crash_env
    original = payload(5000, seed=1)
    add(env.ws, env.admin, DS, write(tmp_path, "small.csv", original), "ds")
    child_env = _child_env(env, tmp_path)
    src = write(tmp_path, "next.csv", payload(300_000, seed=3))

    proc = subprocess.run(
        [sys.executable, "-c", KILL_BEFORE_COMMIT, "data", "add", str(src), "--name", "ds"],
        env=child_env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()

    ws = _reopen(env)
    env.ws = ws
    try:
        _assert_only_version_one(env, ws, original, tmp_path)
        assert count_objects(env) == 1
        assert orphan_keys(env) == []
        # The blob was published, but its data key was never stored: unreadable noise.
        known = object_row(env, DS, "ds", 1)
        orphans = [p for oid, p in blob_files(env).items() if oid != known.id]
        assert len(orphans) == 1
        (live,) = all_key_rows(env)
        with ws.sessions() as session:
            dek = unwrap_data_key(ws, session, live)
        with pytest.raises(EncryptedObjectError) as caught:
            decrypt_bytes(dek, bytes.fromhex(live.id), orphans[0].read_bytes())
        assert caught.value.code == "vault.wrong_key"
        # The interrupted transaction left no lock behind.
        assert add(ws, env.admin, DS, src, "ds").version == 2
    finally:
        ws.close()


def test_failed_commit_removes_the_published_blob(crash_env: Env, tmp_path: Path) -> None:
    env = crash_env
    original = payload(5000, seed=1)
    add(env.ws, env.admin, DS, write(tmp_path, "small.csv", original), "ds")
    blobs_before = blob_files(env)
    failures: list[str] = []

    def fail_commit_of_new_object(session: Session) -> None:
        pending = [o for o in session.identity_map.values() if isinstance(o, VaultObjectRow)]
        if pending and not failures:
            failures.append(pending[0].id)
            # The blob of this object is already published when its commit fails.
            assert pending[0].id in blob_files(env)
            raise exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(env.ws.sessions, "before_commit", fail_commit_of_new_object)
    try:
        with pytest.raises(StorageError) as caught:
            add(env.ws, env.admin, DS, write(tmp_path, "next.csv", payload(20_000)), "ds")
    finally:
        event.remove(env.ws.sessions, "before_commit", fail_commit_of_new_object)
    assert caught.value.code == "db.error"
    assert len(failures) == 1

    assert blob_files(env) == blobs_before
    assert failures[0] not in blob_files(env)
    assert part_files(env.ws.blob_dir) == []
    assert orphan_keys(env) == []
    assert len(all_key_rows(env)) == 1
    _assert_only_version_one(env, env.ws, original, tmp_path)
    (failed,) = [e for e in events(env, "data.add") if e.outcome == "error"]
    assert failed.details_dict()["error"] == "db.error"
    assert add(env.ws, env.admin, DS, write(tmp_path, "v2.csv", b"v2"), "ds").version == 2
