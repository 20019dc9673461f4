"""``sweep`` reclaims blob files no live object needs, and never touches one that it does."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from bastion.errors import InvalidInput
from bastion.vault.blobs import BlobStore
from bastion.vault.maintenance import sweep
from bastion.vault.objects import Kind, add, get, remove
from tests.conftest import Env
from tests.vault.helpers import events, object_row, payload, write

DS = Kind.DATASET


def _age(path: Path, env: Env, hours: float) -> None:
    """Make ``path`` look ``hours`` old on the workspace clock."""
    stamp = (env.clock.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (stamp, stamp))


def test_sweep_removes_only_what_no_live_object_needs(
    sqlite_vault_env: Env, tmp_path: Path
) -> None:
    env = sqlite_vault_env
    keep = payload(3 * 4096 + 1, seed=1)
    add(env.ws, env.admin, DS, write(tmp_path, "keep.bin", keep), "keep")
    add(env.ws, env.admin, DS, write(tmp_path, "gone.bin", payload(5000)), "gone")
    store = BlobStore(env.ws.blob_dir)
    gone_path = store.path_for(object_row(env, DS, "gone", 1).id)
    gone_bytes = gone_path.read_bytes()
    remove(env.ws, env.admin, DS, "gone")
    # A shredded object's blob whose deletion was interrupted, an add that crashed before
    # its commit, an add that crashed mid-write, and one being written right now.
    gone_path.write_bytes(gone_bytes)
    orphan = store.path_for(uuid.uuid4().hex)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"\0" * 1000)
    (env.ws.blob_dir / "tmp").mkdir(exist_ok=True)
    partial = env.ws.blob_dir / "tmp" / f"{uuid.uuid4().hex}.part"
    partial.write_bytes(b"\0" * 300)
    fresh = env.ws.blob_dir / "tmp" / f"{uuid.uuid4().hex}.part"
    fresh.write_bytes(b"\0" * 7)
    live = store.path_for(object_row(env, DS, "keep", 1).id)
    for path in (gone_path, orphan, partial, live):
        _age(path, env, 48)
    _age(fresh, env, 1)

    result = sweep(env.ws, env.admin, older_than=timedelta(hours=24))

    assert (result.partial_files, result.orphan_blobs) == (1, 2)
    assert result.bytes == len(gone_bytes) + 1000 + 300
    assert not gone_path.exists() and not orphan.exists() and not partial.exists()
    assert fresh.exists() and live.exists()
    get(env.ws, env.admin, DS, "keep", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == keep
    (event,) = events(env, "data.sweep")
    assert event.outcome == "success"
    details = event.details_dict()
    assert details["orphan_blobs"] == 2 and details["partial_files"] == 1


def test_sweep_refuses_a_window_an_add_could_be_in(sqlite_vault_env: Env) -> None:
    with pytest.raises(InvalidInput) as caught:
        sweep(sqlite_vault_env.ws, sqlite_vault_env.admin, older_than=timedelta(minutes=1))
    assert caught.value.code == "vault.sweep_too_recent"
