"""Listings show only what the caller may list; moving between key providers strands nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import Secret
from bastion.context import Context
from bastion.errors import PermissionDenied
from bastion.identity import apikeys, principals
from bastion.vault.keys import list_versions, retire, rotate
from bastion.vault.objects import Kind, add, get, list_objects
from bastion.workspace import open_workspace
from tests.conftest import Env, Hsm
from tests.vault.helpers import object_row, payload, write

DS = Kind.DATASET


def _service(env: Env, name: str, scopes: list[str]) -> Context:
    principals.add_principal(env.ws, env.admin, name, "data_scientist", service_account=True)
    key = apikeys.create_key(env.ws, env.admin, name, scopes=scopes)
    return env.anon().as_(apikeys.authenticate_api_key(env.ws, env.anon(), key.token))


def test_scoped_list_shows_only_matching_names(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    for name in ("public-stats", "public-prices", "customers"):
        add(env.ws, env.admin, DS, write(tmp_path, f"{name}.csv", payload(100)), name)
    scoped = _service(env, "etl", ["data:list@dataset/public-*"])
    names = [i.name for i in list_objects(env.ws, scoped, DS)]
    assert names == ["public-prices", "public-stats"]
    everything = [i.name for i in list_objects(env.ws, env.admin, DS)]
    assert everything == ["customers", "public-prices", "public-stats"]

    models_only = _service(env, "ci", ["model:list"])
    with pytest.raises(PermissionDenied):
        list_objects(env.ws, models_only, DS)
    assert [i.name for i in list_objects(env.ws, models_only, Kind.MODEL)] == []


def test_switching_provider_moves_every_key_and_frees_the_old_version(
    sqlite_env: Env, tmp_path: Path, softhsm: Hsm
) -> None:
    env = sqlite_env
    data = payload(3 * 4096 + 9, seed=4)
    add(env.ws, env.admin, DS, write(tmp_path, "a.bin", data), "a")
    env.ws.close()
    hsm_settings = env.settings.with_overrides(
        key_provider="pkcs11",
        pkcs11_module=softhsm.module,
        pkcs11_token=softhsm.token,
        pkcs11_pin=Secret(softhsm.pin),
    )
    env.ws = open_workspace(hsm_settings, clock=env.clock)
    moved = rotate(env.ws, env.admin)
    assert (moved.provider, moved.version, moved.rewrapped) == ("pkcs11", 1, 1)
    states = {
        (v.provider, v.version): (v.state, v.data_keys) for v in list_versions(env.ws, env.admin)
    }
    assert states == {("local", 1): ("enabled", 0), ("pkcs11", 1): ("active", 1)}
    retire(env.ws, env.admin, 1, destroy=True, provider_name="local")
    get(env.ws, env.admin, DS, "a", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == data
    assert env.ws.keyring.vault_kek(1) is None


def test_configured_cipher_applies_to_new_objects_and_old_ones_still_open(
    sqlite_env: Env, tmp_path: Path
) -> None:
    env = sqlite_env
    old = payload(10_000, seed=5)
    add(env.ws, env.admin, DS, write(tmp_path, "old.bin", old), "old")
    env.ws.close()
    env.ws = open_workspace(
        env.settings.with_overrides(vault_cipher="chacha20-poly1305"), clock=env.clock
    )
    new = payload(3 * 4096 + 2, seed=6)
    stored = add(env.ws, env.admin, DS, write(tmp_path, "new.bin", new), "new")
    assert stored.cipher == "chacha20-poly1305"
    blob = next(
        p for p in env.ws.blob_dir.rglob("*.bstm") if p.stem == object_row(env, DS, "new", 1).id
    )
    assert blob.read_bytes()[5] == 2  # the cipher id in the header
    for name, data in (("old", old), ("new", new)):
        get(env.ws, env.admin, DS, name, tmp_path / f"{name}.out")
        assert (tmp_path / f"{name}.out").read_bytes() == data
