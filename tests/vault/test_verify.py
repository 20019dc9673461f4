"""``verify`` proves data at rest is intact, names what is not, and releases nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import NotFound, PermissionDenied
from bastion.vault.blobs import BlobStore
from bastion.vault.maintenance import verify
from bastion.vault.objects import Kind, add, remove
from tests.conftest import Env
from tests.vault.helpers import events, object_row, payload, write

DS = Kind.DATASET


def test_verify_names_each_damaged_version(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    for name in ("a", "b", "c"):
        add(env.ws, env.admin, DS, write(tmp_path, f"{name}.bin", payload(3 * 4096 + 5)), name)
    add(env.ws, env.admin, DS, write(tmp_path, "a2.bin", payload(100, seed=2)), "a")
    remove(env.ws, env.admin, DS, "c")
    assert [(r.name, r.version, r.error) for r in verify(env.ws, env.admin, DS)] == [
        ("a", 1, None),
        ("a", 2, None),
        ("b", 1, None),
    ]
    store = BlobStore(env.ws.blob_dir)
    damaged = store.path_for(object_row(env, DS, "a", 1).id)
    raw = bytearray(damaged.read_bytes())
    raw[-1] ^= 1
    damaged.write_bytes(bytes(raw))
    store.path_for(object_row(env, DS, "b", 1).id).unlink()
    before = sorted(p.name for p in tmp_path.iterdir())

    results = verify(env.ws, env.admin, DS)

    assert [(r.name, r.version, r.error) for r in results] == [
        ("a", 1, "vault.tampered"),
        ("a", 2, None),
        ("b", 1, "vault.blob_missing"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no plaintext written
    assert [(r.version, r.error) for r in verify(env.ws, env.admin, DS, "a")] == [
        (1, "vault.tampered"),
        (2, None),
    ]
    details = events(env, "data.verify")[1].details_dict()
    assert details["checked"] == 3 and details["failed"] == 2
    assert details["failures"] == ["a@1: vault.tampered", "b@1: vault.blob_missing"]


def test_verify_needs_read_permission_and_a_live_name(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    add(env.ws, env.admin, DS, write(tmp_path, "a.bin", payload(10)), "a")
    analyst = env.user("dana", "analyst")
    with pytest.raises(PermissionDenied):
        verify(env.ws, analyst, DS)
    with pytest.raises(NotFound) as caught:
        verify(env.ws, env.admin, DS, "nope")
    assert caught.value.code == "vault.not_found"
