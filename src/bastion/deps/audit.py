"""Known vulnerabilities in the installed Python packages, found by pip-audit.

pip-audit runs as a subprocess of the current interpreter and audits an environment (this
one unless ``python`` names another) against a vulnerability service: PyPI's advisory
data (the default) or OSV. Its JSON is parsed into frozen dataclasses.

The audit fails closed. A service that cannot be reached, times out, errors, or answers
for none of the installed packages raises :class:`DependencyAuditError` with code
``deps.unreachable`` (exit code 14): an audit that looked nothing up proves nothing, and
returning an empty report would read as "no vulnerabilities". When only some packages
could not be looked up, the report comes back with ``degraded`` saying which. Packages
installed in editable mode (a project under development, Bastion itself in a checkout) are
not on any index: they are listed in ``skipped`` and do not degrade the audit.
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.errors import DependencyAuditError, InvalidInput

__all__ = [
    "AuditReport",
    "DependencyAuditError",
    "Service",
    "Vulnerability",
    "audit_environment",
    "parse_audit",
]

# pip-audit's own wording for a package it left out because we asked it to.
EDITABLE_SKIP = "distribution marked as editable"
_NOT_ON_PYPI = "Dependency not found on PyPI"

# What pip-audit (requests/urllib3 under it) writes when the service cannot be reached.
_UNREACHABLE_MARKERS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Timeout",
    "timed out",
    "NameResolutionError",
    "Failed to resolve",
    "Connection refused",
    "Max retries exceeded",
    "ProxyError",
    "SSLError",
    "Could not connect",
    "HTTPError",
)
_MAX_SOCKET_TIMEOUT = 15


class Service(enum.StrEnum):
    """The vulnerability database pip-audit asks."""

    PYPI = "pypi"
    OSV = "osv"


@dataclass(frozen=True)
class Vulnerability:
    """One known vulnerability affecting one installed package version."""

    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class AuditReport:
    """The outcome of one audit: what was looked up, what was found, what was not audited."""

    service: str
    packages_scanned: int
    vulnerabilities: tuple[Vulnerability, ...]
    skipped: tuple[tuple[str, str], ...]  # (package, reason)
    degraded: str | None

    @property
    def vulnerable(self) -> bool:
        """True when any installed package has a known vulnerability."""
        return bool(self.vulnerabilities)


def audit_environment(
    *,
    python: Path | None = None,
    service: Service | str = Service.PYPI,
    osv_url: str | None = None,
    timeout: float = 120.0,
) -> AuditReport:
    """Audit the packages installed for ``python`` (default: this interpreter).

    ``osv_url`` replaces OSV's query endpoint (a mirror); ``timeout`` bounds the whole run
    in seconds. Raises :class:`DependencyAuditError` when the audit cannot vouch for
    anything (see the module docstring).
    """
    chosen = _service(service)
    if timeout <= 0:
        raise InvalidInput(f"timeout must be positive, got {timeout}")
    target = python if python is not None else Path(sys.executable)
    if not target.is_file():
        raise InvalidInput(f"no Python interpreter at {target}", code="deps.no_python")
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--local",
        "--skip-editable",
        "--desc",
        "on",
        "--aliases",
        "on",
        "--vulnerability-service",
        chosen.value,
        "--timeout",
        # Per request: short enough that a dead service fails within the overall limit.
        str(max(1, min(_MAX_SOCKET_TIMEOUT, int(timeout / 4)))),
    ]
    if osv_url is not None:
        command += ["--osv-url", osv_url]
    # pip-audit lists the distributions of the interpreter this variable names.
    env = {**os.environ, "PIPAPI_PYTHON_LOCATION": str(target)}
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DependencyAuditError(
            f"the {chosen} vulnerability audit did not finish within {timeout:g} s",
            code="deps.unreachable",
            details={"service": chosen.value},
        ) from exc
    # pip-audit exits 1 when it found vulnerabilities, and still writes its report.
    if done.returncode in (0, 1) and done.stdout.strip():
        return parse_audit(done.stdout, service=chosen)
    raise _failure(chosen, done.returncode, done.stderr)


def parse_audit(document: str, *, service: Service | str) -> AuditReport:
    """Turn pip-audit's JSON report into an :class:`AuditReport` (failing closed, see above)."""
    chosen = _service(service)
    try:
        raw = json.loads(document)
    except ValueError as exc:
        raise DependencyAuditError(
            "pip-audit did not write a JSON report", details={"service": chosen.value}
        ) from exc
    dependencies = raw.get("dependencies") if isinstance(raw, dict) else None
    if not isinstance(dependencies, list):
        raise DependencyAuditError(
            "pip-audit's report has no list of dependencies", details={"service": chosen.value}
        )
    scanned = 0
    found: list[Vulnerability] = []
    skipped: list[tuple[str, str]] = []
    try:
        for dep in dependencies:
            name = str(dep["name"])
            if "skip_reason" in dep:
                skipped.append((name, str(dep["skip_reason"])))
                continue
            scanned += 1
            found.extend(_vulnerability(name, str(dep["version"]), v) for v in dep["vulns"])
    except (KeyError, TypeError) as exc:
        raise DependencyAuditError(
            f"pip-audit's report is malformed: {exc!r}", details={"service": chosen.value}
        ) from exc
    unaudited = [(name, reason) for name, reason in skipped if reason != EDITABLE_SKIP]
    if unaudited and scanned == 0:
        name, reason = unaudited[0]
        hint = None
        if all(_NOT_ON_PYPI in r for _, r in unaudited):
            hint = (
                "pypi.org answered 'not found' for every installed version: it may be a "
                "mirror without PyPI's per-version JSON API. Try --service osv, or "
                "--osv-url with an OSV mirror."
            )
        raise DependencyAuditError(
            f"the {chosen} vulnerability service answered for none of the "
            f"{len(unaudited)} installed packages (first: {name}: {reason}); "
            "the audit proves nothing",
            code="deps.unreachable",
            hint=hint,
            details={"service": chosen.value, "unaudited": [n for n, _ in unaudited]},
        )
    degraded = None
    if unaudited:
        names = ", ".join(n for n, _ in unaudited[:10])
        more = f" and {len(unaudited) - 10} more" if len(unaudited) > 10 else ""
        degraded = (
            f"{len(unaudited)} of {scanned + len(unaudited)} packages could not be audited "
            f"against {chosen}: {names}{more}"
        )
    return AuditReport(
        service=chosen.value,
        packages_scanned=scanned,
        vulnerabilities=tuple(sorted(found, key=lambda v: (v.package, v.id))),
        skipped=tuple(sorted(skipped)),
        degraded=degraded,
    )


def _service(service: Service | str) -> Service:
    try:
        return Service(service)
    except ValueError:
        choices = ", ".join(s.value for s in Service)
        raise InvalidInput(
            f"unknown vulnerability service {service!r} (choose {choices})",
            code="deps.unknown_service",
        ) from None


def _vulnerability(package: str, version: str, raw: dict[str, Any]) -> Vulnerability:
    return Vulnerability(
        package=package,
        version=version,
        id=str(raw["id"]),
        aliases=tuple(str(a) for a in raw.get("aliases", [])),
        fix_versions=tuple(str(f) for f in raw.get("fix_versions", [])),
        description=str(raw.get("description", "")),
    )


def _failure(service: Service, returncode: int, stderr: str) -> DependencyAuditError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else f"pip-audit exited with status {returncode}"
    if len(last) > 400:
        last = last[:400] + "..."
    details = {"service": service.value, "returncode": returncode}
    if any(marker in stderr for marker in _UNREACHABLE_MARKERS):
        return DependencyAuditError(
            f"the {service} vulnerability service is unreachable: {last}",
            code="deps.unreachable",
            details=details,
        )
    return DependencyAuditError(f"pip-audit failed: {last}", details=details)
