"""Model signatures and provenance: round trips, tampering, format vectors, refusals."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.config import Secret
from bastion.crypto.keyring import Keyring, MasterSecret, generate_master_key
from bastion.errors import InvalidInput, SignatureInvalid
from bastion.models.provenance import (
    BUILD_TYPE,
    SLSA_PROVENANCE_PREDICATE,
    ProvenanceInput,
    provenance_statement,
    read_envelope,
    sign_statement,
    verify_statement,
)
from bastion.models.signing import (
    BUNDLE_MEDIA_TYPE,
    IN_TOTO_PAYLOAD_TYPE,
    MAX_BUNDLE_BYTES,
    MODEL_SIGNATURE_PREDICATE,
    FileDigest,
    Manifest,
    default_signature_path,
    dump_bundle,
    manifest_of,
    manifest_of_digests,
    pae,
    public_key_hint,
    read_bundle,
    sign_manifest,
    verify_bundle,
    verify_manifest,
    verify_path,
    write_bundle,
)

MODEL_FILES: dict[str, bytes] = {
    "config.json": b'{"hidden_size": 64, "layers": 2}\n',
    "weights.bin": random.Random(7).randbytes(300_000),
    "tokenizer/vocab.txt": b"hello\nworld\n",
    "tokenizer/merges/m.txt": b"h e\nl l\n",
    "deep/a/b/c.bin": bytes(range(256)) * 5,
    "empty.dat": b"",
}
START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


class Signer:
    """A key pair, its Bastion id, and the trust map that accepts it."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key()
        self.key_id = Keyring.signing_key_id(self.public)
        self.trusted: dict[str, Ed25519PublicKey] = {self.key_id: self.public}


def make_model(root: Path, files: dict[str, bytes] = MODEL_FILES) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "tiny-llm")


def signed(model: Path, signer: Signer, **kwargs: Any) -> dict[str, Any]:
    return sign_manifest(manifest_of(model, **kwargs), signer.key_id, signer.private)


def payload_of(bundle: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return decoded


def hand_signed(statement: Any, signer: Signer, *, raw: bytes | None = None) -> dict[str, Any]:
    """A bundle built by hand from the documented layout, signed with a trusted key."""
    payload = raw if raw is not None else json.dumps(statement).encode()
    sig = signer.private.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload))
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": public_key_hint(signer.public)}},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode()}],
        },
    }


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(SignatureInvalid) as info:
        call()
    return info.value.code


# -- known answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload_type", "payload", "expected"),
    [
        # The example in the DSSE v1 protocol description.
        (
            "http://example.com/HelloWorld",
            b"hello world",
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world",
        ),
        (
            "application/vnd.in-toto+json",
            b'{"a":1}',
            b'DSSEv1 28 application/vnd.in-toto+json 7 {"a":1}',
        ),
        ("t", b"", b"DSSEv1 1 t 0 "),
        # Lengths count bytes, not characters: "é" is two bytes in UTF-8.
        ("é", b"\x00 \xff", b"DSSEv1 2 \xc3\xa9 3 \x00 \xff"),
    ],
)
def test_pae_known_answers(payload_type: str, payload: bytes, expected: bytes) -> None:
    assert pae(payload_type, payload) == expected


def test_root_digest_matches_a_model_signing_vector() -> None:
    # From model-transparency's scripts/tests/v1.1.0-elliptic-key/model.sig: two files,
    # their resource digests, and the subject digest the reference tool computed.
    manifest = manifest_of_digests(
        "v1.1.0-elliptic-key",
        {
            "signme-2": ("32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028", 1),
            "signme-1": ("bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc", 1),
        },
    )
    assert [f.name for f in manifest.files] == ["signme-1", "signme-2"]
    assert manifest.root_digest == (
        "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"
    )


def test_root_digest_by_hand_and_path_order() -> None:
    da, db = hashlib.sha256(b"A").hexdigest(), hashlib.sha256(b"B").hexdigest()
    manifest = manifest_of_digests("m", {"a.txt": (da, 1), "a/b": (db, 1)})
    # Part-wise order, as model-signing sorts paths: "a/b" before "a.txt", although "/"
    # sorts after "." as a character.
    assert [f.name for f in manifest.files] == ["a/b", "a.txt"]
    expected = hashlib.sha256(bytes.fromhex(db) + bytes.fromhex(da)).hexdigest()
    assert manifest.root_digest == expected


def test_key_hint_is_sha256_of_the_pem_public_key(signer: Signer) -> None:
    raw = signer.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte DER prefix and the raw key.
    der = bytes.fromhex("302a300506032b6570032100") + raw
    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der) + b"\n-----END PUBLIC KEY-----\n"
    assert public_key_hint(signer.public) == hashlib.sha256(pem).hexdigest()


def test_bundle_layout(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["verificationMaterial"] == {
        "publicKey": {"hint": public_key_hint(signer.public)},
        "tlogEntries": [],
    }
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"][0]["keyid"] == signer.key_id
    payload = base64.b64decode(envelope["payload"])
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    signer.public.verify(
        sig, b"DSSEv1 28 application/vnd.in-toto+json %d %s" % (len(payload), payload)
    )

    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    resources = statement["predicate"]["resources"]
    names = [r["name"] for r in resources]
    assert names == [
        "config.json",
        "deep/a/b/c.bin",
        "empty.dat",
        "tokenizer/merges/m.txt",
        "tokenizer/vocab.txt",
        "weights.bin",
    ]
    for resource in resources:
        data = MODEL_FILES[resource["name"]]
        assert resource == {
            "name": resource["name"],
            "algorithm": "sha256",
            "digest": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    assert statement["subject"] == [{"name": "tiny-llm", "digest": {"sha256": root}}]
    assert statement["predicate"]["serialization"] == {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": ["model.sig"],
    }


# -- round trips ------------------------------------------------------------------------


def test_sign_and_verify_a_folder(model: Path, signer: Signer) -> None:
    manifest = manifest_of(model)
    bundle = sign_manifest(manifest, signer.key_id, signer.private)
    assert verify_path(model, bundle, signer.trusted) == manifest
    assert verify_manifest(bundle, manifest, signer.trusted) == manifest
    assert verify_bundle(bundle, signer.trusted) == manifest
    # Signing is deterministic: same files, same key, same bytes.
    assert dump_bundle(bundle) == dump_bundle(signed(model, signer))


def test_file_then_read_back(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    path = default_signature_path(model)
    assert path == model / "model.sig"
    write_bundle(path, bundle)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    loaded = read_bundle(path.read_bytes())
    assert loaded == bundle
    # The signature file inside the folder is not part of the model.
    assert verify_path(model, loaded, signer.trusted).files == manifest_of(model).files
    assert "model.sig" not in {f.name for f in manifest_of(model).files}


def test_only_the_top_level_model_sig_is_excluded(model: Path, signer: Signer) -> None:
    (model / "tokenizer" / "model.sig").write_bytes(b"not ours")
    names = {f.name for f in manifest_of(model).files}
    assert "tokenizer/model.sig" in names


def test_single_file_model(tmp_path: Path, signer: Signer) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + b"\x01" * 100)
    manifest = manifest_of(weights)
    assert manifest.model_name == "model.safetensors"
    assert manifest.files == (
        FileDigest("model.safetensors", hashlib.sha256(weights.read_bytes()).hexdigest(), 116),
    )
    bundle = sign_manifest(manifest, signer.key_id, signer.private)
    sig_path = default_signature_path(weights)
    assert sig_path == tmp_path / "model.safetensors.sig"
    write_bundle(sig_path, bundle)
    assert verify_path(weights, read_bundle(sig_path.read_bytes()), signer.trusted) == manifest

    with weights.open("r+b") as handle:
        handle.seek(20)
        handle.write(b"\x02")
    with pytest.raises(SignatureInvalid) as info:
        verify_path(weights, bundle, signer.trusted)
    assert info.value.code == "signature.mismatch"
    assert info.value.details["changed"] == ["model.safetensors"]


def test_keyring_model_signing_key(tmp_path: Path, model: Path) -> None:
    ring = Keyring.create(
        tmp_path / "keyring.json", MasterSecret(master_key=Secret(generate_master_key()))
    )
    key_id, private = ring.model_signing_key()
    bundle = sign_manifest(manifest_of(model), key_id, private)
    assert bundle["dsseEnvelope"]["signatures"][0]["keyid"] == key_id
    verify_path(model, bundle, {key_id: private.public_key()})
    # The audit key is a different key: it does not vouch for models.
    audit_id, audit = ring.signing_key()
    assert code_of(lambda: verify_path(model, bundle, {audit_id: audit.public_key()})) == (
        "signature.unknown_key"
    )


# -- changed, added, removed files ------------------------------------------------------

CHANGEABLE = sorted(name for name, data in MODEL_FILES.items() if data)


@pytest.fixture(scope="module")
def shared_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Signer, Any]]:
    root = make_model(tmp_path_factory.mktemp("shared") / "model")
    who = Signer()
    yield root, who, signed(root, who)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(CHANGEABLE), where=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_is_named(
    shared_model: tuple[Path, Signer, Any], name: str, where: int, flip: int
) -> None:
    root, who, bundle = shared_model
    path = root / name
    original = path.read_bytes()
    offset = where % len(original)
    tampered = bytearray(original)
    tampered[offset] ^= flip
    path.write_bytes(bytes(tampered))
    try:
        with pytest.raises(SignatureInvalid) as info:
            verify_path(root, bundle, who.trusted)
    finally:
        path.write_bytes(original)
    assert info.value.code == "signature.mismatch"
    assert info.value.details == {"changed": [name], "added": [], "removed": []}
    assert info.value.message == f"model files do not match the signed manifest: changed {name}"
    verify_path(root, bundle, who.trusted)  # restored: fine again


@pytest.mark.parametrize(
    ("mutate", "details"),
    [
        (
            lambda root: (root / "evil.pkl").write_bytes(b"cos\nsystem\n"),
            {"changed": [], "added": ["evil.pkl"], "removed": []},
        ),
        (
            lambda root: (root / "tokenizer" / "merges" / "extra.py").write_text("x"),
            {"changed": [], "added": ["tokenizer/merges/extra.py"], "removed": []},
        ),
        (
            lambda root: (root / "config.json").unlink(),
            {"changed": [], "added": [], "removed": ["config.json"]},
        ),
        (
            lambda root: (root / "empty.dat").write_bytes(b"\x00"),
            {"changed": ["empty.dat"], "added": [], "removed": []},
        ),
        (
            # A rename is a removal and an addition.
            lambda root: (root / "weights.bin").rename(root / "weights2.bin"),
            {"changed": [], "added": ["weights2.bin"], "removed": ["weights.bin"]},
        ),
    ],
)
def test_added_removed_and_changed_files_are_named(
    model: Path, signer: Signer, mutate: Callable[[Path], object], details: dict[str, list[str]]
) -> None:
    bundle = signed(model, signer)
    mutate(model)
    with pytest.raises(SignatureInvalid) as info:
        verify_path(model, bundle, signer.trusted)
    assert info.value.code == "signature.mismatch"
    assert info.value.details == details
    for names in details.values():
        for name in names:
            assert name in info.value.message


def test_mismatch_message_lists_each_kind(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    (model / "weights.bin").write_bytes(b"poisoned")
    (model / "evil.pkl").write_bytes(b"x")
    (model / "config.json").unlink()
    with pytest.raises(SignatureInvalid) as info:
        verify_path(model, bundle, signer.trusted)
    assert info.value.message == (
        "model files do not match the signed manifest: "
        "changed weights.bin; added evil.pkl; removed config.json"
    )


def test_emptied_model_reports_every_file_removed(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    for name in MODEL_FILES:
        (model / name).unlink()
    with pytest.raises(SignatureInvalid) as info:
        verify_path(model, bundle, signer.trusted)
    assert sorted(info.value.details["removed"]) == sorted(MODEL_FILES)


def test_long_lists_are_cut_in_the_message_not_in_details(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    for i in range(25):
        (model / f"x{i:02}").write_bytes(b"")
    with pytest.raises(SignatureInvalid) as info:
        verify_path(model, bundle, signer.trusted)
    assert len(info.value.details["added"]) == 25
    assert info.value.message.endswith("and 15 more")


def test_control_characters_in_names_are_quoted(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    (model / "evil\nerror[ok]: fine").write_bytes(b"")
    with pytest.raises(SignatureInvalid) as info:
        verify_path(model, bundle, signer.trusted)
    assert "\n" not in info.value.message
    assert '"evil\\nerror[ok]: fine"' in info.value.message


def test_verify_manifest_compares_against_the_given_manifest(model: Path, signer: Signer) -> None:
    manifest = manifest_of(model)
    bundle = sign_manifest(manifest, signer.key_id, signer.private)
    changed = replace(
        manifest,
        files=tuple(
            replace(f, sha256="00" * 32) if f.name == "deep/a/b/c.bin" else f
            for f in manifest.files
        ),
    )
    with pytest.raises(SignatureInvalid) as info:
        verify_manifest(bundle, changed, signer.trusted)
    assert info.value.details["changed"] == ["deep/a/b/c.bin"]


# -- ignore paths -----------------------------------------------------------------------


def test_ignored_paths_are_left_out_and_signed(model: Path, signer: Signer) -> None:
    (model / "logs").mkdir()
    (model / "logs" / "run.txt").write_text("step 1")
    (model / "notes.txt").write_text("draft")
    manifest = manifest_of(model, ignore=["./logs/", "notes.txt"])
    assert manifest.ignore_paths == ("logs", "model.sig", "notes.txt")
    assert not {"logs/run.txt", "notes.txt"} & {f.name for f in manifest.files}
    bundle = sign_manifest(manifest, signer.key_id, signer.private)
    assert payload_of(bundle)["predicate"]["serialization"]["ignore_paths"] == [
        "logs",
        "model.sig",
        "notes.txt",
    ]
    # The signer declared them out of scope, so a verifier skips them too.
    (model / "logs" / "run2.txt").write_text("step 2")
    (model / "notes.txt").write_text("edited")
    verify_path(model, bundle, signer.trusted)
    verify_manifest(bundle, manifest_of(model), signer.trusted)


@pytest.mark.parametrize("entry", ["/etc", "../outside", "", "a//b", "a/../b", "."])
def test_bad_ignore_entries_are_refused(model: Path, entry: str) -> None:
    with pytest.raises(InvalidInput) as info:
        manifest_of(model, ignore=[entry])
    assert info.value.code == "signature.bad_ignore"


# -- refused inputs ---------------------------------------------------------------------


def test_symlinks_are_refused(model: Path, tmp_path: Path) -> None:
    (model / "tokenizer" / "link.txt").symlink_to(model / "config.json")
    with pytest.raises(InvalidInput) as info:
        manifest_of(model)
    assert info.value.code == "signature.symlink"
    assert "tokenizer/link.txt" in info.value.message

    (tmp_path / "alias").symlink_to(model, target_is_directory=True)
    with pytest.raises(InvalidInput) as info:
        manifest_of(tmp_path / "alias")
    assert info.value.code == "signature.symlink"


def test_symlink_to_a_folder_is_refused(model: Path, tmp_path: Path) -> None:
    outside = make_model(tmp_path / "outside", {"secret.txt": b"x"})
    (model / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInput) as info:
        manifest_of(model)
    assert info.value.code == "signature.symlink"


def test_symlink_inside_an_ignored_folder_is_not_looked_at(model: Path) -> None:
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").symlink_to(model / "config.json")
    manifest_of(model, ignore=[".git"])


def test_file_names_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    root = make_model(tmp_path / "m", {"ok.txt": b"x"})
    try:
        (root / os.fsdecode(b"bad\xff.bin")).write_bytes(b"")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    with pytest.raises(InvalidInput) as info:
        manifest_of(root)
    assert info.value.code == "signature.bad_name"


def test_refused_paths(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        manifest_of(tmp_path / "missing")
    assert info.value.code == "signature.no_such_path"

    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as info:
        manifest_of(tmp_path / "empty")
    assert info.value.code == "signature.empty"

    make_model(tmp_path / "fifo-model", {"a.txt": b"a"})
    os.mkfifo(tmp_path / "fifo-model" / "pipe")
    with pytest.raises(InvalidInput) as info:
        manifest_of(tmp_path / "fifo-model")
    assert info.value.code == "signature.special_file"


@pytest.mark.parametrize(
    "files",
    [
        {"a": ("zz" * 32, 1)},
        {"a": ("00" * 31, 1)},
        {"a": ("00" * 32, -1)},
        {"/abs": ("00" * 32, 1)},
        {"a/../b": ("00" * 32, 1)},
        {},
    ],
)
def test_manifest_of_digests_refuses_bad_entries(files: dict[str, tuple[str, int]]) -> None:
    with pytest.raises(InvalidInput):
        manifest_of_digests("m", files)


def test_manifest_must_be_sorted_and_unique() -> None:
    a = FileDigest("a", "00" * 32, 0)
    b = FileDigest("b", "11" * 32, 0)
    with pytest.raises(InvalidInput):
        Manifest("m", (b, a))
    with pytest.raises(InvalidInput):
        Manifest("m", (a, a))


# -- tampered and malformed bundles -----------------------------------------------------


def _edit_payload(bundle: dict[str, Any]) -> None:
    statement = payload_of(bundle)
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _flip_signature(bundle: dict[str, Any]) -> None:
    sig = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[10] ^= 1
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(bundle: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = bundle
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (_edit_payload, "signature.bad_signature"),
        (_flip_signature, "signature.bad_signature"),
        (
            _set("dsseEnvelope.signatures.0.sig", base64.b64encode(b"\0" * 64).decode()),
            "signature.bad_signature",
        ),
        (_set("verificationMaterial.publicKey.hint", "ab" * 32), "signature.unknown_key"),
        (_set("verificationMaterial.publicKey.hint", "not hex"), "signature.malformed"),
        (_set("verificationMaterial.publicKey.hint", _DELETE), "signature.malformed"),
        (
            _set("verificationMaterial", {"certificate": {"rawBytes": "AA=="}}),
            "signature.malformed",
        ),
        (_set("dsseEnvelope.signatures.0.keyid", "ed25519:" + "0" * 32), "signature.malformed"),
        (_set("dsseEnvelope.payload", "%%% not base64 %%%"), "signature.malformed"),
        (_set("dsseEnvelope.payload", 42), "signature.malformed"),
        (_set("dsseEnvelope.payloadType", "application/json"), "signature.malformed"),
        (_set("dsseEnvelope.signatures", []), "signature.malformed"),
        (_set("dsseEnvelope.signatures.0.sig", _DELETE), "signature.malformed"),
        (_set("dsseEnvelope", _DELETE), "signature.malformed"),
        (
            _set("mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.1"),
            "signature.malformed",
        ),
    ],
)
def test_tampered_bundles_are_refused(
    model: Path, signer: Signer, edit: Callable[[dict[str, Any]], None], code: str
) -> None:
    bundle = signed(model, signer)
    edit(bundle)
    assert code_of(lambda: verify_path(model, bundle, signer.trusted)) == code
    assert code_of(lambda: verify_bundle(bundle, signer.trusted)) == code


def test_two_signatures_are_malformed(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    envelope = bundle["dsseEnvelope"]
    envelope["signatures"].append(copy.deepcopy(envelope["signatures"][0]))
    assert code_of(lambda: verify_bundle(bundle, signer.trusted)) == "signature.malformed"


@pytest.mark.parametrize("keyid", [None, "", _DELETE])
def test_missing_keyid_is_accepted_as_model_signing_writes_it(
    model: Path, signer: Signer, keyid: Any
) -> None:
    bundle = signed(model, signer)
    _set("dsseEnvelope.signatures.0.keyid", keyid)(bundle)
    verify_path(model, bundle, signer.trusted)


def test_url_safe_unpadded_base64_is_read(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    envelope = bundle["dsseEnvelope"]
    for holder, key in ((envelope, "payload"), (envelope["signatures"][0], "sig")):
        raw = base64.b64decode(holder[key])
        holder[key] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    verify_path(model, bundle, signer.trusted)


def test_untrusted_signer_is_an_unknown_key(model: Path, signer: Signer) -> None:
    bundle = signed(model, signer)
    other = Signer()
    assert code_of(lambda: verify_path(model, bundle, other.trusted)) == "signature.unknown_key"
    assert code_of(lambda: verify_path(model, bundle, {})) == "signature.unknown_key"
    # Trusting both is fine: the hint picks the right key.
    verify_path(model, bundle, {**other.trusted, **signer.trusted})


def test_wrong_key_under_the_right_id_does_not_verify(model: Path, signer: Signer) -> None:
    # A trust map is keyed by id, but the key itself is what is checked.
    other = Signer()
    bundle = signed(model, signer)
    assert code_of(lambda: verify_bundle(bundle, {signer.key_id: other.public})) == (
        "signature.unknown_key"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'"a string"',
        b"{",
        b'{"mediaType": 1, "mediaType": 2}',
        b'{"x": NaN}',
        b"\xff\xfe{}",
        b"[" * 100_000,
        b"{}",
    ],
)
def test_malformed_files_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(SignatureInvalid) as info:
        read_bundle(data)
    assert info.value.code == "signature.malformed"


def test_oversized_bundle_is_refused() -> None:
    with pytest.raises(SignatureInvalid) as info:
        read_bundle(b" " * (MAX_BUNDLE_BYTES + 1))
    assert info.value.code == "signature.malformed"


def _good_statement(signer: Signer) -> dict[str, Any]:
    digest = hashlib.sha256(b"weights").hexdigest()
    manifest = manifest_of_digests("m", {"w.bin": (digest, 7)})
    return payload_of(sign_manifest(manifest, signer.key_id, signer.private))


def _statement_edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return _set(path, value)


@pytest.mark.parametrize(
    "edit",
    [
        _statement_edit("subject.0.digest.sha256", "00" * 32),
        _statement_edit("subject", []),
        _statement_edit("predicateType", "https://model_signing/Digests/v0.1"),
        _statement_edit("_type", "https://in-toto.io/Statement/v0.1"),
        _statement_edit("predicate.resources.0.name", "../w.bin"),
        _statement_edit("predicate.resources.0.algorithm", "blake3"),
        _statement_edit("predicate.resources.0.digest", "xyz"),
        _statement_edit("predicate.resources.0.size", "7"),
        _statement_edit("predicate.resources", []),
        _statement_edit("predicate.serialization.method", "shards"),
        _statement_edit("predicate.serialization.ignore_paths", ["/abs"]),
        _statement_edit("predicate.serialization", _DELETE),
        lambda s: s["predicate"]["resources"].append(dict(s["predicate"]["resources"][0])),
    ],
)
def test_signed_but_inconsistent_statements_are_malformed(
    signer: Signer, edit: Callable[[dict[str, Any]], None]
) -> None:
    statement = _good_statement(signer)
    verify_bundle(hand_signed(statement, signer), signer.trusted)  # the baseline is fine
    edit(statement)
    bundle = hand_signed(statement, signer)
    assert code_of(lambda: verify_bundle(bundle, signer.trusted)) == "signature.malformed"


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"_type": 1}', b"\xff"])
def test_signed_garbage_payload_is_malformed(signer: Signer, raw: bytes) -> None:
    bundle = hand_signed(None, signer, raw=raw)
    assert code_of(lambda: verify_bundle(bundle, signer.trusted)) == "signature.malformed"


def test_a_model_signing_style_bundle_is_read(signer: Signer) -> None:
    # The shape model-signing 1.1 writes (keys in its order, keyid "", extra ignore paths,
    # no "size"), signed by hand.
    digest = hashlib.sha256(b"abcd").hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {
                "name": "m",
                "digest": {"sha256": hashlib.sha256(bytes.fromhex(digest)).hexdigest()},
            }
        ],
        "predicateType": MODEL_SIGNATURE_PREDICATE,
        "predicate": {
            "resources": [{"algorithm": "sha256", "name": "f", "digest": digest}],
            "serialization": {
                "allow_symlinks": False,
                "method": "files",
                "hash_type": "sha256",
                "ignore_paths": [".git", "model.sig", ".gitignore"],
            },
        },
    }
    bundle = hand_signed(statement, signer)
    bundle["dsseEnvelope"]["signatures"][0]["keyid"] = ""
    manifest = verify_bundle(read_bundle(json.dumps(bundle).encode()), signer.trusted)
    assert manifest.files == (FileDigest("f", digest, -1),)
    assert manifest.ignore_paths == (".git", ".gitignore", "model.sig")


# -- provenance -------------------------------------------------------------------------

COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
DATASET_DIGEST = hashlib.sha256(b"dataset").hexdigest()


def _info(**changes: Any) -> ProvenanceInput:
    base = ProvenanceInput(
        registered_by="alice",
        builder_id="bastion://0123456789abcdef",
        dataset=("support-tickets", 3, DATASET_DIGEST),
        code_revision=COMMIT,
        parameters={"epochs": 3, "lr": 0.001, "dp": {"epsilon": 8.0}},
        started_on=START,
    )
    return replace(base, **changes)


def test_provenance_round_trip(model: Path, signer: Signer) -> None:
    manifest = manifest_of(model)
    statement = provenance_statement(manifest, _info())
    envelope = sign_statement(statement, signer.key_id, signer.private)
    assert set(envelope) == {"payload", "payloadType", "signatures"}
    assert envelope["signatures"][0]["keyid"] == signer.key_id

    stored = json.dumps(envelope).encode()
    got = verify_statement(
        read_envelope(stored), signer.trusted, subject_digest=manifest.root_digest
    )
    assert got == statement
    assert got["_type"] == "https://in-toto.io/Statement/v1"
    assert got["predicateType"] == SLSA_PROVENANCE_PREDICATE == "https://slsa.dev/provenance/v1"
    assert got["subject"] == [{"name": "tiny-llm", "digest": {"sha256": manifest.root_digest}}]
    build = got["predicate"]["buildDefinition"]
    assert build["buildType"] == BUILD_TYPE
    assert build["externalParameters"] == {"epochs": 3, "lr": 0.001, "dp": {"epsilon": 8.0}}
    assert build["internalParameters"] == {"registeredBy": "alice"}
    assert build["resolvedDependencies"] == [
        {"uri": "bastion:dataset/support-tickets@3", "digest": {"sha256": DATASET_DIGEST}},
        {"digest": {"gitCommit": COMMIT}},
    ]
    assert got["predicate"]["runDetails"] == {
        "builder": {"id": "bastion://0123456789abcdef"},
        "metadata": {"startedOn": "2026-03-01T09:00:00Z"},
    }
    # The provenance and the signature name the same model.
    assert got["subject"][0]["digest"] == payload_of(signed(model, signer))["subject"][0]["digest"]


@pytest.mark.parametrize(
    ("revision", "dependency"),
    [
        (COMMIT, {"digest": {"gitCommit": COMMIT}}),
        (COMMIT.upper(), {"digest": {"gitCommit": COMMIT}}),
        (
            f"git+https://git.example.com/ml/train@{COMMIT}",
            {
                "uri": f"git+https://git.example.com/ml/train@{COMMIT}",
                "digest": {"gitCommit": COMMIT},
            },
        ),
        ("https://git.example.com/ml/train@v1.2", {"uri": "https://git.example.com/ml/train@v1.2"}),
        ("abc123", {"uri": "abc123"}),
    ],
)
def test_code_revision_dependency(revision: str, dependency: dict[str, Any]) -> None:
    manifest = manifest_of_digests("m", {"w": ("00" * 32, 0)})
    statement = provenance_statement(manifest, _info(code_revision=revision, dataset=None))
    assert statement["predicate"]["buildDefinition"]["resolvedDependencies"] == [dependency]


def test_provenance_without_dependencies_and_a_local_time() -> None:
    manifest = manifest_of_digests("m", {"w": ("00" * 32, 0)})
    local = datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    statement = provenance_statement(
        manifest, _info(dataset=None, code_revision=None, started_on=local)
    )
    assert statement["predicate"]["buildDefinition"]["resolvedDependencies"] == []
    assert statement["predicate"]["runDetails"]["metadata"]["startedOn"] == "2026-03-01T09:30:00Z"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"started_on": datetime(2026, 3, 1, 9, 0)}, "provenance.naive_time"),
        ({"parameters": {"fn": object()}}, "provenance.bad_parameters"),
        ({"parameters": {"lr": float("nan")}}, "provenance.bad_parameters"),
        ({"dataset": ("d", 1, "not-a-digest")}, "provenance.bad_dataset"),
        ({"dataset": ("d@x", 1, DATASET_DIGEST)}, "provenance.bad_dataset"),
        ({"dataset": ("d", -1, DATASET_DIGEST)}, "provenance.bad_dataset"),
        ({"code_revision": "  "}, "provenance.bad_revision"),
        ({"registered_by": ""}, "provenance.bad_input"),
    ],
)
def test_bad_provenance_input(changes: dict[str, Any], code: str) -> None:
    manifest = manifest_of_digests("m", {"w": ("00" * 32, 0)})
    with pytest.raises(InvalidInput) as info:
        provenance_statement(manifest, _info(**changes))
    assert info.value.code == code


def _signed_provenance(signer: Signer) -> tuple[Manifest, dict[str, Any]]:
    manifest = manifest_of_digests("m", {"w": (hashlib.sha256(b"w").hexdigest(), 1)})
    statement = provenance_statement(manifest, _info())
    return manifest, sign_statement(statement, signer.key_id, signer.private)


def test_tampered_provenance_is_refused(signer: Signer) -> None:
    _, envelope = _signed_provenance(signer)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["buildDefinition"]["externalParameters"]["epochs"] = 300
    forged = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    assert code_of(lambda: verify_statement(forged, signer.trusted)) == "signature.bad_signature"

    flipped = copy.deepcopy(envelope)
    _flip_signature({"dsseEnvelope": flipped})
    assert code_of(lambda: verify_statement(flipped, signer.trusted)) == "signature.bad_signature"


def test_provenance_for_another_model_is_refused(signer: Signer) -> None:
    manifest, envelope = _signed_provenance(signer)
    verify_statement(envelope, signer.trusted, subject_digest=manifest.root_digest.upper())
    with pytest.raises(SignatureInvalid) as info:
        verify_statement(envelope, signer.trusted, subject_digest="00" * 32)
    assert info.value.code == "signature.mismatch"
    assert info.value.details["subjects"] == [manifest.root_digest]


def test_provenance_keys(signer: Signer) -> None:
    _, envelope = _signed_provenance(signer)
    other = Signer()
    assert code_of(lambda: verify_statement(envelope, other.trusted)) == "signature.unknown_key"
    # The keyid picks the key; a different key under that id does not verify.
    assert code_of(lambda: verify_statement(envelope, {signer.key_id: other.public})) == (
        "signature.bad_signature"
    )
    # Co-signed by an untrusted key first: the trusted signature still counts.
    cosigned = sign_statement(
        json.loads(base64.b64decode(envelope["payload"])), other.key_id, other.private
    )
    cosigned["signatures"].extend(envelope["signatures"])
    verify_statement(cosigned, signer.trusted)


def test_a_model_signature_is_not_provenance(model: Path, signer: Signer) -> None:
    envelope = signed(model, signer)["dsseEnvelope"]
    assert code_of(lambda: verify_statement(envelope, signer.trusted)) == "signature.malformed"


@pytest.mark.parametrize("data", [b"", b"[]", b'{"payloadType": "x"}', b"{" * 10])
def test_malformed_provenance_files(data: bytes) -> None:
    with pytest.raises(SignatureInvalid) as info:
        read_envelope(data)
    assert info.value.code == "signature.malformed"


def test_sign_statement_refuses_what_is_not_a_statement(signer: Signer) -> None:
    with pytest.raises(InvalidInput):
        sign_statement({"hello": "world"}, signer.key_id, signer.private)


def test_progress_reports_every_byte(model: Path) -> None:
    seen: dict[str, int] = {}

    def progress(name: str, count: int) -> None:
        seen[name] = seen.get(name, 0) + count

    manifest_of(model, progress=progress)
    assert seen == {name: len(data) for name, data in MODEL_FILES.items() if data}


def test_the_stand_alone_verifier_in_the_format_doc(model: Path, signer: Signer) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "formats" / "model-signature.md").read_text()
    code = doc.split("## Verifying without Bastion", 1)[1].split("```python\n", 1)[1]
    namespace: dict[str, Any] = {}
    exec(code.split("```", 1)[0], namespace)
    write_bundle(model / "model.sig", signed(model, signer))
    statement = namespace["verify_model_sig"](model, signer.public)
    assert statement["subject"][0]["digest"]["sha256"] == manifest_of(model).root_digest
    (model / "weights.bin").write_bytes(b"poisoned")
    with pytest.raises(AssertionError, match="files differ"):
        namespace["verify_model_sig"](model, signer.public)
