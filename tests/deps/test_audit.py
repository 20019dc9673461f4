"""The dependency audit: pip-audit run for real, its JSON parsed, and failure kept closed.

No test reaches the internet. pip-audit runs as a real subprocess against this very
environment, asking a local OSV-compatible service (``osv_server``) or a dead one.

Two documents were captured from real pip-audit runs and trimmed:

- ``pip_audit_osv_requests_2_19_0.json``: ``pip-audit -r`` on ``requests==2.19.0`` and
  ``urllib3==1.26.18`` against the local OSV service serving the real advisories;
- ``pip_audit_pypi_all_not_found.json``: ``pip-audit --local --skip-editable`` on this
  venv against the PyPI mirror of the build machine, which serves no per-version JSON, so
  every lookup answered "not found" (pip-audit itself reported "No known vulnerabilities").
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import deps_cmds
from bastion.cli.deps_cmds import deps_app
from bastion.deps.audit import (
    EDITABLE_SKIP,
    AuditReport,
    DependencyAuditError,
    Vulnerability,
    audit_environment,
    parse_audit,
)
from bastion.errors import InvalidInput
from bastion.models.bom import normalize_name
from tests.deps.osv_server import advisory, osv_server

HERE = Path(__file__).parent
OSV_DOC = (HERE / "pip_audit_osv_requests_2_19_0.json").read_text()
PYPI_DOC = (HERE / "pip_audit_pypi_all_not_found.json").read_text()
CRYPTO_VERSION = metadata.version("cryptography")
# A test advisory pinned to the cryptography version installed here.
CRYPTO_ADVISORY = advisory(
    "BASTION-TEST-0001",
    [],
    "cryptography",
    "999.0.0",
    "Test advisory served by the local OSV service",
)


def merged(*documents: str) -> str:
    """One pip-audit document holding the dependencies of several real ones."""
    deps = [d for doc in documents for d in json.loads(doc)["dependencies"]]
    return json.dumps({"dependencies": deps, "fixes": []})


def audited_packages() -> set[str]:
    """What pip-audit should look up here: every installed distribution but editable ones."""
    names = {normalize_name(d.metadata["Name"]) for d in metadata.distributions()}
    return names - {"bastion"}


@pytest.fixture
def refused_url() -> Iterator[str]:
    """An address where nothing listens: the port is bound, never listened on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1/query"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A service that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1/query"


# --- parsing real pip-audit documents --------------------------------------------------


def test_a_real_report_with_vulnerabilities_is_parsed() -> None:
    report = parse_audit(OSV_DOC, service="osv")
    assert report == AuditReport(
        service="osv",
        packages_scanned=2,
        vulnerabilities=(
            Vulnerability(
                package="requests",
                version="2.19.0",
                id="PYSEC-2018-28",
                aliases=("CVE-2018-18074", "GHSA-x84v-xcm2-53pg"),
                fix_versions=("2.20.0",),
                description="Insufficiently Protected Credentials in Requests",
            ),
            Vulnerability(
                package="requests",
                version="2.19.0",
                id="PYSEC-2023-74",
                aliases=("CVE-2023-32681", "GHSA-j8r2-6x86-q33q"),
                fix_versions=("2.31.0",),
                description="Unintended leak of Proxy-Authorization header in requests",
            ),
        ),
        skipped=(),
        degraded=None,
    )
    assert report.vulnerable


def test_a_service_that_answers_for_no_package_fails_closed() -> None:
    # pip-audit said "No known vulnerabilities found" and exited 0 on this document.
    with pytest.raises(DependencyAuditError) as caught:
        parse_audit(PYPI_DOC, service="pypi")
    error = caught.value
    assert error.code == "deps.unreachable"
    assert error.exit_code == 14
    assert "answered for none of the 5 installed packages" in error.message
    assert "mirror without PyPI's per-version JSON API" in error.hint
    assert error.details["unaudited"] == [
        "cryptography",
        "pip-audit",
        "requests",
        "sqlalchemy",
        "urllib3",
    ]


def test_some_packages_not_looked_up_degrade_the_report() -> None:
    report = parse_audit(merged(OSV_DOC, PYPI_DOC), service="pypi")
    assert report.packages_scanned == 2
    assert [v.id for v in report.vulnerabilities] == ["PYSEC-2018-28", "PYSEC-2023-74"]
    assert report.degraded is not None
    assert report.degraded.startswith("5 of 7 packages could not be audited against pypi:")
    assert "cryptography" in report.degraded
    assert ("bastion", EDITABLE_SKIP) in report.skipped
    assert len(report.skipped) == 6


def test_editable_packages_are_skipped_without_degrading() -> None:
    editable = json.dumps({"dependencies": [{"name": "bastion", "skip_reason": EDITABLE_SKIP}]})
    report = parse_audit(merged(OSV_DOC, editable), service="osv")
    assert report.degraded is None
    assert report.skipped == (("bastion", EDITABLE_SKIP),)
    assert report.packages_scanned == 2


@pytest.mark.parametrize(
    "document",
    ["", "not json", "[]", '{"fixes": []}', '{"dependencies": [{"name": "x"}]}'],
)
def test_what_is_not_a_pip_audit_report_is_refused(document: str) -> None:
    with pytest.raises(DependencyAuditError) as caught:
        parse_audit(document, service="pypi")
    assert caught.value.code == "deps.audit_failed"


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_audit(OSV_DOC, service="snyk")
    assert caught.value.code == "deps.unknown_service"


# --- pip-audit run for real against this environment (slow: a subprocess each) --------


@pytest.mark.slow
def test_the_environment_is_audited_and_a_vulnerable_package_reported() -> None:
    answers = {("cryptography", CRYPTO_VERSION): [CRYPTO_ADVISORY]}
    with osv_server(answers) as (url, seen):
        report = audit_environment(
            python=Path(sys.executable), service="osv", osv_url=url, timeout=60
        )
    assert {name for name, _ in seen} == audited_packages()
    assert report.packages_scanned == len(seen)
    assert report.vulnerabilities == (
        Vulnerability(
            package="cryptography",
            version=CRYPTO_VERSION,
            id="BASTION-TEST-0001",
            aliases=(),
            fix_versions=("999.0.0",),
            description="Test advisory served by the local OSV service",
        ),
    )
    assert report.skipped == (("bastion", EDITABLE_SKIP),)
    assert report.degraded is None


@pytest.mark.slow
def test_a_refused_connection_is_unreachable(refused_url: str) -> None:
    with pytest.raises(DependencyAuditError) as caught:
        audit_environment(service="osv", osv_url=refused_url, timeout=60)
    assert caught.value.code == "deps.unreachable"
    assert "the osv vulnerability service is unreachable" in caught.value.message
    assert "Connection refused" in caught.value.message


@pytest.mark.slow
def test_a_service_that_never_answers_is_unreachable(silent_url: str) -> None:
    # timeout 4 s gives pip-audit a 1 s socket timeout: it gives up well before the limit.
    with pytest.raises(DependencyAuditError) as caught:
        audit_environment(service="osv", osv_url=silent_url, timeout=4)
    assert caught.value.code == "deps.unreachable"
    assert "timed out" in caught.value.message.lower()


@pytest.mark.slow
def test_an_audit_past_its_time_limit_is_unreachable(silent_url: str) -> None:
    with pytest.raises(DependencyAuditError) as caught:
        audit_environment(service="osv", osv_url=silent_url, timeout=0.5)
    assert caught.value.code == "deps.unreachable"
    assert "did not finish within 0.5 s" in caught.value.message


def test_a_missing_interpreter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        audit_environment(python=tmp_path / "python3", timeout=10)
    assert caught.value.code == "deps.no_python"


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timeout must be positive"):
        audit_environment(timeout=0)


# --- the CLI ---------------------------------------------------------------------------


def invoke(*args: str) -> Any:
    root = typer.Typer()
    root.add_typer(deps_app, name="deps")
    return CliRunner().invoke(root, ["deps", *args], env={"COLUMNS": "250"})


@pytest.mark.slow
def test_cli_lists_vulnerabilities_and_exits_1() -> None:
    with osv_server({("cryptography", CRYPTO_VERSION): [CRYPTO_ADVISORY]}) as (url, _):
        result = invoke("audit", "--service", "osv", "--osv-url", url)
    assert result.exit_code == 1, result.output
    assert "Known vulnerabilities (osv)" in result.output
    assert "BASTION-TEST-0001" in result.output
    assert "999.0.0" in result.output
    assert f"cryptography │ {CRYPTO_VERSION}" in result.output
    assert "1 known vulnerability in 1 of" in result.output
    assert "Skipped 1: bastion" in result.output


@pytest.mark.slow
def test_cli_json_output() -> None:
    with osv_server({("cryptography", CRYPTO_VERSION): [CRYPTO_ADVISORY]}) as (url, _):
        result = invoke("audit", "--service", "osv", "--osv-url", url, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["service"] == "osv"
    assert doc["degraded"] is None
    assert doc["skipped"] == [["bastion", EDITABLE_SKIP]]
    assert doc["vulnerabilities"][0]["id"] == "BASTION-TEST-0001"
    assert doc["vulnerabilities"][0]["version"] == CRYPTO_VERSION


@pytest.mark.slow
def test_cli_exits_0_when_nothing_is_known() -> None:
    with osv_server({}) as (url, _):
        result = invoke("audit", "--service", "osv", "--osv-url", url)
    assert result.exit_code == 0, result.output
    assert f"No known vulnerabilities in {len(audited_packages())} packages" in result.output


@pytest.mark.slow
def test_cli_unreachable_service_raises_the_coded_error(refused_url: str) -> None:
    # bastion.cli.main renders it as "error[deps.unreachable]: ..." and exits 14.
    result = invoke("audit", "--service", "osv", "--osv-url", refused_url)
    assert isinstance(result.exception, DependencyAuditError)
    assert result.exception.code == "deps.unreachable"
    assert result.exception.exit_code == 14
    assert result.stdout == ""


def test_cli_warns_and_exits_14_on_a_partial_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    partial = parse_audit(
        merged(
            json.dumps({"dependencies": [{"name": "urllib3", "version": "2.8.0", "vulns": []}]}),
            PYPI_DOC,
        ),
        service="pypi",
    )
    monkeypatch.setattr(deps_cmds, "audit_environment", lambda **_: partial)
    result = invoke("audit")
    assert result.exit_code == 14
    assert "No known vulnerabilities in 1 packages audited against pypi." in result.stdout
    assert "warning[deps.unreachable]: 5 of 6 packages could not be audited" in result.stderr


def test_cli_rejects_an_unknown_service() -> None:
    result = invoke("audit", "--service", "snyk")
    assert result.exit_code == 2
    assert "snyk" in result.output
