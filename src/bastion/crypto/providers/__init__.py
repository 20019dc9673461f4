"""Key providers: where the vault's key-encryption keys live.

Built-ins are ``local`` (the sealed keyring, default) and ``pkcs11`` (an HSM or
SoftHSM2 token). A third party adds one (HashiCorp Vault transit, a cloud KMS) through
the ``bastion.key_providers`` entry-point group; it is registered exactly like these.
"""

from bastion.crypto.providers.base import KeyProvider, make_provider, provider_names

__all__ = ["KeyProvider", "make_provider", "provider_names"]
