"""``bastion model`` supply-chain commands: scan (more arrive with signing and the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.cli import output
from bastion.cli.vault_cmds import JsonFlag
from bastion.cli.vault_cmds import model_app as model_app  # extended here, exported to main
from bastion.models.scan import ScanResult, Verdict, scan_paths

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
    as_json: JsonFlag = False,
) -> None:
    """Scan model files statically (nothing is loaded or unpickled).

    Exit 0 when every file is clean, 1 when any is suspicious or malicious, 2 when any
    could not be scanned (unknown format, truncated, unreadable).
    """
    with output.item_progress("scanning") as progress:
        results = scan_paths(paths, progress=progress)
    if as_json:
        output.print_json([r.as_dict() for r in results])
    else:
        _show_scan(results)
    raise typer.Exit(scan_exit_code(results))
