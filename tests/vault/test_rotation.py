"""KEK rotation, retirement and destruction: data keys move, encrypted objects never do."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bastion.crypto.providers import KeyProvider
from bastion.crypto.wrapping import wrap_aad
from bastion.errors import (
    Conflict,
    InvalidInput,
    KeyringError,
    MfaRequired,
    NotFound,
    PermissionDenied,
)
from bastion.identity import apikeys
from bastion.vault.keys import (
    list_versions,
    resume_rotation,
    retire,
    rotate,
    rows_on_version,
)
from bastion.vault.objects import Kind, add, get
from tests.conftest import Env
from tests.vault.helpers import CHUNK, all_key_rows, blob_files, events, payload, write

DS = Kind.DATASET


class FlakyProvider:
    """A real provider that fails after ``allowed`` wraps, as a crashing HSM would."""

    def __init__(self, inner: KeyProvider, allowed: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.algorithms = inner.algorithms
        self.allowed = allowed
        self.wraps = 0

    def create_version(self, version: int, algorithm: str) -> None:
        self.inner.create_version(version, algorithm)

    def wrap(self, version: int, dek: bytes, aad: bytes) -> bytes:
        if self.wraps >= self.allowed:
            raise RuntimeError("key provider went away")
        self.wraps += 1
        return self.inner.wrap(version, dek, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        return self.inner.unwrap(version, wrapped, aad)

    def destroy_version(self, version: int) -> None:
        self.inner.destroy_version(version)

    def close(self) -> None:
        self.inner.close()


def _store(env: Env, tmp_path: Path, count: int) -> dict[str, bytes]:
    data = {f"ds{i}": payload(CHUNK * (i % 3) + i, seed=i) for i in range(count)}
    for name, content in data.items():
        add(env.ws, env.admin, DS, write(tmp_path / "src", name, content), name)
    return data


def _assert_readable(env: Env, tmp_path: Path, data: dict[str, bytes]) -> None:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for name, content in data.items():
        target = out / name
        get(env.ws, env.admin, DS, name, target, overwrite=True)
        assert target.read_bytes() == content, name


def _blob_digests(env: Env) -> dict[str, str]:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in blob_files(env).items()}


def _versions(env: Env) -> list[tuple[int, str, str, int]]:
    return [
        (v.version, v.algorithm, v.state, v.data_keys) for v in list_versions(env.ws, env.admin)
    ]


def _on(env: Env, version: int) -> int:
    with env.ws.sessions() as session:
        return rows_on_version(session, env.ws.key_provider.name, version)


def test_rotate_retire_and_destroy_keep_every_object_readable(
    vault_env: Env, tmp_path: Path
) -> None:
    env = vault_env
    provider = env.ws.key_provider.name
    data = _store(env, tmp_path, 3)
    blobs = _blob_digests(env)
    assert _versions(env) == [(1, "aes-256-gcm", "active", 3)]

    with pytest.raises(Conflict) as active:
        retire(env.ws, env.admin, 1)
    assert active.value.code == "keyring.version_active"
    with pytest.raises(NotFound) as unknown:
        retire(env.ws, env.admin, 9)
    assert unknown.value.code == "keyring.version_not_found"
    assert _versions(env) == [(1, "aes-256-gcm", "active", 3)]

    result = rotate(env.ws, env.admin)
    assert (result.provider, result.version, result.rewrapped, result.remaining) == (
        provider,
        2,
        3,
        0,
    )
    assert _versions(env) == [(1, "aes-256-gcm", "enabled", 0), (2, "aes-256-gcm", "active", 3)]
    assert {(k.provider, k.kek_version) for k in all_key_rows(env)} == {(provider, 2)}
    _assert_readable(env, tmp_path, data)

    retired = retire(env.ws, env.admin, 1)
    assert (retired.state, retired.retired_at, retired.destroyed_at) == (
        "retired",
        env.clock.now(),
        None,
    )
    assert _versions(env) == [(1, "aes-256-gcm", "retired", 0), (2, "aes-256-gcm", "active", 3)]
    _assert_readable(env, tmp_path, data)

    destroyed = retire(env.ws, env.admin, 1, destroy=True)
    assert destroyed.state == "destroyed" and destroyed.destroyed_at == env.clock.now()
    assert _versions(env) == [(1, "aes-256-gcm", "destroyed", 0), (2, "aes-256-gcm", "active", 3)]
    _assert_readable(env, tmp_path, data)
    # The material itself is gone from the provider.
    with pytest.raises(KeyringError) as gone:
        env.ws.key_provider.wrap(1, bytes(32), wrap_aad("0" * 32, provider, 1))
    assert gone.value.code == "keyring.version_missing"
    with pytest.raises(Conflict) as twice:
        retire(env.ws, env.admin, 1, destroy=True)
    assert twice.value.code == "keyring.version_destroyed"

    # Rotation re-wrapped keys only: not one byte of any encrypted object changed.
    assert _blob_digests(env) == blobs
    # New objects go under the active version.
    late = write(tmp_path, "late", b"late")
    assert add(env.ws, env.admin, DS, late, "late").kek == f"{provider}/v2 (aes-256-gcm)"

    (created,) = events(env, "keyring.create_version")
    assert (created.outcome, created.actor, created.resource) == (
        "success",
        "admin",
        f"kek/{provider}/v1",
    )
    assert created.details_dict()["version"] == 1
    (rotated,) = events(env, "keyring.rotate")
    assert rotated.outcome == "success" and rotated.resource == f"kek/{provider}/v2"
    assert {k: rotated.details_dict()[k] for k in ("version", "rewrapped", "remaining")} == {
        "version": 2,
        "rewrapped": 3,
        "remaining": 0,
    }
    retires = events(env, "keyring.retire")
    assert [(e.outcome, e.details_dict().get("error")) for e in retires] == [
        ("error", "keyring.version_active"),
        ("error", "keyring.version_not_found"),
        ("success", None),
    ]
    assert retires[2].details_dict()["state"] == "retired"
    destroys = events(env, "keyring.destroy")
    assert [(e.outcome, e.resource) for e in destroys] == [
        ("success", f"kek/{provider}/v1"),
        ("error", f"kek/{provider}/v1"),
    ]
    assert destroys[0].details_dict()["state"] == "destroyed"


def test_interrupted_rotation_is_resumed(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    real = env.ws.key_provider
    data = _store(env, tmp_path, 7)
    blobs = _blob_digests(env)

    # Batches of 2: the first commits, the second fails on its second wrap and rolls back.
    env.ws.use_key_provider(FlakyProvider(real, allowed=3))
    with pytest.raises(RuntimeError, match="went away"):
        rotate(env.ws, env.admin, batch_size=2)
    assert (_on(env, 1), _on(env, 2)) == (5, 2)
    assert _versions(env) == [(1, "aes-256-gcm", "enabled", 5), (2, "aes-256-gcm", "active", 2)]
    _assert_readable(env, tmp_path, data)  # v1 still unwraps what it wraps

    # v1 still protects data keys: it cannot be retired or destroyed yet.
    for destroy in (False, True):
        with pytest.raises(Conflict) as in_use:
            retire(env.ws, env.admin, 1, destroy=destroy)
        assert in_use.value.code == "keyring.version_in_use"
    assert _versions(env)[0] == (1, "aes-256-gcm", "enabled", 5)

    env.ws.use_key_provider(real)
    resumed = resume_rotation(env.ws, env.admin, batch_size=2)
    assert (resumed.version, resumed.rewrapped, resumed.remaining) == (2, 5, 0)
    assert (_on(env, 1), _on(env, 2)) == (0, 7)
    # Nothing is left to do.
    assert resume_rotation(env.ws, env.admin).rewrapped == 0
    assert retire(env.ws, env.admin, 1).state == "retired"
    _assert_readable(env, tmp_path, data)
    assert _blob_digests(env) == blobs

    (failed,) = events(env, "keyring.rotate")
    assert failed.outcome == "error"
    assert failed.details_dict()["error"] == "RuntimeError"
    assert failed.details_dict()["remaining"] == 5
    first, second = events(env, "keyring.rewrap")
    assert (first.outcome, second.outcome) == ("success", "success")
    assert {k: first.details_dict()[k] for k in ("pending", "rewrapped", "version")} == {
        "pending": 5,
        "rewrapped": 5,
        "version": 2,
    }
    assert second.details_dict()["rewrapped"] == 0
    in_use_events = events(env, "keyring.retire")[:1] + events(env, "keyring.destroy")
    assert [e.details_dict()["error"] for e in in_use_events] == ["keyring.version_in_use"] * 2


def test_rotation_to_the_hybrid_algorithm(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    data = _store(env, tmp_path, 3)
    before = {k.id: k.wrapped for k in all_key_rows(env)}

    with pytest.raises(InvalidInput) as bogus:
        rotate(env.ws, env.admin, algorithm="rsa-2048")
    assert bogus.value.code == "keyring.unknown_algorithm"

    if env.ws.key_provider.name == "pkcs11":
        # A token holds AES keys only: the hybrid is refused and nothing changes.
        with pytest.raises(InvalidInput) as refused:
            rotate(env.ws, env.admin, algorithm="x25519-mlkem768")
        assert refused.value.code == "keyring.unknown_algorithm"
        assert _versions(env) == [(1, "aes-256-gcm", "active", 3)]
        assert {k.id: k.wrapped for k in all_key_rows(env)} == before
        assert [e.outcome for e in events(env, "keyring.rotate")] == ["error", "error"]
        _assert_readable(env, tmp_path, data)
        return

    result = rotate(env.ws, env.admin, algorithm="x25519-mlkem768")
    assert (result.version, result.algorithm, result.rewrapped) == (2, "x25519-mlkem768", 3)
    assert _versions(env) == [
        (1, "aes-256-gcm", "enabled", 0),
        (2, "x25519-mlkem768", "active", 3),
    ]
    rows = all_key_rows(env)
    assert {k.wrap_algorithm for k in rows} == {"x25519-mlkem768"}
    assert all(k.wrapped is not None and k.wrapped[:5] == b"BWK1\x02" for k in rows)
    _assert_readable(env, tmp_path, data)
    late = add(env.ws, env.admin, DS, write(tmp_path, "late", b"pq"), "late")
    assert late.kek == "local/v2 (x25519-mlkem768)"
    retire(env.ws, env.admin, 1, destroy=True)
    _assert_readable(env, tmp_path, {**data, "late": b"pq"})
    assert [e.outcome for e in events(env, "keyring.rotate")] == ["error", "success"]


def test_keyring_operations_need_an_admin_mfa_session(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    _store(env, tmp_path, 1)
    dana = env.user("dana", "data_scientist")
    for attempt in (
        lambda ctx: rotate(env.ws, ctx),
        lambda ctx: resume_rotation(env.ws, ctx),
        lambda ctx: retire(env.ws, ctx, 1),
        lambda ctx: list_versions(env.ws, ctx),
    ):
        with pytest.raises(PermissionDenied) as caught:
            attempt(dana)
        assert caught.value.code == "access.denied"

    # The admin role itself, acting through an API key instead of an MFA session.
    key = apikeys.create_key(env.ws, env.admin, "admin", ttl=None)
    env.secrets_seen.append(key.token)
    anon = env.anon()
    via_key = anon.as_(apikeys.authenticate_api_key(env.ws, anon, key.token))
    with pytest.raises(MfaRequired) as mfa:
        rotate(env.ws, via_key)
    assert mfa.value.code == "auth.mfa_required"

    assert _versions(env) == [(1, "aes-256-gcm", "active", 1)]
    denied = events(env, "keyring.rotate")
    assert [(e.actor, e.outcome, e.details_dict()["error"]) for e in denied] == [
        ("dana", "denied", "access.denied"),
        ("admin", "denied", "auth.mfa_required"),
    ]
    assert [e.outcome for e in events(env, "keyring.retire")] == ["denied"]
    assert [e.outcome for e in events(env, "keyring.rewrap")] == ["denied"]
