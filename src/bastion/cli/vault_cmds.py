"""``bastion data`` and ``bastion model``: the encrypted vault."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.cli import output
from bastion.cli.parsing import duration
from bastion.cli.runtime import acting
from bastion.errors import EncryptedObjectError
from bastion.vault.kinds import Kind

if TYPE_CHECKING:
    from bastion.vault.objects import ObjectInfo

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Classification = Annotated[
    str | None,
    typer.Option(
        "--classification",
        help="public, internal, confidential or restricted (default confidential).",
    ),
]
Version = Annotated[int | None, typer.Option("--version", help="Version (default: latest).")]
Out = Annotated[Path, typer.Option("-o", "--output", help="Where to write the plaintext.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing output file.")]
AllVersions = Annotated[bool, typer.Option("--all", help="Every version, shredded included.")]

data_app = typer.Typer(help="Datasets in the encrypted vault.", no_args_is_help=True)
model_app = typer.Typer(
    help="Models: scan, sign, register, promote, roll back; files in the encrypted vault.",
    no_args_is_help=True,
)


def _show_added(item: ObjectInfo, as_json: bool) -> None:
    if as_json:
        output.print_json(item)
        return
    output.say(
        f"Stored {item.kind} {item.name}@{item.version}: {item.size} bytes, "
        f"sha256 {item.sha256}, {item.classification}, {item.cipher} under {item.kek}."
    )


def _show_list(title: str, items: list[ObjectInfo], as_json: bool) -> None:
    if as_json:
        output.print_json(items)
        return
    output.print_table(
        title,
        ["name", "version", "size", "classification", "owner", "created", "state", "sha256"],
        [
            (
                i.name,
                i.version,
                i.size,
                i.classification,
                i.owner,
                i.created_at,
                i.state,
                i.sha256[:16],
            )
            for i in items
        ],
    )


def _show_info(items: list[ObjectInfo], as_json: bool) -> None:
    if as_json:
        output.print_json(items)
        return
    # One block per version: digests and key names are too long for a table row.
    output.say(f"{items[0].kind} {items[0].name}")
    for i in items:
        state = (
            i.state
            if i.shredded_at is None
            else (f"shredded {output.fmt(i.shredded_at)} by {i.shredded_by}")
        )
        output.say(
            f"  v{i.version}  {state}  {i.size} bytes  {i.classification}  "
            f"owner {i.owner}  added {output.fmt(i.created_at)}  from {i.source_name}"
        )
        output.say(f"      sha256 {i.sha256}")
        output.say(f"      cipher {i.cipher}, data key under {i.kek}")
        if i.lineage:
            output.say(
                f"      trained on {i.lineage['dataset']}@{i.lineage['version']} "
                f"(sha256 {i.lineage['sha256']})"
            )


def _get(kind: Kind, name: str, out: Path, version: int | None, force: bool, as_json: bool) -> None:
    from bastion.vault import objects

    with acting() as (ws, ctx), output.byte_progress(f"decrypting {name}") as progress:
        item = objects.get(
            ws, ctx, kind, name, out, version=version, overwrite=force, progress=progress
        )
    if as_json:
        output.print_json(item)
        return
    output.say(f"Wrote {item.name}@{item.version} to {out} ({item.size} bytes, sha256 verified).")


def _list(kind: Kind, title: str, all_versions: bool, as_json: bool) -> None:
    from bastion.vault import objects

    with acting() as (ws, ctx):
        items = objects.list_objects(ws, ctx, kind, all_versions=all_versions)
    _show_list(title, items, as_json)


def _info_of(kind: Kind, name: str, as_json: bool) -> None:
    from bastion.vault import objects

    with acting() as (ws, ctx):
        items = objects.info(ws, ctx, kind, name)
    _show_info(items, as_json)


@data_app.command("add")
def data_add(
    path: Path,
    name: Annotated[str, typer.Option("--name", help="Dataset name.")],
    classification: Annotated[
        str | None,
        typer.Option(
            "--classification",
            help="Override the label the scan gives (lowering it needs --reason).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the label differs from the scan's.")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Scan a sample instead of every row (faster).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Scan a file for sensitive data, label it, and encrypt it into the vault.

    Restricted values in clear (SSNs, card numbers...) are refused unless the workspace's
    classification rules allow them: sanitize first with `bastion data sanitize`.
    """
    from bastion.data import protect

    with acting() as (ws, ctx), output.byte_progress(f"encrypting {path.name}") as progress:
        item = protect.add_dataset(
            ws,
            ctx,
            path,
            name,
            classification=classification,
            reason=reason,
            full=not sample,
            progress=progress,
        )
    _show_added(item, as_json)


@data_app.command("get")
def data_get(
    name: str, out: Out, version: Version = None, force: Force = False, as_json: JsonFlag = False
) -> None:
    """Decrypt a dataset version to a file (written only once fully verified)."""
    _get(Kind.DATASET, name, out, version, force, as_json)


@data_app.command("list")
def data_list(all_versions: AllVersions = False, as_json: JsonFlag = False) -> None:
    """List datasets (latest live version of each)."""
    _list(Kind.DATASET, "Datasets", all_versions, as_json)


@data_app.command("info")
def data_info(name: str, as_json: JsonFlag = False) -> None:
    """Every version of a dataset: digest, classification, key, state."""
    _info_of(Kind.DATASET, name, as_json)


@data_app.command("rm")
def data_rm(
    name: str,
    version: Annotated[int | None, typer.Option("--version", help="Only this version.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Crypto-shred a dataset (or one version): its data keys are destroyed for good."""
    from bastion.vault import objects

    if not yes:
        which = f"{name}@{version}" if version else f"every version of {name}"
        typer.confirm(f"Crypto-shred {which}? This cannot be undone", abort=True)
    with acting() as (ws, ctx):
        result = objects.remove(ws, ctx, Kind.DATASET, name, version=version)
    if as_json:
        output.print_json(result)
        return
    output.say(
        f"Shredded {result.name} version(s) {', '.join(map(str, result.versions))} "
        f"({result.bytes} bytes): their data keys are destroyed."
    )


@data_app.command("sweep")
def data_sweep(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Only files older than this (default 24h).")
    ] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """Reclaim space from blobs no live dataset or model needs (left by crashes)."""
    from bastion.vault import maintenance

    with acting() as (ws, ctx):
        result = maintenance.sweep(ws, ctx, older_than=duration(older_than))
    if as_json:
        output.print_json(result)
        return
    output.say(
        f"Removed {result.partial_files} partial and {result.orphan_blobs} orphan blob file(s), "
        f"{result.bytes} bytes."
    )


def _verify(kind: Kind, name: str | None, as_json: bool) -> None:
    from bastion.vault import maintenance

    with acting() as (ws, ctx):
        results = maintenance.verify(ws, ctx, kind, name)
    failed = [r for r in results if r.error]
    if as_json:
        output.print_json(results)
    else:
        output.print_table(
            f"{kind.value} verification",
            ["name", "version", "size", "result"],
            [(r.name, r.version, r.size, r.error or "ok") for r in results],
        )
    if failed:
        raise EncryptedObjectError(
            f"{len(failed)} of {len(results)} stored version(s) failed verification",
            code="vault.verify_failed",
            hint="Restore the named blobs from a backup, and treat the change as an incident.",
        )


@data_app.command("verify")
def data_verify(
    name: Annotated[str | None, typer.Argument(help="One dataset (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check that stored datasets decrypt and match their digests (no plaintext written)."""
    _verify(Kind.DATASET, name, as_json)


@model_app.command("check")
def model_check(
    name: Annotated[str | None, typer.Argument(help="One model (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check that stored models decrypt and match their digests (no plaintext written)."""
    _verify(Kind.MODEL, name, as_json)


@model_app.command("get")
def model_get(
    name: str, out: Out, version: Version = None, force: Force = False, as_json: JsonFlag = False
) -> None:
    """Decrypt a model version to a file (written only once fully verified)."""
    _get(Kind.MODEL, name, out, version, force, as_json)


@model_app.command("list")
def model_list(all_versions: AllVersions = False, as_json: JsonFlag = False) -> None:
    """List models (latest live version of each)."""
    _list(Kind.MODEL, "Models", all_versions, as_json)


@model_app.command("info")
def model_info(name: str, as_json: JsonFlag = False) -> None:
    """Every version of a model, with lineage."""
    _info_of(Kind.MODEL, name, as_json)
