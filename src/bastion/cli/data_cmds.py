"""``bastion data scan|sanitize|detokenize|classify|inventory``: finding, labelling and
sanitizing sensitive data. (Storing datasets in the vault is in ``vault_cmds``.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.cli import output
from bastion.cli.runtime import acting
from bastion.cli.vault_cmds import JsonFlag, data_app

if TYPE_CHECKING:
    from bastion.data.scan import DatasetScan


@data_app.command("sanitize")
def data_sanitize(
    path: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet, JSON Lines or text file.")],
    policy: Annotated[Path, typer.Option("--policy", help="Sanitization policy (TOML).")],
    out: Annotated[Path, typer.Option("-o", "--output", help="Where to write the copy.")],
    as_json: JsonFlag = False,
) -> None:
    """Write a sanitized copy of a file and report what changed."""
    from bastion.data import protect

    with acting() as (ws, ctx):
        report = protect.sanitize(ws, ctx, path, out, policy)
    if as_json:
        output.print_json(report.as_dict())
        return
    output.print_table(
        f"Sanitized {path} -> {out}",
        ["column", "type", "action", "values"],
        [(r["column"], r["type"], r["action"], r["count"]) for r in report.changes.as_list()],
    )
    dropped = f"; dropped {', '.join(report.dropped)}" if report.dropped else ""
    output.say(
        f"{report.rows} row(s), {report.changes.total} value(s) changed{dropped} "
        f"in {report.seconds:.2f} s."
    )


@data_app.command("detokenize")
def data_detokenize(
    tokens: Annotated[
        list[str] | None, typer.Argument(help="Tokens; none: read text from stdin.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reverse tokens (needs data:detokenize; audited). From stdin: restore the text."""
    from bastion.data.sanitize.tokens import detokenize, find_tokens

    text = None if tokens else sys.stdin.read()
    wanted = tokens or find_tokens(text or "")
    with acting() as (ws, ctx):
        values = detokenize(ws, ctx, wanted) if wanted else {}
    if as_json:
        output.print_json(values)
    elif text is not None:
        for token, value in values.items():
            text = text.replace(token, value)
        sys.stdout.write(text)
    else:
        for token, value in values.items():
            sys.stdout.write(f"{token}\t{value}\n")


@data_app.command("classify")
def data_classify(
    name: str,
    level: Annotated[
        str, typer.Option("--level", help="public, internal, confidential, restricted.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")],
) -> None:
    """Override the classification of a dataset's latest version, with a reason."""
    from bastion.data import protect

    with acting() as (ws, ctx):
        previous = protect.reclassify(ws, ctx, name, level, reason)
    output.say(f"{name}: {previous} -> {level} (reason recorded in the audit log).")


@data_app.command("inventory")
def data_inventory(as_json: JsonFlag = False) -> None:
    """Every dataset: classification, sensitive types, owner, last scan, who read it."""
    from bastion.data import protect

    with acting() as (ws, ctx):
        items = protect.inventory(ws, ctx)
    if as_json:
        output.print_json([protect.inventory_as_dict(i) for i in items])
        return
    output.print_table(
        "Dataset inventory",
        ["name", "version", "classification", "sensitive types", "owner", "last scan", "read by"],
        [
            (
                i.name,
                i.version,
                i.classification,
                (", ".join(f"{t} ({n})" for t, n in sorted(i.sensitive_types.items())) or "none")
                if i.last_scan
                else "not scanned",
                i.owner,
                i.last_scan or "never",
                "(needs audit:read)"
                if i.readers is None
                else ", ".join(f"{p} ({n})" for p, n in sorted(i.readers.items())) or "nobody",
            )
            for i in items
        ],
    )


@data_app.command("scan")
def data_scan(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    full: Annotated[
        bool, typer.Option("--full", help="Read every row (default: a sample of the first rows).")
    ] = False,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Run the recognizers on every candidate (no shortcuts)."),
    ] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML report.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes (default: cores).")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Find sensitive values in CSV, TSV, Parquet, JSON Lines, text and log files.

    Exit 0 when nothing sensitive is found, 1 when something is, 2 when a file could not
    be read. Reports show masked examples only, never a raw value.
    """
    from bastion.data.scan import render_html, scan_paths

    with output.byte_progress("scanning") as progress:
        scans = scan_paths(paths, full=full, exact=exact, jobs=jobs or None, progress=progress)
    if html is not None:
        from bastion.crypto.files import write_private_atomic

        write_private_atomic(html, render_html(scans).encode())
    if as_json:
        output.print_json([s.as_dict() for s in scans])
    else:
        for scan in scans:
            _show_scan(scan)
    if any(s.error for s in scans) or not scans:
        raise typer.Exit(2)
    raise typer.Exit(1 if any(n for s in scans for n in s.totals.values()) else 0)


def _show_scan(scan: DatasetScan) -> None:
    if scan.error:
        output.say(f"{scan.path}: error[{scan.error_code}]: {scan.error}")
        return
    total = f" of {scan.rows_total}" if scan.rows_total else ""
    output.print_table(
        f"{scan.path} ({scan.format}, {scan.mode}: {scan.rows}{total} rows, {scan.seconds:.2f} s)",
        ["column", "type", "cells", "share", "examples (masked)"],
        [
            (c.name, t.type, t.cells, f"{t.fraction:.1%}", ", ".join(t.examples))
            for c in scan.columns
            for t in c.types
        ],
    )
    if not scan.totals:
        output.say("No sensitive values found.")
