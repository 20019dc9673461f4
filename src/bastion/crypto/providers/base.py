"""The KeyProvider protocol and its registry."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol

from bastion.errors import InvalidInput

if TYPE_CHECKING:
    from bastion.config import Settings
    from bastion.crypto.keyring import Keyring

ENTRY_POINT_GROUP = "bastion.key_providers"


class KeyProvider(Protocol):
    """Holds versioned key-encryption keys and wraps data keys with them.

    Version numbers and their lifecycle (active, enabled, retired, destroyed) are kept
    by Bastion in the database; a provider only holds key material, and never hands a
    KEK out. ``wrap`` and ``unwrap`` take associated data that the provider must bind.
    """

    name: str
    algorithms: frozenset[str]

    def create_version(self, version: int, algorithm: str) -> None:
        """Make key material for ``version`` (replacing any orphan left by a crash)."""
        ...

    def wrap(self, version: int, dek: bytes, aad: bytes) -> bytes:
        """Wrap a 32-byte data key under KEK ``version``."""
        ...

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """Unwrap; raises ``vault.wrong_key`` when it does not authenticate."""
        ...

    def destroy_version(self, version: int) -> None:
        """Erase the key material of ``version`` for good."""
        ...

    def close(self) -> None:
        """Release sessions or handles."""
        ...


ProviderFactory = Callable[["Settings", "Keyring"], KeyProvider]


def _local(settings: Settings, keyring: Keyring) -> KeyProvider:
    from bastion.crypto.providers.local import LocalKeyProvider

    return LocalKeyProvider(keyring)


def _pkcs11(settings: Settings, keyring: Keyring) -> KeyProvider:
    from bastion.crypto.providers.pkcs11 import Pkcs11KeyProvider

    return Pkcs11KeyProvider.from_settings(settings, keyring)


BUILTIN: dict[str, ProviderFactory] = {"local": _local, "pkcs11": _pkcs11}


def _plugins() -> dict[str, EntryPoint]:
    # Entry points are listed, not imported: only the provider actually named is loaded.
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


def provider_names() -> list[str]:
    """Every registered provider name."""
    return sorted({*BUILTIN, *_plugins()})


def make_provider(settings: Settings, keyring: Keyring) -> KeyProvider:
    """Build the provider named by ``settings.key_provider``."""
    factory = BUILTIN.get(settings.key_provider)
    if factory is None:
        plugin = _plugins().get(settings.key_provider)
        if plugin is not None:
            factory = plugin.load()
    if factory is None:
        raise InvalidInput(
            f"unknown key provider {settings.key_provider!r}",
            code="keyring.unknown_provider",
            hint=f"Use one of: {', '.join(provider_names())}.",
        )
    return factory(settings, keyring)
