"""Cryptography recipes. Everyone calls :func:`seal` / :func:`open_`; nobody builds nonces.

Every sealed blob starts with a version marker naming its algorithm, so the algorithm
can be replaced later without breaking stored data. A failed open raises one opaque
error (:class:`DecryptionFailed`) that reveals nothing about why.
"""

from bastion.crypto.aead import DecryptionFailed, open_, seal
from bastion.crypto.keyring import Keyring, generate_master_key

__all__ = ["DecryptionFailed", "Keyring", "generate_master_key", "open_", "seal"]
