"""``bastion keyring``: key-encryption-key versions (not API keys: see ``bastion key``)."""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.cli import output
from bastion.cli.parsing import stdin_line
from bastion.cli.runtime import acting
from bastion.config import Secret

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

keyring_app = typer.Typer(
    help="Key-encryption keys of the vault: list, rotate, retire.", no_args_is_help=True
)


@keyring_app.command("list")
def keyring_list(as_json: JsonFlag = False) -> None:
    """KEK versions, their state and how many data keys each still wraps."""
    # Services are imported inside commands, not at module level: they load SQLAlchemy
    # and cryptography, which would slow down the start of every command.
    from bastion.vault import keys

    with acting() as (ws, ctx):
        versions = keys.list_versions(ws, ctx)
    if as_json:
        output.print_json(versions)
        return
    output.print_table(
        "Key-encryption keys",
        [
            "provider",
            "version",
            "algorithm",
            "state",
            "data keys",
            "created",
            "by",
            "retired",
            "destroyed",
        ],
        [
            (
                v.provider,
                v.version,
                v.algorithm,
                v.state,
                v.data_keys,
                v.created_at,
                v.created_by,
                v.retired_at,
                v.destroyed_at,
            )
            for v in versions
        ],
    )


@keyring_app.command("rotate")
def keyring_rotate(
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", help="aes-256-gcm or x25519-mlkem768 (hybrid post-quantum)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish an interrupted rotation; no new version.")
    ] = False,
    # bastion.vault.keys.DEFAULT_BATCH, written out so that the vault (SQLAlchemy) is not
    # imported at startup; tests/cli/test_startup.py checks that the two agree.
    batch_size: Annotated[int, typer.Option("--batch-size", help="Data keys per commit.")] = 256,
    as_json: JsonFlag = False,
) -> None:
    """Make a new KEK version and re-wrap every data key under it (data is not re-encrypted)."""
    from bastion.vault import keys

    with acting() as (ws, ctx):
        if resume:
            result = keys.resume_rotation(ws, ctx, batch_size=batch_size)
        else:
            result = keys.rotate(ws, ctx, algorithm=algorithm, batch_size=batch_size)
    if as_json:
        output.print_json(result)
        return
    output.say(
        f"Active KEK: {result.provider} v{result.version} ({result.algorithm}); "
        f"re-wrapped {result.rewrapped} data key(s)."
    )


@keyring_app.command("retire")
def keyring_retire(
    version: int,
    destroy: Annotated[
        bool, typer.Option("--destroy", help="Also erase the key material for good.")
    ] = False,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="Provider of the version (default: the configured one)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Retire a KEK version no data key uses any more (optionally destroying it)."""
    from bastion.vault import keys

    with acting() as (ws, ctx):
        info = keys.retire(ws, ctx, version, destroy=destroy, provider_name=provider)
    if as_json:
        output.print_json(info)
        return
    output.say(f"KEK {info.provider} v{info.version} is now {info.state}.")


@keyring_app.command("rekey")
def keyring_rekey(
    passphrase_stdin: Annotated[
        bool,
        typer.Option("--passphrase-stdin", help="Seal with a new passphrase read from stdin."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Re-seal the keyring under a new master key (printed once) or a new passphrase."""
    from bastion.crypto.keyring import MasterSecret, generate_master_key
    from bastion.vault import keys

    if passphrase_stdin:
        secret = MasterSecret(passphrase=Secret(stdin_line("passphrase")))
        new_key: Secret | None = None
    else:
        new_key = Secret(generate_master_key())
        secret = MasterSecret(master_key=new_key)
    with acting() as (ws, ctx):
        kdf = keys.rekey_master(ws, ctx, secret)
    if as_json:
        doc: dict[str, object] = {"kdf": kdf}
        if new_key is not None:
            doc["master_key"] = new_key.reveal()
        output.print_json(doc)
        return
    output.say(f"Keyring re-sealed ({kdf}); the previous master secret no longer opens it.")
    if new_key is not None:
        output.say("New master key (shown once; store it, then export it):")
        output.say(f"  export BASTION_MASTER_KEY={new_key.reveal()}")
    else:
        output.say("Set BASTION_PASSPHRASE to the new passphrase and unset BASTION_MASTER_KEY.")


@keyring_app.command("model-keys")
def keyring_model_keys(as_json: JsonFlag = False) -> None:
    """Model-signing keys: the active one and rotated ones (trusted unless revoked)."""
    from bastion.models import attest

    with acting() as (ws, ctx):
        items = attest.signing_keys(ws, ctx)
    if as_json:
        output.print_json(items)
        return
    output.print_table(
        "Model-signing keys",
        ["id", "version", "state", "retired", "revoked"],
        [
            (i["id"], i["version"], i["state"], i.get("retired_at"), i.get("revoked_at"))
            for i in items
        ],
    )


@keyring_app.command("rotate-model-key")
def keyring_rotate_model_key(as_json: JsonFlag = False) -> None:
    """Sign models with a new key from now on; the old key stays trusted until revoked."""
    from bastion.models import attest

    with acting() as (ws, ctx):
        old, new = attest.rotate_signing_key(ws, ctx)
    if as_json:
        output.print_json({"retired": old, "active": new})
        return
    output.say(f"Model-signing key {new} is active; {old} is retired and still trusted.")


@keyring_app.command("revoke-model-key")
def keyring_revoke_model_key(key_id: str, as_json: JsonFlag = False) -> None:
    """Stop trusting a retired model-signing key: what it signed no longer verifies."""
    from bastion.models import attest

    with acting() as (ws, ctx):
        attest.revoke_signing_key(ws, ctx, key_id)
    if as_json:
        output.print_json({"revoked": key_id})
        return
    output.say(f"Revoked {key_id}: model versions it signed can no longer be promoted or loaded.")
