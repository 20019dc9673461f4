"""The vault's object service: add, get, list, info, validation, access and damage.

Every test runs with the local keyring provider and a SoftHSM2 PKCS#11 token, on SQLite
and on PostgreSQL (see ``vault_env``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from bastion.crypto.stream import HEADER_LEN
from bastion.db.models import DataKeyRow
from bastion.errors import (
    Conflict,
    EncryptedObjectError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from bastion.vault.objects import CLASSIFICATIONS, Kind, add, get, info, list_objects, remove
from tests.conftest import Env
from tests.vault.helpers import (
    CHUNK,
    all_key_rows,
    blob_files,
    blob_of,
    count_objects,
    events,
    object_row,
    part_files,
    payload,
    sha256,
    write,
)

DS = Kind.DATASET
MODEL = Kind.MODEL


def _add(env: Env, tmp_path: Path, name: str, data: bytes, kind: Kind = DS, **kw: str) -> None:
    src = write(tmp_path / "src", f"{name}-{len(data)}.bin", data)
    add(env.ws, env.admin, kind, src, name, **kw)


def _get(env: Env, name: str, out: Path, kind: Kind = DS, version: int | None = None) -> bytes:
    get(env.ws, env.admin, kind, name, out, version=version)
    return out.read_bytes()


def test_round_trip_of_every_size_matches_hashlib(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    for size in (0, 1, CHUNK, 3 * CHUNK + 7):
        data = payload(size, seed=size)
        src = write(tmp_path / "src", f"in-{size}.bin", data)
        stored = add(env.ws, env.admin, DS, src, f"ds-{size}")
        assert (stored.size, stored.sha256, stored.version) == (size, sha256(data), 1)
        assert stored.owner == "admin"
        assert stored.classification == "confidential"  # the default for unlabelled data
        assert stored.source_name == f"in-{size}.bin"
        assert stored.cipher == "aes-256-gcm"
        assert stored.kek.startswith(f"{env.settings.key_provider}/v1 ")

        out = tmp_path / "out" / f"out-{size}.bin"
        out.parent.mkdir(exist_ok=True)
        fetched = get(env.ws, env.admin, DS, f"ds-{size}", out)
        assert out.read_bytes() == data
        assert fetched.sha256 == sha256(out.read_bytes())

        blob = blob_of(env, DS, f"ds-{size}", 1).read_bytes()
        if size >= 32:
            assert data[:32] not in blob, "the blob must not hold plaintext"
    assert part_files(tmp_path / "out") == []
    assert part_files(env.ws.blob_dir) == []


def test_versions_list_info_and_get_by_version(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    a = [payload(CHUNK + i, seed=10 + i) for i in range(3)]
    for data in a:
        _add(env, tmp_path, "alpha", data)
    _add(env, tmp_path, "beta", b"beta v1", classification="public")

    versions = [i.version for i in info(env.ws, env.admin, DS, "alpha")]
    assert versions == [1, 2, 3]
    assert [i.sha256 for i in info(env.ws, env.admin, DS, "alpha")] == [sha256(d) for d in a]

    out = tmp_path / "out"
    out.mkdir()
    assert _get(env, "alpha", out / "latest") == a[2]
    for v, data in enumerate(a, 1):
        assert _get(env, "alpha", out / f"v{v}", version=v) == data

    latest = {(i.name, i.version) for i in list_objects(env.ws, env.admin, DS)}
    assert latest == {("alpha", 3), ("beta", 1)}
    every = [(i.name, i.version) for i in list_objects(env.ws, env.admin, DS, all_versions=True)]
    assert every == [("alpha", 1), ("alpha", 2), ("alpha", 3), ("beta", 1)]

    # The latest *live* version is listed: shredding alpha@3 brings alpha@2 back to the top.
    remove(env.ws, env.admin, DS, "alpha", version=3)
    latest = {(i.name, i.version) for i in list_objects(env.ws, env.admin, DS)}
    assert latest == {("alpha", 2), ("beta", 1)}
    assert _get(env, "alpha", out / "after-rm") == a[1]
    # ...and info still lists every version, the shredded one included.
    states = [(i.version, i.state) for i in info(env.ws, env.admin, DS, "alpha")]
    assert states == [(1, "active"), (2, "active"), (3, "shredded")]
    # A new version takes the next number, never a shredded one's.
    _add(env, tmp_path, "alpha", b"four")
    assert [i.version for i in info(env.ws, env.admin, DS, "alpha")] == [1, 2, 3, 4]

    with pytest.raises(NotFound) as missing:
        get(env.ws, env.admin, DS, "alpha", out / "v9", version=9)
    assert missing.value.code == "vault.not_found"
    with pytest.raises(NotFound) as nothing:
        info(env.ws, env.admin, DS, "gamma")
    assert nothing.value.code == "vault.not_found"


def _assert_nothing_stored(env: Env, objects: int, keys: int, blobs: int) -> None:
    assert count_objects(env) == objects
    assert len(all_key_rows(env)) == keys
    assert len(blob_files(env)) == blobs
    assert part_files(env.ws.blob_dir) == []


def test_invalid_adds_store_nothing(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    good = write(tmp_path, "good.csv", payload(100))
    for label in CLASSIFICATIONS:
        stored = add(env.ws, env.admin, DS, good, f"c-{label}", classification=label)
        assert stored.classification == label
    before = (count_objects(env), len(all_key_rows(env)), len(blob_files(env)))
    assert before == (4, 4, 4)

    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: add(env.ws, env.admin, DS, good, "x", classification="secret"), "bad_class"),
        (lambda: add(env.ws, env.admin, DS, good, "x", classification="Public"), "bad_class"),
        (lambda: add(env.ws, env.admin, DS, good, "x", classification=" "), "bad_class"),
        (lambda: add(env.ws, env.admin, DS, tmp_path / "absent.csv", "x"), "no_such_file"),
        (lambda: add(env.ws, env.admin, DS, tmp_path, "x"), "not_a_file"),
        (lambda: add(env.ws, env.admin, DS, good, "x", trained_on="c-public"), "bad_lineage"),
    ]
    for bad in ("", "-lead", ".hidden", "a/b", "../up", "sp ace", "a" * 129, "dó", "x@1"):
        attempts.append((lambda bad=bad: add(env.ws, env.admin, DS, good, bad), "bad_name"))
    codes = {"bad_class": "vault.bad_classification"}
    for attempt, short in attempts:
        with pytest.raises(InvalidInput) as caught:
            attempt()
        assert caught.value.code == codes.get(short, f"vault.{short}")
        _assert_nothing_stored(env, *before)
    # 128 characters is the longest valid name.
    assert add(env.ws, env.admin, DS, good, "a" * 128).version == 1

    # The other verbs validate names the same way.
    for verb in (
        lambda: get(env.ws, env.admin, DS, "../x", tmp_path / "o"),
        lambda: info(env.ws, env.admin, DS, "a/b"),
        lambda: remove(env.ws, env.admin, DS, ""),
    ):
        with pytest.raises(InvalidInput) as caught:
            verb()
        assert caught.value.code == "vault.bad_name"
    assert not (tmp_path / "o").exists()


def test_models_record_the_dataset_version_they_were_trained_on(
    vault_env: Env, tmp_path: Path
) -> None:
    env = vault_env
    v1, v2 = payload(500, seed=1), payload(700, seed=2)
    _add(env, tmp_path, "churn", v1)
    _add(env, tmp_path, "churn", v2)
    weights = payload(2 * CHUNK + 1, seed=3)

    src = write(tmp_path, "model.pt", weights)
    pinned = add(env.ws, env.admin, MODEL, src, "churn-clf", trained_on="churn@1")
    assert pinned.lineage == {"dataset": "churn", "version": 1, "sha256": sha256(v1)}
    latest = add(env.ws, env.admin, MODEL, src, "churn-clf", trained_on="churn")
    assert latest.lineage == {"dataset": "churn", "version": 2, "sha256": sha256(v2)}
    plain = add(env.ws, env.admin, MODEL, src, "other-clf")
    assert plain.lineage == {}

    listed = [(i.version, i.lineage) for i in info(env.ws, env.admin, MODEL, "churn-clf")]
    assert listed == [(1, pinned.lineage), (2, latest.lineage)]
    assert _get(env, "churn-clf", tmp_path / "m.pt", MODEL, version=1) == weights

    recorded = [e.details_dict() for e in events(env, "model.add") if e.outcome == "success"]
    assert [d.get("lineage") for d in recorded] == [pinned.lineage, latest.lineage, None]

    # Lineage must name a live dataset version; nothing is stored otherwise.
    remove(env.ws, env.admin, DS, "churn", version=2)
    before = (count_objects(env), len(all_key_rows(env)), len(blob_files(env)))
    for ref, exc_type, code in [
        ("nope", NotFound, "vault.not_found"),
        ("nope@1", NotFound, "vault.not_found"),
        ("churn@7", NotFound, "vault.not_found"),
        ("churn@2", NotFound, "vault.shredded"),
        ("churn@x", InvalidInput, "vault.bad_version"),
        ("churn@0", InvalidInput, "vault.bad_version"),
    ]:
        with pytest.raises(exc_type) as caught:
            add(env.ws, env.admin, MODEL, src, "bad-clf", trained_on=ref)
        assert caught.value.code == code, ref
        _assert_nothing_stored(env, *before)
    assert {i.name for i in list_objects(env.ws, env.admin, MODEL)} == {"churn-clf", "other-clf"}
    failed = [e for e in events(env, "model.add") if e.outcome == "error"]
    assert [e.details_dict()["error"] for e in failed[:3]] == ["vault.not_found"] * 3


def test_existing_output_is_kept_unless_overwrite(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    data = payload(CHUNK + 3)
    _add(env, tmp_path, "ds", data)
    out = write(tmp_path / "out", "ds.bin", b"precious")
    with pytest.raises(Conflict) as caught:
        get(env.ws, env.admin, DS, "ds", out)
    assert caught.value.code == "vault.output_exists"
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds.bin"]

    get(env.ws, env.admin, DS, "ds", out, overwrite=True)
    assert out.read_bytes() == data
    # A folder in the way is never replaced, even with overwrite.
    folder = tmp_path / "out" / "sub"
    folder.mkdir()
    with pytest.raises(InvalidInput) as not_file:
        get(env.ws, env.admin, DS, "ds", folder, overwrite=True)
    assert not_file.value.code == "vault.not_a_file"
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_role_without_data_read_is_denied_and_audited(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    _add(env, tmp_path, "ds", payload(300))
    ann = env.user("ann", "analyst")  # data:list, model:list, never data:read

    # Listing metadata is allowed...
    assert [i.name for i in list_objects(env.ws, ann, DS)] == ["ds"]
    assert [i.version for i in info(env.ws, ann, DS, "ds")] == [1]
    # ...reading the contents is not, and nothing is written.
    out = tmp_path / "out" / "ds.bin"
    out.parent.mkdir()
    with pytest.raises(PermissionDenied) as caught:
        get(env.ws, ann, DS, "ds", out)
    assert caught.value.code == "access.denied"
    assert list(out.parent.iterdir()) == []
    # Nor may it add, remove or read models.
    for attempt in (
        lambda: add(env.ws, ann, DS, write(tmp_path, "n.csv", b"x"), "ds"),
        lambda: remove(env.ws, ann, DS, "ds"),
        lambda: get(env.ws, ann, MODEL, "ds", out),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert list(out.parent.iterdir()) == []
    assert [i.version for i in info(env.ws, env.admin, DS, "ds")] == [1]

    denied = [e for e in events(env, "data.get") if e.actor == "ann"]
    assert len(denied) == 1
    assert denied[0].outcome == "denied"
    assert denied[0].resource == "dataset/ds"
    assert denied[0].details_dict() == {"permission": "data:read", "error": "access.denied"}
    assert "bytes" not in denied[0].details_dict()


def test_every_read_is_audited_with_bytes_and_digest(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    v1, v2 = payload(10, seed=1), payload(2 * CHUNK + 5, seed=2)
    _add(env, tmp_path, "ds", v1)
    _add(env, tmp_path, "ds", v2)
    _add(env, tmp_path, "net", payload(CHUNK, seed=3), MODEL)
    out = tmp_path / "out"
    out.mkdir()
    _get(env, "ds", out / "a")
    _get(env, "ds", out / "b", version=1)
    _get(env, "ds", out / "c")
    _get(env, "net", out / "d", MODEL)

    reads = events(env, "data.get")
    assert [(e.resource, e.outcome, e.actor) for e in reads] == [
        ("dataset/ds@2", "success", "admin"),
        ("dataset/ds@1", "success", "admin"),
        ("dataset/ds@2", "success", "admin"),
    ]
    stored = {i.version: i for i in info(env.ws, env.admin, DS, "ds")}
    for event in reads:
        details = event.details_dict()
        item = stored[details["version"]]
        assert details["bytes"] == item.size
        assert details["sha256"] == item.sha256
        assert details["permission"] == "data:read"
    assert stored[1].size == 10 and stored[2].size == 2 * CHUNK + 5
    (model_read,) = events(env, "model.get")
    assert model_read.resource == "model/net@1"
    assert model_read.details_dict()["bytes"] == CHUNK
    assert model_read.details_dict()["permission"] == "model:read"


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-5])


def _append(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\x00")


def test_damaged_objects_are_refused_and_release_nothing(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    names = ["flip", "header", "cut", "extra", "swap-a", "swap-b", "gone", "rewrapped", "intact"]
    data = {n: payload(3 * CHUNK + 7, seed=i) for i, n in enumerate(names)}
    for name in names:
        _add(env, tmp_path, name, data[name])
    blob = {name: blob_of(env, DS, name, 1) for name in names}

    _flip(blob["flip"], HEADER_LEN + 10)  # inside the first chunk's ciphertext
    _flip(blob["header"], HEADER_LEN - 1)  # the header MAC
    _truncate(blob["cut"])
    _append(blob["extra"])
    a, b = blob["swap-a"].read_bytes(), blob["swap-b"].read_bytes()
    blob["swap-a"].write_bytes(b)
    blob["swap-b"].write_bytes(a)
    blob["gone"].unlink()
    key_id = object_row(env, DS, "rewrapped", 1).data_key_id
    with env.ws.sessions() as session:
        stored_key = session.get(DataKeyRow, key_id)
        assert stored_key is not None and stored_key.wrapped is not None
        wrapped = stored_key.wrapped
        edited = wrapped[:-1] + bytes([wrapped[-1] ^ 0x01])
        session.execute(update(DataKeyRow).where(DataKeyRow.id == key_id).values(wrapped=edited))
        session.commit()

    expected = {
        "flip": "vault.tampered",
        "header": "vault.tampered",
        "cut": "vault.truncated",
        "extra": "vault.tampered",
        "swap-a": "vault.wrong_key",
        "swap-b": "vault.wrong_key",
        "gone": "vault.blob_missing",
        "rewrapped": "vault.wrong_key",
    }
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name, code in expected.items():
        out = out_dir / f"{name}.bin"
        with pytest.raises(EncryptedObjectError) as caught:
            get(env.ws, env.admin, DS, name, out)
        assert caught.value.code == code, name
        assert not out.exists(), name
        assert list(out_dir.iterdir()) == [], f"{name}: no partial output or .part file"

    failures = {e.resource: e for e in events(env, "data.get") if e.outcome == "error"}
    assert len(failures) == len(expected)
    for name, code in expected.items():
        assert failures[f"dataset/{name}@1"].details_dict()["error"] == code
        assert "bytes" not in failures[f"dataset/{name}@1"].details_dict()
    # Damage to other objects changes nothing for this one.
    assert _get(env, "intact", out_dir / "intact.bin") == data["intact"]


def test_kinds_are_separate_namespaces(vault_env: Env, tmp_path: Path) -> None:
    env = vault_env
    weights = payload(CHUNK + 1, seed=5)
    _add(env, tmp_path, "shared", weights, MODEL)
    out = tmp_path / "out.bin"
    for attempt in (
        lambda: get(env.ws, env.admin, DS, "shared", out),
        lambda: info(env.ws, env.admin, DS, "shared"),
        lambda: remove(env.ws, env.admin, DS, "shared"),
    ):
        with pytest.raises(NotFound) as caught:
            attempt()
        assert caught.value.code == "vault.not_found"
    assert not out.exists()
    assert list_objects(env.ws, env.admin, DS) == []

    # The same name as a dataset is a separate object with its own version numbers.
    _add(env, tmp_path, "shared", b"rows")
    assert _get(env, "shared", tmp_path / "ds.bin") == b"rows"
    assert _get(env, "shared", tmp_path / "m.bin", MODEL) == weights
    assert [i.kind for i in info(env.ws, env.admin, MODEL, "shared")] == ["model"]
    assert info(env.ws, env.admin, DS, "shared")[0].version == 1
