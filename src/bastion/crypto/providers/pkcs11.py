"""A key provider backed by a PKCS#11 token (a hardware security module, or SoftHSM2).

KEKs are AES-256 keys generated inside the token as sensitive, non-extractable objects
labelled ``bastion-kek-<workspace id>-v<N>`` (so several workspaces can share a token);
data keys are wrapped and unwrapped with AES-GCM by the token itself, so KEK material
never enters this process. The token PIN comes only from ``BASTION_PKCS11_PIN``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.mechanisms import GCMParams

from bastion.crypto import wrapping
from bastion.crypto.wrapping import WrapAlgorithm
from bastion.errors import EncryptedObjectError, InvalidInput, KeyringError

if TYPE_CHECKING:
    from bastion.config import Secret, Settings
    from bastion.crypto.keyring import Keyring

_PREFIX = wrapping.header(WrapAlgorithm.PKCS11_AES_GCM)


def _hsm_error(action: str, exc: Exception) -> KeyringError:
    # The exception class names the PKCS#11 return code (e.g. PinIncorrect); no secrets.
    return KeyringError(
        f"PKCS#11 token refused to {action}: {type(exc).__name__}",
        code="keyring.hsm_error",
        hint="Check BASTION_PKCS11_MODULE, the token label and BASTION_PKCS11_PIN.",
    )


class _SharedSession:
    """One logged-in session per (module, token) per process, shared by reference count.

    PKCS#11 login state belongs to the whole process: a second ``C_Login`` fails with
    ``CKR_USER_ALREADY_LOGGED_IN``. Providers for several workspaces on one token (or an
    old and a new provider during a migration) therefore share one session. A later
    opener must present the same PIN, compared in constant time against a digest.
    """

    _open: ClassVar[dict[tuple[str, str], _SharedSession]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, key: tuple[str, str], session: Any, pin_digest: bytes):
        self.key = key
        self.session = session
        self.pin_digest = pin_digest
        self.lock = threading.Lock()
        self.refs = 0

    @classmethod
    def acquire(cls, module: str, token_label: str, pin: Secret) -> _SharedSession:
        key = (module, token_label)
        digest = hashlib.sha256(pin.reveal().encode("utf-8")).digest()
        with cls._registry_lock:
            shared = cls._open.get(key)
            if shared is None:
                try:
                    token = pkcs11.lib(module).get_token(token_label=token_label)
                    session = token.open(user_pin=pin.reveal(), rw=True)
                except (PKCS11Error, RuntimeError, OSError) as exc:
                    raise _hsm_error("open a session", exc) from exc
                shared = cls(key, session, digest)
                cls._open[key] = shared
            elif not hmac.compare_digest(shared.pin_digest, digest):
                raise KeyringError(
                    "PKCS#11 token refused to open a session: PinIncorrect",
                    code="keyring.hsm_error",
                    hint="Check BASTION_PKCS11_PIN.",
                )
            shared.refs += 1
            return shared

    def release(self) -> None:
        with self._registry_lock:
            self.refs -= 1
            if self.refs == 0:
                del self._open[self.key]
                with self.lock, contextlib.suppress(PKCS11Error):
                    self.session.close()


class Pkcs11KeyProvider:
    """AES-256-GCM KEKs inside a PKCS#11 token."""

    name = "pkcs11"
    algorithms = frozenset({"aes-256-gcm"})

    def __init__(self, module: str, token_label: str, pin: Secret, *, namespace: str):
        self._namespace = namespace
        self._shared = _SharedSession.acquire(module, token_label, pin)
        self._session: Any = self._shared.session
        # A PKCS#11 session must not be used from two threads at once.
        self._lock = self._shared.lock
        self._closed = False

    def label_for(self, version: int) -> str:
        """Label of KEK ``version`` inside the token."""
        return f"bastion-kek-{self._namespace}-v{version}"

    @classmethod
    def from_settings(cls, settings: Settings, keyring: Keyring) -> Pkcs11KeyProvider:
        """Build from ``[pkcs11]`` settings; every part is required."""
        if not settings.pkcs11_module or not settings.pkcs11_token or not settings.pkcs11_pin:
            raise InvalidInput(
                "the pkcs11 key provider needs a module, a token label and a PIN",
                code="keyring.pkcs11_unconfigured",
                hint="Set BASTION_PKCS11_MODULE, BASTION_PKCS11_TOKEN and BASTION_PKCS11_PIN.",
            )
        return cls(
            settings.pkcs11_module,
            settings.pkcs11_token,
            settings.pkcs11_pin,
            namespace=keyring.workspace_id(),
        )

    def _objects(self, version: int) -> list[Any]:
        return list(
            self._session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: self.label_for(version)}
            )
        )

    def _key(self, version: int) -> Any:
        found = self._objects(version)
        if len(found) != 1:
            raise KeyringError(
                f"token holds {len(found)} keys labelled {self.label_for(version)}",
                code="keyring.version_missing",
            )
        return found[0]

    def create_version(self, version: int, algorithm: str) -> None:
        """Generate a non-extractable AES-256 key in the token."""
        if algorithm not in self.algorithms:
            raise InvalidInput(
                f"the pkcs11 provider cannot make {algorithm!r} keys",
                code="keyring.unknown_algorithm",
                hint="Use aes-256-gcm.",
            )
        with self._lock:
            try:
                self._destroy_locked(version)
                self._session.generate_key(
                    KeyType.AES,
                    256,
                    label=self.label_for(version),
                    store=True,
                    template={
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.ENCRYPT: True,
                        Attribute.DECRYPT: True,
                    },
                )
            except PKCS11Error as exc:
                raise _hsm_error("generate a key", exc) from exc

    def wrap(self, version: int, dek: bytes, aad: bytes) -> bytes:
        """AES-GCM inside the token."""
        nonce = secrets.token_bytes(wrapping.NONCE_LEN)
        with self._lock:
            key = self._key(version)
            try:
                sealed = key.encrypt(
                    dek,
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(nonce, _PREFIX + aad),
                )
            except PKCS11Error as exc:
                raise _hsm_error("wrap a data key", exc) from exc
        return bytes(_PREFIX + nonce + sealed)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """Inverse of :meth:`wrap`."""
        payload = wrapping.split(wrapped, WrapAlgorithm.PKCS11_AES_GCM)
        nonce, sealed = payload[: wrapping.NONCE_LEN], payload[wrapping.NONCE_LEN :]
        with self._lock:
            key = self._key(version)
            try:
                dek = key.decrypt(
                    sealed,
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(nonce, _PREFIX + aad),
                )
            except PKCS11Error:
                raise EncryptedObjectError(
                    "the data key does not unwrap under the token's KEK", code="vault.wrong_key"
                ) from None
        return bytes(dek)

    def _destroy_locked(self, version: int) -> None:
        for obj in self._objects(version):
            obj.destroy()

    def destroy_version(self, version: int) -> None:
        """Destroy the token object."""
        with self._lock:
            try:
                self._destroy_locked(version)
            except PKCS11Error as exc:
                raise _hsm_error("destroy a key", exc) from exc

    def close(self) -> None:
        """Release this provider's share of the token session."""
        if not self._closed:
            self._closed = True
            self._shared.release()
