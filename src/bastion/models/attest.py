"""Signing and verifying model files on disk with the workspace's model-signing key.

``sign`` writes ``model.sig`` (in a model folder) or ``<file>.sig`` (beside one file)
in the OpenSSF model-signing layout; ``verify`` checks such a file against the
workspace's key or a PEM public key given by the caller, naming every changed, added
or removed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.context import Context
from bastion.crypto.keyring import Keyring
from bastion.errors import InvalidInput, SignatureInvalid
from bastion.models.signing import (
    Manifest,
    default_signature_path,
    manifest_of,
    read_bundle,
    sign_manifest,
    verify_path,
    write_bundle,
)
from bastion.operation import operation
from bastion.workspace import Workspace


@dataclass(frozen=True)
class Signed:
    """What ``sign`` wrote."""

    path: str
    signature: str
    key_id: str
    files: int
    root_digest: str


def sign(ws: Workspace, ctx: Context, path: Path, *, signature: Path | None = None) -> Signed:
    """Sign every file of the model at ``path`` (a file or a folder)."""
    with operation(
        ws, ctx, "model.sign", permission="model:register", resource=f"path/{path}"
    ) as op:
        out = signature or default_signature_path(path)
        ignore = [out.name] if path.is_dir() and out.parent == path else []
        manifest = manifest_of(path, ignore=ignore)
        key_id, key = ws.keyring.model_signing_key()
        write_bundle(out, sign_manifest(manifest, key_id, key))
        op.details.update(files=len(manifest.files), root_digest=manifest.root_digest, key=key_id)
        return Signed(str(path), str(out), key_id, len(manifest.files), manifest.root_digest)


def public_key_pem(ws: Workspace) -> str:
    """The model-signing public key, PEM, for verifiers outside this workspace."""
    public = ws.keyring.model_signing_key()[1].public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """A trusted-key map from a PEM Ed25519 public key."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM public key: {exc}", code="signature.bad_key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not Ed25519", code="signature.bad_key")
    return {Keyring.signing_key_id(key): key}


def verify(
    path: Path, trusted: dict[str, Ed25519PublicKey], *, signature: Path | None = None
) -> Manifest:
    """Verify the model at ``path`` against its signature file; raises on any difference."""
    sig = signature or default_signature_path(path)
    try:
        data = sig.read_bytes()
    except OSError as exc:
        raise SignatureInvalid(
            f"cannot read signature file {sig}: {exc.strerror}", code="signature.missing"
        ) from exc
    return verify_path(path, read_bundle(data), trusted)


def signing_keys(ws: Workspace, ctx: Context) -> list[dict[str, Any]]:
    """The model-signing keys: the active one, and rotated ones (trusted unless revoked)."""
    with operation(ws, ctx, "model.signing_keys", permission="keyring:manage", resource="keyring"):
        return ws.keyring.model_signing_keys()


def rotate_signing_key(ws: Workspace, ctx: Context) -> tuple[str, str]:
    """Sign from now on with a new key; what the old key signed keeps verifying."""
    with operation(
        ws, ctx, "model.signing_key.rotate", permission="keyring:manage", resource="keyring"
    ) as op:
        old, new = ws.keyring.rotate_model_signing_key(ctx.clock.now().isoformat())
        op.details.update(retired=old, active=new)
        return old, new


def revoke_signing_key(ws: Workspace, ctx: Context, key_id: str) -> None:
    """Stop trusting a rotated key: versions it signed no longer verify (promote, load)."""
    with operation(
        ws, ctx, "model.signing_key.revoke", permission="keyring:manage", resource="keyring"
    ) as op:
        op.details["key"] = key_id
        ws.keyring.revoke_model_signing_key(key_id, ctx.clock.now().isoformat())
