"""The sealed local keyring: every key Bastion holds, encrypted under one master secret.

File ``.bastion/keyring.json`` (mode 0600)::

    {"format": "bastion-keyring", "version": 1,
     "kdf": {"alg": "hkdf-sha256" | "argon2id", "salt": "<b64>", ...params},
     "aead": "aes-256-gcm", "sealed": "<b64 of seal() output>"}

The key-encryption key comes from either a 256-bit master key (``BASTION_MASTER_KEY``,
base64url; HKDF-SHA256 is enough for a random key) or a passphrase (``BASTION_PASSPHRASE``;
Argon2id, memory-hard, 64 MiB). The header is the associated data of the seal, so
editing KDF parameters is detected like any other tampering. A wrong secret raises
:class:`WrongMasterKey` and touches nothing.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastion.config import Secret
from bastion.crypto.aead import DecryptionFailed, open_, seal
from bastion.crypto.files import write_private_atomic
from bastion.errors import InvalidInput, KeyringError, WrongMasterKey

FORMAT = "bastion-keyring"
VERSION = 1
ARGON2_MEMORY_KIB = 65536
ARGON2_ITERATIONS = 3
ARGON2_LANES = 4

MODEL_SIGNING = "model-signing"
# Public halves of rotated model-signing keys: still trusted for what they signed, unless revoked.
MODEL_SIGNING_RETIRED = "model-signing-retired"
AUDIT_SIGNING = "audit-signing"
SECRETS_KEY = "secrets"
API_KEY_PEPPER = "api-key-pepper"
# HMAC key for keyed pseudonymization of sensitive values (same value, same token).
PSEUDONYMIZATION = "pseudonymization"
# Key-encryption keys of the vault's local key provider, by version number (as a string).
VAULT_KEKS = "vault-keks"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    # validate=True: a character outside the alphabet is an error, never silently dropped.
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def generate_master_key() -> str:
    """A fresh 256-bit master key, base64url without padding (43 characters)."""
    return _b64e(secrets.token_bytes(32))


def _parse_master_key(master_key: Secret) -> bytes:
    try:
        raw = _b64d(master_key.reveal().strip())
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(
            "BASTION_MASTER_KEY is not base64url", code="keyring.bad_master_key"
        ) from exc
    if len(raw) != 32:
        raise InvalidInput(
            "BASTION_MASTER_KEY must encode exactly 32 bytes",
            code="keyring.bad_master_key",
            hint="Use the key printed by 'bastion init', or a passphrase via BASTION_PASSPHRASE.",
        )
    return raw


@dataclass(frozen=True)
class MasterSecret:
    """Either a raw master key or a passphrase; exactly one is set."""

    master_key: Secret | None = None
    passphrase: Secret | None = None

    def __post_init__(self) -> None:
        if (self.master_key is None) == (self.passphrase is None):
            raise InvalidInput(
                "give exactly one of a master key or a passphrase",
                code="keyring.no_master_secret",
                hint="Set BASTION_MASTER_KEY or BASTION_PASSPHRASE.",
            )


def _new_kdf_header(secret: MasterSecret) -> dict[str, Any]:
    salt = _b64e(secrets.token_bytes(16))
    if secret.master_key is not None:
        return {"alg": "hkdf-sha256", "salt": salt}
    return {
        "alg": "argon2id",
        "salt": salt,
        "memory_kib": ARGON2_MEMORY_KIB,
        "iterations": ARGON2_ITERATIONS,
        "lanes": ARGON2_LANES,
    }


# Bounds on KDF parameters read from the file: it is untrusted until it decrypts, and an
# edited file must not make Bastion allocate gigabytes or spin for minutes.
ARGON2_LIMITS = {"memory_kib": (8 * 1024, 4 * 1024 * 1024), "iterations": (1, 64), "lanes": (1, 64)}


def _argon2_params(kdf: dict[str, Any]) -> dict[str, int]:
    params: dict[str, int] = {}
    for name, (low, high) in ARGON2_LIMITS.items():
        value = kdf.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise KeyringError(
                f"keyring KDF parameter {name}={value!r} is outside [{low}, {high}]",
                code="keyring.corrupt",
            )
        params[name] = value
    return params


def _derive_kek(kdf: object, secret: MasterSecret) -> bytes:
    if not isinstance(kdf, dict):
        raise KeyringError("keyring KDF header is malformed", code="keyring.corrupt")
    alg = kdf.get("alg")
    try:
        salt = _b64d(str(kdf.get("salt", "")))
    except ValueError as exc:
        raise KeyringError("keyring salt is malformed", code="keyring.corrupt") from exc
    if len(salt) < 16:
        raise KeyringError("keyring salt is too short", code="keyring.corrupt")
    if alg == "hkdf-sha256":
        if secret.master_key is None:
            raise WrongMasterKey("this keyring is sealed with a master key, not a passphrase")
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=salt, info=b"bastion keyring v1"
        ).derive(_parse_master_key(secret.master_key))
    if alg == "argon2id":
        if secret.passphrase is None:
            raise WrongMasterKey("this keyring is sealed with a passphrase, not a master key")
        params = _argon2_params(kdf)
        return Argon2id(
            salt=salt,
            length=32,
            iterations=params["iterations"],
            lanes=params["lanes"],
            memory_cost=params["memory_kib"],
        ).derive(secret.passphrase.reveal().encode("utf-8"))
    raise KeyringError(f"unknown keyring KDF {alg!r}", code="keyring.unknown_algorithm")


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


class Keyring:
    """Opened keyring: hands out keys by purpose; never exposes the master secret."""

    def __init__(self, path: Path, header: dict[str, Any], kek: bytes, keys: dict[str, Any]):
        self._path = path
        self._header = header
        self._kek = kek
        self._keys = keys

    def __repr__(self) -> str:
        return f"Keyring({self._path}, keys={sorted(self._keys)})"

    # -- lifecycle -----------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, secret: MasterSecret) -> Keyring:
        """Create a new keyring file with fresh keys; refuses to overwrite one."""
        if path.exists():
            raise KeyringError(f"{path} already exists", code="keyring.exists")
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "kdf": _new_kdf_header(secret),
            "aead": "aes-256-gcm",
        }
        signing = Ed25519PrivateKey.generate()
        raw_private = signing.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        keys: dict[str, Any] = {
            AUDIT_SIGNING: {"type": "ed25519", "version": 1, "key": _b64e(raw_private)},
            SECRETS_KEY: {
                "type": "aes-256-gcm",
                "version": 1,
                "key": _b64e(secrets.token_bytes(32)),
            },
            API_KEY_PEPPER: {
                "type": "hmac-sha256",
                "version": 1,
                "key": _b64e(secrets.token_bytes(32)),
            },
        }
        keyring = cls(path, header, _derive_kek(header["kdf"], secret), keys)
        keyring._save()
        return keyring

    @classmethod
    def open(cls, path: Path, secret: MasterSecret) -> Keyring:
        """Open an existing keyring; a wrong secret raises :class:`WrongMasterKey`."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KeyringError(f"no keyring at {path}", code="keyring.missing") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise KeyringError(f"{path} is not a keyring", code="keyring.corrupt") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise KeyringError(f"{path} is not a keyring", code="keyring.corrupt")
        if document.get("version") != VERSION or document.get("aead") != "aes-256-gcm":
            raise KeyringError(
                f"keyring version {document.get('version')!r} is not supported",
                code="keyring.unknown_algorithm",
            )
        header = {k: document.get(k) for k in ("format", "version", "kdf", "aead")}
        kek = _derive_kek(header["kdf"], secret)
        try:
            sealed = _b64d(str(document.get("sealed", "")))
        except ValueError as exc:
            raise KeyringError(f"{path} is not a keyring", code="keyring.corrupt") from exc
        try:
            plaintext = open_(kek, sealed, _aad(header))
        except DecryptionFailed as exc:
            raise WrongMasterKey("the master key or passphrase does not open this keyring") from exc
        keys = json.loads(plaintext)
        return cls(path, header, kek, keys)

    def _reload_locked(self) -> None:
        # Another process (a rotation elsewhere) may have changed the file since we opened it.
        document = json.loads(self._path.read_text(encoding="utf-8"))
        header = {k: document.get(k) for k in ("format", "version", "kdf", "aead")}
        if header != self._header:
            raise KeyringError("the keyring file was replaced", code="keyring.changed")
        try:
            self._keys = json.loads(open_(self._kek, _b64d(str(document["sealed"])), _aad(header)))
        except (DecryptionFailed, KeyError, ValueError) as exc:
            raise KeyringError(f"{self._path} is damaged", code="keyring.corrupt") from exc

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        """Hold the keyring's lock (shared or exclusive), with the file freshly re-read."""
        lock_path = self._path.with_name(self._path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode)
            self._reload_locked()
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _update(self, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Read-modify-write under an exclusive lock, so concurrent rotations never lose keys."""
        with self._locked(fcntl.LOCK_EX):
            keys = json.loads(json.dumps(self._keys))
            mutate(keys)
            self._keys = keys
            self._save()

    def rekey(self, secret: MasterSecret) -> None:
        """Re-seal every key under a new master key or passphrase (new salt, new KEK).

        The keys themselves do not change, so nothing else needs re-encrypting; the old
        secret stops opening this file at once (older copies of the file still open with
        it). Other processes that hold the file open get ``keyring.changed`` on their next
        key change and must be restarted with the new secret.
        """
        with self._locked(fcntl.LOCK_EX):
            header: dict[str, Any] = {
                "format": FORMAT,
                "version": VERSION,
                "kdf": _new_kdf_header(secret),
                "aead": "aes-256-gcm",
            }
            self._kek = _derive_kek(header["kdf"], secret)
            self._header = header
            self._save()

    @property
    def kdf_algorithm(self) -> str:
        """``hkdf-sha256`` (master key) or ``argon2id`` (passphrase)."""
        return str(self._header["kdf"]["alg"])

    def _save(self) -> None:
        plaintext = json.dumps(self._keys, sort_keys=True).encode()
        document = dict(self._header)
        document["sealed"] = _b64e(seal(self._kek, plaintext, _aad(self._header)))
        write_private_atomic(self._path, json.dumps(document, indent=2).encode())

    # -- keys by purpose -----------------------------------------------------------

    def _entry(self, purpose: str) -> dict[str, Any]:
        try:
            entry: dict[str, Any] = self._keys[purpose]
        except KeyError as exc:
            raise KeyringError(f"keyring has no {purpose!r} key", code="keyring.no_key") from exc
        return entry

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The audit checkpoint signing key and its id."""
        entry = self._entry(AUDIT_SIGNING)
        key = Ed25519PrivateKey.from_private_bytes(_b64d(entry["key"]))
        return self.signing_key_id(key.public_key()), key

    def model_signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The model-signing key (kept apart from the audit key) and its id; made on first use."""
        if MODEL_SIGNING not in self._keys:

            def mutate(keys: dict[str, Any]) -> None:
                if MODEL_SIGNING not in keys:  # another process may have made it meanwhile
                    raw = Ed25519PrivateKey.generate().private_bytes(
                        serialization.Encoding.Raw,
                        serialization.PrivateFormat.Raw,
                        serialization.NoEncryption(),
                    )
                    keys[MODEL_SIGNING] = {"type": "ed25519", "version": 1, "key": _b64e(raw)}

            self._update(mutate)
        key = Ed25519PrivateKey.from_private_bytes(_b64d(self._entry(MODEL_SIGNING)["key"]))
        return self.signing_key_id(key.public_key()), key

    def rotate_model_signing_key(self, retired_at: str) -> tuple[str, str]:
        """Make a new model-signing key; the old one's public half stays trusted.

        Returns ``(old id, new id)``. Signatures made with the old key keep verifying
        until it is revoked; new signatures use the new key.
        """
        old_id, old = self.model_signing_key()
        new = Ed25519PrivateKey.generate()
        old_public = old.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

        def mutate(keys: dict[str, Any]) -> None:
            entry = keys[MODEL_SIGNING]
            retired = keys.setdefault(MODEL_SIGNING_RETIRED, {"type": "ed25519-public", "keys": []})
            retired["keys"].append(
                {"public": _b64e(old_public), "version": entry["version"], "retired_at": retired_at}
            )
            raw = new.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            keys[MODEL_SIGNING] = {
                "type": "ed25519",
                "version": entry["version"] + 1,
                "key": _b64e(raw),
            }

        self._update(mutate)
        return old_id, self.signing_key_id(new.public_key())

    def revoke_model_signing_key(self, key_id: str, revoked_at: str) -> None:
        """Stop trusting a rotated model-signing key (the active key cannot be revoked)."""
        if key_id == self.model_signing_key()[0]:
            raise KeyringError(
                "the active model-signing key cannot be revoked; rotate first",
                code="keyring.key_active",
            )

        def mutate(keys: dict[str, Any]) -> None:
            for item in keys.get(MODEL_SIGNING_RETIRED, {}).get("keys", []):
                public = Ed25519PublicKey.from_public_bytes(_b64d(item["public"]))
                if self.signing_key_id(public) == key_id:
                    item["revoked_at"] = revoked_at
                    return
            raise KeyringError(f"no retired model-signing key {key_id}", code="keyring.no_key")

        self._update(mutate)

    def model_signing_keys(self) -> list[dict[str, Any]]:
        """Every model-signing key: id, version, state (active, retired, revoked), times."""
        active_id, _ = self.model_signing_key()
        listing = [
            {"id": active_id, "version": self._entry(MODEL_SIGNING)["version"], "state": "active"}
        ]
        for item in self._keys.get(MODEL_SIGNING_RETIRED, {}).get("keys", []):
            public = Ed25519PublicKey.from_public_bytes(_b64d(item["public"]))
            listing.append(
                {
                    "id": self.signing_key_id(public),
                    "version": item["version"],
                    "state": "revoked" if "revoked_at" in item else "retired",
                    "retired_at": item["retired_at"],
                    "revoked_at": item.get("revoked_at"),
                }
            )
        return listing

    def trusted_model_signing_keys(self) -> dict[str, Ed25519PublicKey]:
        """Public keys whose model signatures verify: the active key and unrevoked retired ones."""
        active_id, active = self.model_signing_key()
        trusted = {active_id: active.public_key()}
        for item in self._keys.get(MODEL_SIGNING_RETIRED, {}).get("keys", []):
            if "revoked_at" not in item:
                public = Ed25519PublicKey.from_public_bytes(_b64d(item["public"]))
                trusted[self.signing_key_id(public)] = public
        return trusted

    @staticmethod
    def signing_key_id(public: Ed25519PublicKey) -> str:
        """Stable id of a public key: first 16 bytes of SHA-256 of its raw form, hex."""
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]

    def workspace_id(self) -> str:
        """A stable, public identifier of this workspace (from its audit signing key)."""
        _, key = self.signing_key()
        return self.signing_key_id(key.public_key()).removeprefix("ed25519:")[:16]

    def seal_secret(self, plaintext: bytes, purpose: str) -> bytes:
        """Encrypt a small secret (e.g. a TOTP seed) for storage in the database."""
        return seal(_b64d(self._entry(SECRETS_KEY)["key"]), plaintext, purpose.encode())

    def open_secret(self, blob: bytes, purpose: str) -> bytes:
        """Decrypt what :meth:`seal_secret` produced for the same purpose."""
        return open_(_b64d(self._entry(SECRETS_KEY)["key"]), blob, purpose.encode())

    def keyed_hash(self, data: bytes) -> str:
        """HMAC-SHA256 with the credential pepper, hex: how API keys and sessions are stored."""
        pepper = _b64d(self._entry(API_KEY_PEPPER)["key"])
        return hmac.new(pepper, data, hashlib.sha256).hexdigest()

    def pseudonymize(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under the workspace's pseudonymization key (made on first use).

        Kept apart from the credential pepper: handing pseudonymized data to a partner must
        never help anyone test guesses against stored API keys.
        """
        if PSEUDONYMIZATION not in self._keys:

            def mutate(keys: dict[str, Any]) -> None:
                if PSEUDONYMIZATION not in keys:
                    keys[PSEUDONYMIZATION] = {
                        "type": "hmac-sha256",
                        "version": 1,
                        "key": _b64e(secrets.token_bytes(32)),
                    }

            self._update(mutate)
        key = _b64d(self._entry(PSEUDONYMIZATION)["key"])
        return hmac.new(key, data, hashlib.sha256).digest()

    # -- vault key-encryption keys (local key provider) ----------------------------

    def vault_kek(self, version: int) -> dict[str, Any] | None:
        """The stored KEK entry for ``version``, or None when it was never made or destroyed."""
        entry = self._keys.get(VAULT_KEKS, {}).get(str(version))
        if entry is None:
            # Made by another process after we opened the file (e.g. a rotation).
            with self._locked(fcntl.LOCK_SH):
                entry = self._keys.get(VAULT_KEKS, {}).get(str(version))
        return dict(entry) if entry is not None else None

    def store_vault_kek(self, version: int, entry: dict[str, Any]) -> None:
        """Seal a new KEK version into the keyring (replacing an orphan of a crashed run)."""

        def mutate(keys: dict[str, Any]) -> None:
            keys.setdefault(VAULT_KEKS, {})[str(version)] = entry

        self._update(mutate)

    def destroy_vault_kek(self, version: int) -> None:
        """Erase a KEK version from the keyring file for good."""

        def mutate(keys: dict[str, Any]) -> None:
            keys.get(VAULT_KEKS, {}).pop(str(version), None)

        self._update(mutate)


def encode_key(raw: bytes) -> str:
    """Key bytes as stored in the keyring (base64url, no padding)."""
    return _b64e(raw)


def decode_key(text: str) -> bytes:
    """Inverse of :func:`encode_key`."""
    return _b64d(text)
