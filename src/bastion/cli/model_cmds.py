"""``bastion model`` supply-chain commands: scan, sign, verify, register, promote, rollback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.cli import output
from bastion.cli.runtime import acting, opened
from bastion.cli.vault_cmds import Classification, JsonFlag
from bastion.cli.vault_cmds import model_app as model_app  # extended here, exported to main
from bastion.errors import InvalidInput
from bastion.models.scan import ScanResult, Verdict, scan_paths  # stdlib only: light

if TYPE_CHECKING:
    from bastion.models.registry import ModelVersion

# Exit codes of ``bastion model scan``: a contract for CI pipelines.
SCAN_CLEAN, SCAN_FLAGGED, SCAN_ERROR = 0, 1, 2


def scan_exit_code(results: list[ScanResult]) -> int:
    """1 when any file is flagged, else 2 when any could not be scanned, else 0."""
    if any(r.flagged for r in results):
        return SCAN_FLAGGED
    if any(r.verdict is Verdict.ERROR for r in results) or not results:
        return SCAN_ERROR
    return SCAN_CLEAN


def _show_scan(results: list[ScanResult]) -> None:
    rows = []
    for r in results:
        top = r.findings[0] if r.findings else None
        reason = r.error or (top.detail if top else "")
        where = ""
        if top is not None and top.offset is not None:
            where = f"{top.member or ''}@{top.offset}"
        elif top is not None:
            where = top.member or ""
        rows.append((r.path, r.verdict, r.format, len(r.findings), reason, where))
    output.print_table(
        "Model scan", ["file", "verdict", "format", "findings", "worst finding", "at"], rows
    )
    counts = {v: sum(1 for r in results if r.verdict == v) for v in Verdict}
    output.say(
        f"{len(results)} file(s): {counts[Verdict.CLEAN]} clean, "
        f"{counts[Verdict.SUSPICIOUS]} suspicious, {counts[Verdict.MALICIOUS]} malicious, "
        f"{counts[Verdict.ERROR]} error."
    )


@model_app.command("scan")
def model_scan(
    paths: Annotated[list[Path], typer.Argument(help="Model files or folders (recursive).")],
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Processes for large folders (default: cores).")
    ] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Scan model files statically (nothing is loaded or unpickled).

    Exit 0 when every file is clean, 1 when any is suspicious or malicious, 2 when any
    could not be scanned (unknown format, truncated, unreadable).
    """
    with output.item_progress("scanning") as progress:
        results = scan_paths(paths, progress=progress, jobs=jobs or os.cpu_count() or 1)
    if as_json:
        output.print_json([r.as_dict() for r in results], compact=True)
    else:
        _show_scan(results)
    raise typer.Exit(scan_exit_code(results))


def _params(values: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"invalid parameter {item!r}", code="input.bad_param", hint="KEY=VALUE"
            )
        params[key] = value
    return params


def _show_version(item: ModelVersion, as_json: bool, verb: str) -> None:
    if as_json:
        output.print_json(item)
        return
    override = f", override: {item.override_reason}" if item.override_reason else ""
    output.say(
        f"{verb} model {item.name}@{item.version}: stage {item.stage}, {item.format}, "
        f"scan {item.scan_verdict}{override}, signed by {item.signature_key_id}, "
        f"sha256 {item.sha256}."
    )


def _feature_count(item: ModelVersion) -> int | None:
    """How many input features the version's recorded schema has (None: no schema)."""
    features = (item.input_schema or {}).get("features")
    return len(features) if isinstance(features, list) else None


@model_app.command("add")
def model_add(
    path: Path,
    name: Annotated[str, typer.Option("--name", help="Model name.")],
    trained_on: Annotated[
        str | None,
        typer.Option("--trained-on", help="Dataset it was trained on: NAME or NAME@VERSION."),
    ] = None,
    code_revision: Annotated[
        str | None, typer.Option("--code-revision", help="Training code revision (git commit).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Training parameter KEY=VALUE (repeat).")
    ] = None,
    allow_suspicious: Annotated[
        str | None,
        typer.Option("--allow-suspicious", help="Register a suspicious file anyway: the reason."),
    ] = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="Framework (default: from the format).")
    ] = None,
    classification: Classification = None,
    training_data: Annotated[
        Path | None,
        typer.Option(
            "--training-data",
            help="CSV, TSV or Parquet the model was trained on: its input schema is recorded "
            "(and signed) for the gateway's validation and drift checks.",
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="The label column of --training-data.")
    ] = None,
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="Input feature, in the model's order (repeat)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a model: scan it, sign it, encrypt it into the vault, record its lineage.

    Malicious or unreadable files are refused; suspicious ones need --allow-suspicious
    with a reason (audited). New versions start in staging.
    """
    # Services are imported inside commands, not at module level: they load SQLAlchemy
    # and cryptography, which would slow down the start of every command.
    from bastion.models import registry

    with acting() as (ws, ctx), output.byte_progress(f"encrypting {path.name}") as progress:
        item = registry.register(
            ws,
            ctx,
            path,
            name,
            trained_on=trained_on,
            code_revision=code_revision,
            parameters=_params(param or []),
            allow_suspicious=allow_suspicious,
            framework=framework,
            classification=classification,
            progress=progress,
            training_data=training_data,
            target=target,
            features=feature or None,
        )
    _show_version(item, as_json, "Registered")


@model_app.command("versions")
def model_versions(name: str, as_json: JsonFlag = False) -> None:
    """Registered versions of a model: stage, scan verdict, signer, digest."""
    from bastion.models import registry

    with acting() as (ws, ctx):
        items = registry.versions(ws, ctx, name)
    if as_json:
        output.print_json(items)
        return
    output.print_table(
        f"Model {name}",
        [
            "version",
            "stage",
            "format",
            "scan",
            "override",
            "features",
            "signed by",
            "registered",
            "sha256",
        ],
        [
            (
                i.version,
                i.stage if i.state == "active" else "shredded",
                i.format,
                i.scan_verdict,
                i.override_reason,
                _feature_count(i),
                i.signature_key_id,
                f"{output.fmt(i.registered_at)} by {i.registered_by}",
                i.sha256[:16],
            )
            for i in items
        ],
    )


@model_app.command("promote")
def model_promote(
    name: str,
    version: int,
    stage: Annotated[
        str, typer.Option("--stage", help="staging, production or archived.")
    ] = "production",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Move a version to a stage; production needs a valid signature and a clean scan."""
    from bastion.models import registry

    with acting() as (ws, ctx):
        item = registry.promote(ws, ctx, name, version, stage=stage, reason=reason)
    _show_version(item, as_json, "Promoted")


@model_app.command("rollback")
def model_rollback(
    name: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Return production to the previous production version that still verifies."""
    from bastion.models import registry

    with acting() as (ws, ctx):
        result = registry.rollback(ws, ctx, name, reason=reason)
    if as_json:
        output.print_json(result)
        return
    skipped = "".join(f"; skipped v{v} ({code})" for v, code in result.skipped.items())
    output.say(
        f"Rolled back {name}: production is v{result.to_version} "
        f"(was v{result.from_version}, now archived){skipped}."
    )


@model_app.command("sign")
def model_sign(
    path: Annotated[Path, typer.Argument(help="Model file or folder.")],
    signature: Annotated[
        Path | None, typer.Option("--signature", "-o", help="Where to write the signature.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign every file of a model with the workspace's model-signing key (Ed25519)."""
    from bastion.models import attest

    with acting() as (ws, ctx):
        result = attest.sign(ws, ctx, path, signature=signature)
    if as_json:
        output.print_json(result)
        return
    output.say(
        f"Signed {result.files} file(s) of {result.path} (root sha256 {result.root_digest}) "
        f"with {result.key_id}: {result.signature}"
    )


@model_app.command("verify")
def model_verify(
    path: Annotated[Path, typer.Argument(help="Model file or folder.")],
    signature: Annotated[
        Path | None, typer.Option("--signature", help="Signature file (default beside it).")
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="PEM public key to trust (default: the workspace's key)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify a model's files against its signature; any change names the file."""
    from bastion.models import attest, registry

    if key is not None:
        trusted = attest.load_public_key(key.read_bytes())
    else:
        with opened() as ws:
            trusted = registry.trusted_keys(ws)
    manifest = attest.verify(path, trusted, signature=signature)
    if as_json:
        output.print_json(
            {"path": str(path), "verified": True, "files": [f.name for f in manifest.files]}
        )
        return
    output.say(f"Verified {len(manifest.files)} file(s) of {path}: signature valid, no changes.")


@model_app.command("signing-key")
def model_signing_key() -> None:
    """Print the workspace's model-signing public key (PEM) for outside verifiers."""
    from bastion.models import attest

    with opened() as ws:
        sys.stdout.write(attest.public_key_pem(ws))


@model_app.command("bom")
def model_bom(
    name: str,
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default: latest).")
    ] = None,
    no_environment: Annotated[
        bool, typer.Option("--no-environment", help="Leave installed Python packages out.")
    ] = False,
    out: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
) -> None:
    """Export a CycloneDX 1.6 ML-BOM: model, datasets with digests, framework and packages."""
    from bastion.models import registry

    with acting() as (ws, ctx):
        text = registry.bom(ws, ctx, name, version=version, include_environment=not no_environment)
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.write_text(text, encoding="utf-8")
    output.say(f"Wrote the CycloneDX 1.6 ML-BOM of {name} to {out} (schema-validated).")


@model_app.command("provenance")
def model_provenance(
    name: str,
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default: latest).")
    ] = None,
) -> None:
    """Print a version's SLSA provenance statement once its signature verifies."""
    from bastion.models import registry

    with acting() as (ws, ctx):
        statement = registry.provenance(ws, ctx, name, version=version)
    output.print_json(statement)
