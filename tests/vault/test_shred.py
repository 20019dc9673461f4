"""Crypto-shredding: ``remove`` destroys data keys, so every copy of the ciphertext is noise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import update

from bastion.crypto.stream import decrypt_bytes
from bastion.db.models import VaultObjectRow
from bastion.errors import EncryptedObjectError, NotFound
from bastion.vault.keys import unwrap_data_key
from bastion.vault.objects import Kind, ShredResult, add, get, info, list_objects, remove
from tests.conftest import Env
from tests.vault.helpers import (
    CHUNK,
    all_key_rows,
    blob_files,
    blob_of,
    events,
    key_row,
    object_row,
    payload,
    write,
)

DS = Kind.DATASET


def _add(env: Env, tmp_path: Path, name: str, data: bytes) -> None:
    add(env.ws, env.admin, DS, write(tmp_path / "src", f"{name}.bin", data), name)


def test_remove_one_version_shreds_only_that_version(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    v1, v2 = payload(3 * CHUNK + 7, seed=1), payload(CHUNK, seed=2)
    _add(env, tmp_path, "ds", v1)
    _add(env, tmp_path, "ds", v2)
    row1, row2 = object_row(env, DS, "ds", 1), object_row(env, DS, "ds", 2)
    blob1, blob2 = blob_of(env, DS, "ds", 1), blob_of(env, DS, "ds", 2)
    env.clock.advance(60)

    result = remove(env.ws, env.admin, DS, "ds", version=1)
    assert result == ShredResult("dataset", "ds", [1], len(v1))

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NotFound) as caught:
        get(env.ws, env.admin, DS, "ds", out / "v1", version=1)
    assert caught.value.code == "vault.shredded"
    assert list(out.iterdir()) == []
    get(env.ws, env.admin, DS, "ds", out / "latest")
    get(env.ws, env.admin, DS, "ds", out / "v2", version=2)
    assert (out / "latest").read_bytes() == (out / "v2").read_bytes() == v2

    assert not blob1.exists()
    assert blob2.exists()
    shredded, kept = key_row(env, row1.data_key_id), key_row(env, row2.data_key_id)
    assert shredded.wrapped is None
    assert shredded.shredded_at == env.clock.now()
    assert kept.wrapped is not None and kept.shredded_at is None

    first, second = info(env.ws, env.admin, DS, "ds")
    assert (first.state, first.kek, first.shredded_by) == ("shredded", "shredded", "admin")
    assert first.shredded_at == env.clock.now()
    assert (first.size, first.sha256) == (row1.size, row1.sha256)  # the record outlives the data
    assert (second.state, second.shredded_at) == ("active", None)

    # A shredded version cannot be shredded twice.
    with pytest.raises(NotFound) as again:
        remove(env.ws, env.admin, DS, "ds", version=1)
    assert again.value.code == "vault.not_found"

    rm_events = events(env, "data.rm")
    assert [(e.outcome, e.resource) for e in rm_events] == [
        ("success", "dataset/ds"),
        ("error", "dataset/ds"),
    ]
    details = rm_events[0].details_dict()
    assert details["versions"] == [1]
    assert details["bytes"] == len(v1)
    assert details["permission"] == "data:write"
    assert details["wal_truncated"] is True
    assert rm_events[1].details_dict()["error"] == "vault.not_found"


def test_remove_every_version(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    sizes = [10, CHUNK + 1, 2 * CHUNK]
    for i, size in enumerate(sizes):
        _add(env, tmp_path, "ds", payload(size, seed=i))
    _add(env, tmp_path, "other", b"unrelated")
    remove(env.ws, env.admin, DS, "ds", version=2)

    # Without a version every live version goes; the shredded one is not counted again.
    result = remove(env.ws, env.admin, DS, "ds")
    assert result == ShredResult("dataset", "ds", [1, 3], sizes[0] + sizes[2])

    assert [i.name for i in list_objects(env.ws, env.admin, DS)] == ["other"]
    versions = [(i.version, i.state) for i in info(env.ws, env.admin, DS, "ds")]
    assert versions == [(1, "shredded"), (2, "shredded"), (3, "shredded")]
    other_id = object_row(env, DS, "other", 1).id
    assert list(blob_files(env)) == [other_id]
    live_keys = [k for k in all_key_rows(env) if k.wrapped is not None]
    assert [k.id for k in live_keys] == [object_row(env, DS, "other", 1).data_key_id]

    out = tmp_path / "out.bin"
    # With every version shredded, the latest is reported as shredded, not as unknown.
    for version, code in [(None, "vault.shredded"), (1, "vault.shredded"), (3, "vault.shredded")]:
        with pytest.raises(NotFound) as caught:
            get(env.ws, env.admin, DS, "ds", out, version=version)
        assert caught.value.code == code
    assert not out.exists()

    for name, version in [("ds", None), ("ds", 3), ("nosuch", None), ("other", 2)]:
        with pytest.raises(NotFound) as missing:
            remove(env.ws, env.admin, DS, name, version=version)
        assert missing.value.code == "vault.not_found"
    get(env.ws, env.admin, DS, "other", out)
    assert out.read_bytes() == b"unrelated"

    done = [e.details_dict() for e in events(env, "data.rm") if e.outcome == "success"]
    assert [(d["versions"], d["bytes"]) for d in done] == [
        ([2], sizes[1]),
        ([1, 3], sizes[0] + sizes[2]),
    ]


def _sqlite_files(env: Env) -> list[Path]:
    db = env.settings.bastion_dir / "bastion.db"
    return [p for p in (db, db.with_name("bastion.db-wal")) if p.exists()]


def _found_in(files: list[Path], needle: bytes) -> list[str]:
    return [p.name for p in files if needle in p.read_bytes()]


def test_shredded_key_leaves_no_copy_in_the_sqlite_files(
    sqlite_vault_env: Env, tmp_path: Path
) -> None:
    env = sqlite_vault_env
    _add(env, tmp_path, "gone", payload(2 * CHUNK, seed=1))
    _add(env, tmp_path, "kept", payload(2 * CHUNK, seed=2))
    doomed = key_row(env, object_row(env, DS, "gone", 1).data_key_id).wrapped
    survivor = key_row(env, object_row(env, DS, "kept", 1).data_key_id).wrapped
    assert doomed is not None and survivor is not None
    # The search works: before the shred the wrapped key is on disk.
    assert _found_in(_sqlite_files(env), doomed)

    remove(env.ws, env.admin, DS, "gone")

    files = _sqlite_files(env)
    assert files, "the database file must exist"
    assert _found_in(files, doomed) == []
    # No recognisable fragment either (the 5-byte format prefix is shared by every key).
    for start in range(5, len(doomed) - 16 + 1, 8):
        assert _found_in(files, doomed[start : start + 16]) == [], start
    # ...while the other object's key is still where it was: the check itself is sound.
    assert _found_in(files, survivor)


def test_backup_of_a_shredded_blob_stays_undecryptable(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    secret = payload(3 * CHUNK + 7, seed=1)
    _add(env, tmp_path, "secret", secret)
    for i in range(3):
        _add(env, tmp_path, f"other{i}", payload(CHUNK, seed=10 + i))
    row = object_row(env, DS, "secret", 1)
    old_wrapped = key_row(env, row.data_key_id).wrapped
    blob = blob_of(env, DS, "secret", 1)
    backup = tmp_path / "backup.bstm"
    shutil.copyfile(blob, backup)

    remove(env.ws, env.admin, DS, "secret")

    keys = all_key_rows(env)
    assert key_row(env, row.data_key_id).wrapped is None
    assert all(k.wrapped != old_wrapped for k in keys)
    assert not any(old_wrapped in (k.wrapped or b"") for k in keys)

    # Every data key the workspace can still unwrap fails on the backup copy.
    ciphertext = backup.read_bytes()
    live = [k for k in keys if k.wrapped is not None]
    assert len(live) == 3
    with env.ws.sessions() as session:
        for k in live:
            dek = unwrap_data_key(env.ws, session, k)
            for key_id in (bytes.fromhex(k.id), bytes.fromhex(row.data_key_id)):
                with pytest.raises(EncryptedObjectError) as caught:
                    decrypt_bytes(dek, key_id, ciphertext)
                assert caught.value.code == "vault.wrong_key"

    # Even putting the backup back and reviving the record does not bring the data back.
    blob.parent.mkdir(exist_ok=True)
    shutil.copyfile(backup, blob)
    with env.ws.sessions() as session:
        session.execute(
            update(VaultObjectRow).where(VaultObjectRow.id == row.id).values(state="active")
        )
        session.commit()
    out = tmp_path / "restored.bin"
    with pytest.raises(NotFound) as refused:
        get(env.ws, env.admin, DS, "secret", out)
    assert refused.value.code == "vault.shredded"
    assert not out.exists()
    assert [p.name for p in tmp_path.glob(".restored.bin*")] == []
