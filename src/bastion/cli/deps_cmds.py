"""``bastion deps``: known vulnerabilities in the installed Python packages.

Exit codes of ``bastion deps audit``: 0 when every package that could be looked up has no
known vulnerability and none was left unaudited; 1 when any known vulnerability was found;
14 (``deps.unreachable``) when the vulnerability service could not vouch for the
environment, wholly (an error) or in part (a warning after the results).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import typer

from bastion.cli import output
from bastion.deps.audit import AuditReport, DependencyAuditError, Service, audit_environment

deps_app = typer.Typer(
    help="Third-party Python packages: known vulnerabilities.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _show(report: AuditReport) -> None:
    if report.vulnerabilities:
        output.print_table(
            f"Known vulnerabilities ({report.service})",
            ["package", "version", "id", "aliases", "fix versions", "description"],
            [
                (v.package, v.version, v.id, v.aliases, v.fix_versions, v.description)
                for v in report.vulnerabilities
            ],
        )
        count = len(report.vulnerabilities)
        packages = len({v.package for v in report.vulnerabilities})
        output.say(
            f"{count} known {'vulnerability' if count == 1 else 'vulnerabilities'} in "
            f"{packages} of {report.packages_scanned} packages audited against {report.service}."
        )
    else:
        output.say(
            f"No known vulnerabilities in {report.packages_scanned} packages audited "
            f"against {report.service}."
        )
    if report.skipped:
        output.say(f"Skipped {len(report.skipped)}: " + ", ".join(n for n, _ in report.skipped))


@deps_app.command("audit")
def audit(
    service: Annotated[
        Service, typer.Option("--service", help="Vulnerability database to ask.")
    ] = Service.PYPI,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Give up after this many seconds.", min=1)
    ] = 120.0,
    osv_url: Annotated[
        str | None,
        typer.Option("--osv-url", help="Query this OSV mirror instead of api.osv.dev."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Audit this environment's installed packages for known vulnerabilities (pip-audit)."""
    err = output.console(stderr=True)
    busy = (
        err.status(f"Auditing installed packages against {service}...")
        if err.is_terminal
        else nullcontext()
    )
    with busy:
        report = audit_environment(service=service, osv_url=osv_url, timeout=timeout)
    if as_json:
        output.print_json(report)
    else:
        _show(report)
    if report.degraded:
        err.print(f"warning[deps.unreachable]: {report.degraded}", markup=False)
    if report.vulnerabilities:
        raise typer.Exit(1)
    if report.degraded:
        raise typer.Exit(DependencyAuditError.exit_code)
