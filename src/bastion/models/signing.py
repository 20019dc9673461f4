"""Model signatures: a manifest of every file, signed with Ed25519 in the OpenSSF layout.

A model (one file or a folder) is described by a :class:`Manifest`: the SHA-256 of every
file, by relative POSIX path. :func:`sign_manifest` turns it into the signature file that
the OpenSSF model-signing project (``model-signing`` 1.x) writes: a Sigstore bundle
(``application/vnd.dev.sigstore.bundle.v0.3+json``) holding a DSSE envelope whose payload
is an in-toto Statement v1 with predicate ``https://model_signing/signature/v1.0``. The
bundle names its key by ``verificationMaterial.publicKey.hint``. The layout is described
byte by byte in ``docs/formats/model-signature.md``.

Verification raises :class:`~bastion.errors.SignatureInvalid`; it never returns a bool:

- ``signature.malformed``: not a bundle we can read (bad JSON, wrong types, wrong media
  or predicate type, a subject digest that does not match the resources, ...);
- ``signature.unknown_key``: the hint names no key in ``trusted``;
- ``signature.bad_signature``: the Ed25519 signature does not verify;
- ``signature.mismatch``: the files differ from the signed manifest; ``details`` lists
  ``changed``, ``added`` and ``removed`` names, and the message names them.

The signature is checked before the signed payload is interpreted, and before any model
file is hashed, so a forged bundle costs nothing to refuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bastion.crypto.files import write_private_atomic
from bastion.crypto.keyring import Keyring
from bastion.errors import InvalidInput, SignatureInvalid

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "IN_TOTO_PAYLOAD_TYPE",
    "MAX_BUNDLE_BYTES",
    "MODEL_SIGNATURE_PREDICATE",
    "SIGNATURE_FILE",
    "STATEMENT_TYPE",
    "FileDigest",
    "Manifest",
    "default_signature_path",
    "dump_bundle",
    "manifest_of",
    "manifest_of_digests",
    "pae",
    "public_key_hint",
    "read_bundle",
    "sign_manifest",
    "verify_bundle",
    "verify_manifest",
    "verify_path",
    "write_bundle",
]

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
MODEL_SIGNATURE_PREDICATE = "https://model_signing/signature/v1.0"
SIGNATURE_FILE = "model.sig"
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024

_HEX64 = re.compile(r"[0-9a-f]{64}")
# Most names a mismatch message lists per kind; ``details`` always has them all.
_MESSAGE_NAMES = 10


@dataclass(frozen=True)
class FileDigest:
    """One file of a model: relative POSIX path, SHA-256 (hex) and size in bytes.

    ``size`` is -1 when a signature made by another tool does not record it.
    """

    name: str
    sha256: str
    size: int


def _path_key(name: str) -> tuple[str, ...]:
    # model-signing sorts resources as PurePosixPath objects, i.e. part by part, which
    # differs from plain string order ("a/b" < "a.txt"). The root digest depends on it.
    return tuple(name.split("/"))


@dataclass(frozen=True)
class Manifest:
    """What a signature covers: the model's name and its files, sorted by path.

    ``ignore_paths`` lists the relative paths that were deliberately left out (always
    ``model.sig`` for a folder); it is signed, so a verifier may skip them too.
    """

    model_name: str
    files: tuple[FileDigest, ...]
    ignore_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = [_path_key(f.name) for f in self.files]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise InvalidInput(
                "manifest files must be unique and sorted by path", code="signature.bad_manifest"
            )

    @property
    def root_digest(self) -> str:
        """SHA-256 (hex) over the raw digests of the files in order, as model-signing defines it."""
        hasher = hashlib.sha256()
        for f in self.files:
            hasher.update(bytes.fromhex(f.sha256))
        return hasher.hexdigest()


# -- building a manifest ----------------------------------------------------------------


def _check_name(name: object) -> str:
    """A relative POSIX path with no empty, '.' or '..' part; ValueError otherwise."""
    if not isinstance(name, str) or not name:
        raise ValueError("a file name must be a non-empty string")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\x00" in name:
        raise ValueError(f"{_show(name)} is not a normalized relative path")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:  # undecodable bytes in a file name (surrogateescape)
        raise ValueError(f"{_show(name)} is not valid UTF-8") from exc
    return name


def _show(name: str) -> str:
    # File names come from whoever made the model: quote any that could forge a line of
    # output (newlines, escape sequences) instead of printing them raw.
    return name if name.isprintable() else json.dumps(name)


def _normalize_ignore(ignore: Sequence[str]) -> tuple[str, ...]:
    out = set()
    for entry in ignore:
        cleaned = entry.rstrip("/") if isinstance(entry, str) else ""
        while cleaned.startswith("./"):
            cleaned = cleaned[2:]
        try:
            if isinstance(entry, str) and entry.startswith("/"):
                raise ValueError("absolute")  # refused, never silently made relative
            out.add(_check_name(cleaned))
        except ValueError as exc:
            raise InvalidInput(
                f"ignore entries must be paths relative to the model: {entry!r}",
                code="signature.bad_ignore",
            ) from exc
    return tuple(sorted(out, key=_path_key))


def _is_ignored(name: str, ignored: Sequence[str]) -> bool:
    return any(name == entry or name.startswith(entry + "/") for entry in ignored)


def _checked(name: str) -> str:
    try:
        return _check_name(name)
    except ValueError as exc:  # e.g. bytes that are not UTF-8: JSON could not carry them
        raise InvalidInput(str(exc), code="signature.bad_name") from exc


def _walk(root: Path, ignored: Sequence[str]) -> Iterator[str]:
    """Relative names of the regular files under ``root``; symlinks and devices refused."""
    pending = [""]
    while pending:
        prefix = pending.pop()
        with os.scandir(root / prefix if prefix else root) as entries:
            for entry in entries:
                name = _checked(prefix + entry.name)
                if _is_ignored(name, ignored):
                    continue
                if entry.is_symlink():
                    raise InvalidInput(
                        f"{_show(name)} is a symbolic link; model signatures refuse links "
                        "because their target can change after signing",
                        code="signature.symlink",
                    )
                if entry.is_dir(follow_symlinks=False):
                    pending.append(name + "/")
                elif entry.is_file(follow_symlinks=False):
                    yield name
                else:
                    raise InvalidInput(
                        f"{_show(name)} is not a regular file or folder",
                        code="signature.special_file",
                    )


def _hash_file(path: Path, name: str, progress: Callable[[str, int], None] | None) -> FileDigest:
    # O_NOFOLLOW and O_NONBLOCK: if the entry was swapped for a link or a FIFO after the
    # walk looked at it, open fails (or returns at once) instead of following or blocking.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise InvalidInput(
                f"{_show(name)} is a symbolic link", code="signature.symlink"
            ) from exc
        raise InvalidInput(
            f"cannot read {_show(name)}: {exc.strerror}", code="signature.unreadable"
        ) from exc
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidInput(
                f"{_show(name)} is not a regular file", code="signature.special_file"
            )
        hasher = hashlib.sha256()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        size = 0
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
            size += count
            if progress is not None:
                progress(name, count)
    return FileDigest(name=name, sha256=hasher.hexdigest(), size=size)


def manifest_of(
    path: Path,
    *,
    model_name: str | None = None,
    ignore: Sequence[str] = (),
    progress: Callable[[str, int], None] | None = None,
) -> Manifest:
    """Hash a model file or folder (recursively), streaming each file in 1 MiB chunks.

    In a folder, ``model.sig`` at the top and every path in ``ignore`` (relative to the
    folder; a folder entry covers everything under it) are left out. A single file is
    named by its basename. Symbolic links and special files are refused with
    :class:`InvalidInput` (``signature.symlink``, ``signature.special_file``).
    ``progress(name, nbytes)`` is called after every chunk, for a progress bar.
    """
    manifest = _scan(Path(path), model_name, ignore, progress)
    if not manifest.files:
        raise InvalidInput(f"{path} holds no file to sign", code="signature.empty")
    return manifest


def _scan(
    root: Path,
    model_name: str | None,
    ignore: Sequence[str],
    progress: Callable[[str, int], None] | None,
) -> Manifest:
    """manifest_of without the emptiness check: a verifier reports missing files instead."""
    try:
        info = root.lstat()
    except FileNotFoundError as exc:
        raise InvalidInput(
            f"no such file or folder: {root}", code="signature.no_such_path"
        ) from exc
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInput(f"{root} is a symbolic link", code="signature.symlink")
    ignored = _normalize_ignore(ignore)
    if stat.S_ISDIR(info.st_mode):
        ignored = tuple(sorted({*ignored, SIGNATURE_FILE}, key=_path_key))
        names = sorted(_walk(root, ignored), key=_path_key)
        files = tuple(_hash_file(root / name, name, progress) for name in names)
    elif stat.S_ISREG(info.st_mode):
        name = _checked(root.name)
        files = () if _is_ignored(name, ignored) else (_hash_file(root, name, progress),)
    else:
        raise InvalidInput(f"{root} is not a regular file or folder", code="signature.special_file")
    if model_name is None:
        # As model-signing does: the last path component, resolved when it is "." or "..".
        model_name = root.name if root.name not in ("", "..") else root.resolve().name
    if not model_name:
        raise InvalidInput("the model needs a name", code="signature.bad_manifest")
    return Manifest(model_name=model_name, files=files, ignore_paths=ignored)


def manifest_of_digests(model_name: str, files: Mapping[str, tuple[str, int]]) -> Manifest:
    """A manifest from digests already known: name -> (sha256 hex, size), e.g. from the registry."""
    if not model_name:
        raise InvalidInput("the model needs a name", code="signature.bad_manifest")
    entries = []
    for name, (digest, size) in files.items():
        try:
            _check_name(name)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="signature.bad_manifest") from exc
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest.lower()):
            raise InvalidInput(
                f"{_show(name)}: not a SHA-256 hex digest", code="signature.bad_manifest"
            )
        if type(size) is not int or size < 0:
            raise InvalidInput(f"{_show(name)}: bad size {size!r}", code="signature.bad_manifest")
        entries.append(FileDigest(name=name, sha256=digest.lower(), size=size))
    if not entries:
        raise InvalidInput("a manifest needs at least one file", code="signature.empty")
    entries.sort(key=lambda f: _path_key(f.name))
    return Manifest(model_name=model_name, files=tuple(entries))


def default_signature_path(path: Path) -> Path:
    """Where a model's signature lives: ``<folder>/model.sig``, or ``<file>.sig`` beside a file."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        return path / SIGNATURE_FILE
    return path.with_name(path.name + ".sig")


# -- DSSE -------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed.

    ``"DSSEv1" SP len(type) SP type SP len(body) SP body``, lengths in bytes, as ASCII
    decimal. Binding the type stops a signature over one kind of payload being replayed
    as another.
    """
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64d(value: object, what: str) -> bytes:
    # DSSE readers must accept standard and URL-safe base64, padded or not.
    if not isinstance(value, str):
        raise _malformed(f"{what} is not a base64 string")
    text = value.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"{what} is not valid base64") from exc


def _malformed(message: str) -> SignatureInvalid:
    return SignatureInvalid(message, code="signature.malformed")


def _statement_bytes(statement: Mapping[str, Any]) -> bytes:
    # Sorted and compact: the same manifest always gives the same payload, and Ed25519 is
    # deterministic, so signing twice gives byte-identical files.
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _dsse_envelope(
    statement: Mapping[str, Any], key_id: str, private_key: Ed25519PrivateKey
) -> dict[str, Any]:
    payload = _statement_bytes(statement)
    sig = private_key.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload))
    return {
        "payload": _b64e(payload),
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "signatures": [{"keyid": key_id, "sig": _b64e(sig)}],
    }


@dataclass(frozen=True)
class _Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid or "", raw signature)


def _parse_envelope(obj: object) -> _Envelope:
    if not isinstance(obj, dict):
        raise _malformed("the DSSE envelope is not a JSON object")
    payload_type = obj.get("payloadType")
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise _malformed(f"payloadType must be {IN_TOTO_PAYLOAD_TYPE!r}")
    payload = _b64d(obj.get("payload"), "payload")
    raw_signatures = obj.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise _malformed("the envelope has no signatures")
    signatures = []
    for entry in raw_signatures:
        if not isinstance(entry, dict):
            raise _malformed("a signature entry is not an object")
        keyid = entry.get("keyid") or ""  # model-signing writes "" or null
        if not isinstance(keyid, str):
            raise _malformed("a signature keyid is not a string")
        signatures.append((keyid, _b64d(entry.get("sig"), "signature")))
    return _Envelope(payload_type, payload, tuple(signatures))


def _check_signature(envelope: _Envelope, sig: bytes, public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(sig, pae(envelope.payload_type, envelope.payload))
    except InvalidSignature as exc:
        raise SignatureInvalid(
            "the signature does not verify: the signed content was altered or signed "
            "by another key",
            code="signature.bad_signature",
        ) from exc


def _load_statement(payload: bytes) -> dict[str, Any]:
    try:
        statement = _strict_json(payload)
    except ValueError as exc:
        raise _malformed(f"the signed payload is not JSON: {exc}") from exc
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise _malformed(f"the signed payload is not an in-toto statement ({STATEMENT_TYPE})")
    return statement


def _strict_json(data: bytes) -> Any:
    """json.loads that refuses duplicate keys and NaN, so two parsers cannot disagree."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key {key!r}")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except UnicodeDecodeError as exc:
        raise ValueError("not UTF-8") from exc
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


# -- the bundle -------------------------------------------------------------------------


def public_key_hint(public_key: Ed25519PublicKey) -> str:
    """The bundle's key hint, as model-signing makes it: SHA-256 hex of the PEM public key."""
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(pem).hexdigest()


def _statement_of(manifest: Manifest) -> dict[str, Any]:
    serialization_args: dict[str, Any] = {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
    }
    if manifest.ignore_paths:
        serialization_args["ignore_paths"] = list(manifest.ignore_paths)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": manifest.model_name, "digest": {"sha256": manifest.root_digest}}],
        "predicateType": MODEL_SIGNATURE_PREDICATE,
        "predicate": {
            "serialization": serialization_args,
            # "size" is a Bastion addition; model-signing reads only the other three.
            "resources": [
                {"name": f.name, "algorithm": "sha256", "digest": f.sha256, "size": f.size}
                for f in manifest.files
            ],
        },
    }


def sign_manifest(
    manifest: Manifest, key_id: str, private_key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Sign a manifest: the Sigstore bundle (a JSON object) to store as ``model.sig``."""
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": public_key_hint(private_key.public_key())},
            "tlogEntries": [],
        },
        "dsseEnvelope": _dsse_envelope(_statement_of(manifest), key_id, private_key),
    }


def dump_bundle(bundle: Mapping[str, Any]) -> bytes:
    """The bytes of a signature file: indented JSON and a final newline."""
    return json.dumps(bundle, indent=2, sort_keys=True).encode() + b"\n"


def write_bundle(path: Path, bundle: Mapping[str, Any]) -> None:
    """Write a signature file atomically (a crash leaves the old file or the new one)."""
    write_private_atomic(Path(path), dump_bundle(bundle))
    os.chmod(path, 0o644)  # a signature is public; only the write recipe is shared with keys


def read_json_object(data: bytes, what: str) -> dict[str, Any]:
    """A size-limited, strictly parsed JSON object (``what`` names it in errors)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _malformed(f"the {what} is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        document = _strict_json(data)
    except ValueError as exc:
        raise _malformed(f"the {what} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise _malformed(f"the {what} is not a JSON object")
    return document


def read_bundle(data: bytes) -> dict[str, Any]:
    """Parse a signature file and check its structure (not yet its signature)."""
    bundle = read_json_object(data, "signature file")
    _parse_bundle(bundle)
    return bundle


def _parse_bundle(bundle: object) -> tuple[str, _Envelope]:
    """The key hint and the envelope of a key-signed bundle; malformed otherwise."""
    if not isinstance(bundle, dict):
        raise _malformed("the signature file is not a JSON object")
    if bundle.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise _malformed(f"mediaType must be {BUNDLE_MEDIA_TYPE!r}")
    material = bundle.get("verificationMaterial")
    public_key = material.get("publicKey") if isinstance(material, dict) else None
    hint = public_key.get("hint") if isinstance(public_key, dict) else None
    if not isinstance(hint, str) or not _HEX64.fullmatch(hint):
        # Certificate and keyless (Fulcio/Rekor) bundles land here: not supported.
        raise _malformed(
            "the bundle does not name its key (verificationMaterial.publicKey.hint must be "
            "64 hex digits); only key-signed bundles are supported"
        )
    envelope = _parse_envelope(bundle.get("dsseEnvelope"))
    if len(envelope.signatures) != 1:
        raise _malformed("a Sigstore bundle carries exactly one signature")
    return hint, envelope


def _resolve_key(
    hint: str, keyid: str, trusted: Mapping[str, Ed25519PublicKey]
) -> Ed25519PublicKey:
    found = None
    for public_key in trusted.values():
        if hmac.compare_digest(public_key_hint(public_key), hint):
            found = public_key
    if found is None:
        raise SignatureInvalid(
            f"the model was signed by a key that is not trusted (hint {hint[:16]}...)",
            code="signature.unknown_key",
            details={"hint": hint, "keyid": keyid},
        )
    # The DSSE keyid is not covered by the signature; it must not contradict the hint.
    if keyid and keyid != Keyring.signing_key_id(found):
        raise _malformed("the envelope's keyid and the bundle's key hint name different keys")
    return found


def _hex_digest(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value.lower()):
        raise _malformed(f"{what} is not a SHA-256 hex digest")
    return value.lower()


def _manifest_from_statement(statement: dict[str, Any]) -> Manifest:
    if statement.get("predicateType") != MODEL_SIGNATURE_PREDICATE:
        raise _malformed(f"predicateType must be {MODEL_SIGNATURE_PREDICATE!r}")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise _malformed("a model signature has exactly one subject")
    model_name = subjects[0].get("name")
    digest = subjects[0].get("digest")
    if not isinstance(model_name, str) or not model_name or not isinstance(digest, dict):
        raise _malformed("the subject needs a name and a digest")
    root = _hex_digest(digest.get("sha256"), "the subject digest")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise _malformed("the predicate is not an object")
    ignore_paths = _serialization_ignore(predicate.get("serialization"))
    resources = predicate.get("resources")
    if not isinstance(resources, list) or not resources:
        raise _malformed("the predicate lists no resources")
    files = []
    for resource in resources:
        if not isinstance(resource, dict):
            raise _malformed("a resource is not an object")
        try:
            name = _check_name(resource.get("name"))
        except ValueError as exc:
            raise _malformed(f"bad resource name: {exc}") from exc
        if resource.get("algorithm") != "sha256":
            raise _malformed(f"{_show(name)}: only sha256 resources are supported")
        size = resource.get("size", -1)
        if type(size) is not int or size < -1:
            raise _malformed(f"{_show(name)}: bad size")
        files.append(FileDigest(name, _hex_digest(resource.get("digest"), _show(name)), size))
    files.sort(key=lambda f: _path_key(f.name))
    if len({f.name for f in files}) != len(files):
        raise _malformed("a resource is listed twice")
    manifest = Manifest(model_name=model_name, files=tuple(files), ignore_paths=ignore_paths)
    if not hmac.compare_digest(manifest.root_digest, root):
        raise _malformed("the subject digest does not match the signed resources")
    return manifest


def _serialization_ignore(args: object) -> tuple[str, ...]:
    if not isinstance(args, dict):
        raise _malformed("the predicate has no serialization")
    if args.get("method") != "files" or args.get("hash_type") != "sha256":
        raise _malformed("only the 'files' serialization with sha256 is supported")
    if not isinstance(args.get("allow_symlinks", False), bool):
        raise _malformed("allow_symlinks is not a boolean")
    ignore = args.get("ignore_paths", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise _malformed("ignore_paths is not a list of strings")
    try:
        return _normalize_ignore(ignore)
    except InvalidInput as exc:
        raise _malformed(exc.message) from exc


def verify_bundle(bundle: dict[str, Any], trusted: Mapping[str, Ed25519PublicKey]) -> Manifest:
    """Check a bundle's signature and return the manifest it signs, without reading any file."""
    hint, envelope = _parse_bundle(bundle)
    keyid, sig = envelope.signatures[0]
    _check_signature(envelope, sig, _resolve_key(hint, keyid, trusted))
    return _manifest_from_statement(_load_statement(envelope.payload))


def _listing(kind: str, names: list[str]) -> str:
    shown = ", ".join(_show(n) for n in names[:_MESSAGE_NAMES])
    more = len(names) - _MESSAGE_NAMES
    return f"{kind} {shown}" + (f" and {more} more" if more > 0 else "")


def _compare(signed: Manifest, actual: Manifest) -> None:
    expected = {f.name: f.sha256 for f in signed.files}
    # Paths the signer declared out of scope are skipped, like model.sig itself.
    found = {f.name: f.sha256 for f in actual.files if not _is_ignored(f.name, signed.ignore_paths)}
    changed = [
        name
        for name in expected
        if name in found and not hmac.compare_digest(expected[name], found[name])
    ]
    added = sorted(found.keys() - expected.keys(), key=_path_key)
    removed = sorted(expected.keys() - found.keys(), key=_path_key)
    if changed or added or removed:
        parts = [
            _listing(kind, names)
            for kind, names in (("changed", changed), ("added", added), ("removed", removed))
            if names
        ]
        raise SignatureInvalid(
            "model files do not match the signed manifest: " + "; ".join(parts),
            code="signature.mismatch",
            details={"changed": changed, "added": added, "removed": removed},
        )


def verify_manifest(
    bundle: dict[str, Any], actual: Manifest, trusted: Mapping[str, Ed25519PublicKey]
) -> Manifest:
    """Check the signature, then that ``actual`` has exactly the signed files; return those."""
    signed = verify_bundle(bundle, trusted)
    _compare(signed, actual)
    return signed


def verify_path(
    path: Path, bundle: dict[str, Any], trusted: Mapping[str, Ed25519PublicKey]
) -> Manifest:
    """Verify a model file or folder on disk against its bundle; return the signed manifest.

    The signature is checked first; only then are the files hashed, skipping the paths
    the signer listed in ``ignore_paths``.
    """
    signed = verify_bundle(bundle, trusted)
    actual = _scan(Path(path), signed.model_name, signed.ignore_paths, None)
    _compare(signed, actual)
    return signed
