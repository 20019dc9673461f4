"""The guided tour behind ``bastion demo``: a throwaway workspace, every capability so far.

Each step calls the same services the CLI and gateway call, on the operation path, so
what the demo shows (denials, audit events, tamper detection) is the real behaviour.
"""

from __future__ import annotations

import base64
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select, update

from bastion.audit import service as audit_service
from bastion.audit.store import AuditQuery
from bastion.bootstrap import initialize
from bastion.config import Secret, Settings
from bastion.context import ANONYMOUS, Context
from bastion.crypto.keyring import generate_master_key
from bastion.data import protect
from bastion.db.models import AuditEventRow, DataKeyRow, VaultObjectRow
from bastion.demo_data_protection import data_protection_tour
from bastion.demo_gateway import gateway_tour
from bastion.demo_supply_chain import supply_chain_tour
from bastion.errors import AuditChainBroken, BastionError
from bastion.identity import apikeys, credentials, principals, review, sessions
from bastion.vault import keys, maintenance
from bastion.vault import objects as vault
from bastion.vault.objects import Kind
from bastion.workspace import Workspace, open_workspace


def _seed(secret_b32: str) -> bytes:
    return base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))


def _login(ws: Workspace, name: str, password: str, totp_b32: str, at: float) -> Context:
    anon = Context(principal=ANONYMOUS, source="demo", clock=ws.clock)
    code = credentials.totp_code(_seed(totp_b32), at)
    grant = sessions.login(ws, anon, name, password, code)
    return anon.as_(sessions.authenticate_session(ws, anon, grant.token))


def run_demo(console: Console, keep: Path | None = None) -> int:
    """Run the tour; return 0 when every step behaved as a secure system must."""
    root = keep or Path(tempfile.mkdtemp(prefix="bastion-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    step = _Stepper(console)
    try:
        return _tour(console, step, root)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


class _Stepper:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        self.console.rule(f"[bold]{self.n}. {title}")


def _expect_denied(console: Console, what: str, call: Callable[[], object]) -> None:
    try:
        call()
    except BastionError as exc:
        console.print(
            Text.assemble("  ", ("refused", "green"), f" {what}: error[{exc.code}] {exc.message}")
        )
        return
    raise RuntimeError(f"demo expected a refusal for: {what}")


def _creds(new: principals.NewPrincipal) -> tuple[str, str]:
    assert new.password and new.totp_secret
    return new.password, new.totp_secret


def _demo_csv(path: Path, rows: int) -> None:
    # Synthetic customer records: deterministic, no download, realistic enough to matter.
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    with path.open("w", encoding="utf-8") as handle:
        handle.write("customer_id,age,tenure_months,monthly_charges,churned\n")
        for i in range(rows):
            handle.write(
                f"C{i:07d},{rng.randint(18, 90)},{rng.randint(0, 120)},"
                f"{rng.uniform(10, 150):.2f},{int(rng.random() < 0.27)}\n"
            )


def _vault_tour(
    console: Console,
    step: _Stepper,
    ws: Workspace,
    admin: Context,
    alice: Context,
    analyst: Context,
    root: Path,
) -> None:
    step("Encrypted vault: a dataset stored under its own data key, read back, digest checked")
    source = root / "customers.csv"
    _demo_csv(source, 60_000)
    stored = protect.add_dataset(ws, alice, source, "customers", classification="confidential")
    console.print(
        f"  alice stored customers@{stored.version}: {stored.size:,} bytes, {stored.cipher}, "
        f"data key wrapped by KEK {stored.kek}",
        markup=False,
    )
    console.print(f"  sha256 {stored.sha256}", markup=False)
    back = root / "customers.out.csv"
    vault.get(ws, alice, Kind.DATASET, "customers", back)
    assert back.read_bytes() == source.read_bytes()
    console.print("  read back byte-for-byte identical; the read is audited with its byte count")
    _expect_denied(
        console,
        "the analyst reading raw training data",
        lambda: vault.get(ws, analyst, Kind.DATASET, "customers", root / "leak.csv"),
    )

    step("Rotate the key-encryption key to hybrid X25519 + ML-KEM-768 (post-quantum)")
    blob_files = sorted(ws.blob_dir.rglob("*.bstm"))
    before = {p: p.read_bytes() for p in blob_files}
    rotation = keys.rotate(ws, admin, algorithm="x25519-mlkem768")
    console.print(
        f"  KEK v{rotation.version} ({rotation.algorithm}) is active; "
        f"{rotation.rewrapped} data keys re-wrapped, no object re-encrypted",
        markup=False,
    )
    assert all(p.read_bytes() == data for p, data in before.items())
    retired = keys.retire(ws, admin, rotation.version - 1, destroy=True)
    console.print(f"  KEK v{retired.version} retired and destroyed: nothing depends on it")
    back.unlink()
    vault.get(ws, alice, Kind.DATASET, "customers", back)
    assert back.read_bytes() == source.read_bytes()
    console.print("  customers@1 still decrypts under the new KEK version")

    step("A tampered blob is refused; crypto-shredding erases every copy")
    second = protect.add_dataset(ws, alice, source, "customers")
    record = vault.info(ws, alice, Kind.DATASET, "customers")[-1]
    blob = next(p for p in ws.blob_dir.rglob("*.bstm") if p not in before)
    backup = blob.read_bytes()
    damaged = bytearray(backup)
    damaged[len(damaged) // 2] ^= 0x01
    blob.write_bytes(bytes(damaged))
    console.print(f"  flipped one bit in the middle of customers@{second.version}'s blob")
    _expect_denied(
        console,
        "reading the tampered version",
        lambda: vault.get(
            ws, alice, Kind.DATASET, "customers", root / "tampered.csv", version=record.version
        ),
    )
    assert not (root / "tampered.csv").exists()
    console.print("  no output file was written: never garbage, never a partial plaintext")
    for result in maintenance.verify(ws, admin, Kind.DATASET):
        console.print(
            f"  verify {result.name}@{result.version}: {result.error or 'intact'}", markup=False
        )
    blob.write_bytes(backup)
    shredded = vault.remove(ws, alice, Kind.DATASET, "customers", version=second.version)
    with ws.sessions() as session:
        key_row = session.scalars(
            select(DataKeyRow)
            .join(VaultObjectRow, VaultObjectRow.data_key_id == DataKeyRow.id)
            .where(VaultObjectRow.name == "customers", VaultObjectRow.version == second.version)
        ).one()
        assert key_row.wrapped is None
    console.print(
        f"  customers@{shredded.versions[0]} crypto-shredded: its data key is destroyed, so "
        "the backup copy of its blob taken a moment ago is now undecryptable noise"
    )
    _expect_denied(
        console,
        "reading the shredded version",
        lambda: vault.get(
            ws, alice, Kind.DATASET, "customers", root / "gone.csv", version=second.version
        ),
    )


def _tour(console: Console, step: _Stepper, root: Path) -> int:
    import time

    workspace_dir = root / "workspace"
    settings = Settings(workspace=workspace_dir, state_dir=root / "state")
    step("Create a workspace (SQLite in WAL mode, sealed keyring, blob folder)")
    result = initialize(settings, source="demo")
    ws = result.workspace
    assert result.master_key is not None
    settings = settings.with_overrides(master_key=result.master_key)
    console.print(
        f"  workspace {settings.bastion_dir}; first admin '{result.admin.name}' "
        "with a password and TOTP secret shown once"
    )

    now = time.time()
    step("The admin logs in with password + TOTP; a replayed code is refused")
    assert result.admin.password and result.admin.totp_secret
    admin = _login(ws, "admin", result.admin.password, result.admin.totp_secret, now)
    console.print("  admin holds an MFA session")
    replay = credentials.totp_code(_seed(result.admin.totp_secret), now)
    anon = Context(principal=ANONYMOUS, source="demo", clock=ws.clock)
    _expect_denied(
        console,
        "the same TOTP code a second time",
        lambda: sessions.login(ws, anon, "admin", result.admin.password or "", replay),
    )

    step("Principals of several roles, and a scoped API key for a service account")
    people = {}
    for name, role in (
        ("alice", "data_scientist"),
        ("bob", "engineer"),
        ("carol", "auditor"),
        ("dave", "analyst"),
        ("erin", "executive"),
    ):
        people[name] = principals.add_principal(ws, admin, name, role)
    principals.add_principal(ws, admin, "fraud-scorer", "service", service_account=True)
    key = apikeys.create_key(ws, admin, "fraud-scorer", scopes=["model:predict@model/fraud-*"])
    console.print(f"  key {key.prefix}… for fraud-scorer, scoped to model:predict@model/fraud-*")
    _expect_denied(
        console,
        "a service account holding the admin role",
        lambda: principals.add_principal(ws, admin, "ci-bot", "admin", service_account=True),
    )
    table = Table(
        "role", "grants", title="Roles held as data (bastion role list)", title_justify="left"
    )
    for info in principals.list_roles(ws, admin):
        table.add_row(info.name, ", ".join(info.grants))
    console.print(table)

    step("Deny by default: each role does exactly what the policy grants")
    svc = anon.as_(apikeys.authenticate_api_key(ws, anon, key.token))
    _expect_denied(
        console, "the service account listing users", lambda: principals.list_principals(ws, svc)
    )
    dave = people["dave"]
    assert dave.password and dave.totp_secret
    analyst = _login(ws, "dave", dave.password, dave.totp_secret, now)
    _expect_denied(
        console,
        "the analyst reading the audit log",
        lambda: audit_service.query_events(ws, analyst, AuditQuery()),
    )
    carol = people["carol"]
    assert carol.password and carol.totp_secret
    auditor = _login(ws, "carol", carol.password, carol.totp_secret, now)
    _expect_denied(
        console,
        "the auditor creating a user",
        lambda: principals.add_principal(ws, auditor, "mallory", "admin"),
    )
    denials = audit_service.query_events(ws, auditor, AuditQuery(outcome="denied"))
    console.print(f"  the auditor sees {len(denials)} denials in the audit log:")
    for event in denials:
        console.print(
            f"    #{event.seq} {event.actor} {event.action} {event.resource}", markup=False
        )

    step("Access review")
    for row in review.access_review(ws, admin):
        findings = "; ".join(row["findings"]) or "ok"
        console.print(
            f"  {row['name']:<13} {row['role']:<15} "
            f"{len(row['effective_permissions']):>2} permissions  {findings}",
            markup=False,
        )

    alice = _login(ws, "alice", *_creds(people["alice"]), now)
    _vault_tour(console, step, ws, admin, alice, analyst, root)
    data_protection_tour(console, step, ws, admin, alice, root, _expect_denied)
    bob = _login(ws, "bob", *_creds(people["bob"]), now)
    supply_chain_tour(console, step, ws, alice, bob, root, _expect_denied)
    gateway_tour(console, step, ws, admin)

    step("Reopen the workspace (its head was signed on close); verify the audit chain")
    ws.close()
    ws = open_workspace(settings)
    auditor = anon.as_(auditor.principal)
    report = audit_service.verify(ws, auditor)
    console.print(f"  intact: {report.events} events, {report.checkpoints} signed checkpoint(s)")
    lines = list(audit_service.export(ws, auditor, "ocsf", AuditQuery(action="auth.*")))
    console.print(f"  {len(lines)} authentication events exported as OCSF class 3002 for the SIEM")
    ws.close()

    step("A wrong master key opens nothing and changes nothing")
    db_file = settings.bastion_dir / "bastion.db"
    before = db_file.read_bytes()
    _expect_denied(
        console,
        "opening the workspace with another master key",
        lambda: open_workspace(settings.with_overrides(master_key=Secret(generate_master_key()))),
    )
    assert db_file.read_bytes() == before
    console.print("  the database file is byte-for-byte unchanged")

    step("Tamper with a copy of the log and verify again")
    copy_dir = root / "tampered"
    shutil.copytree(workspace_dir, copy_dir)
    tampered = open_workspace(settings.with_overrides(workspace=copy_dir))
    target = denials[0].seq
    with tampered.engine.begin() as conn:
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == target)
            .values(
                body=func.replace(AuditEventRow.body, '"outcome":"denied"', '"outcome":"success"')
            )
        )
    console.print(f"  changed event #{target} from 'denied' to 'success' behind Bastion's back")
    try:
        audit_service.verify(tampered, anon.as_(auditor.principal))
    except AuditChainBroken as exc:
        for issue in exc.details.get("issues", []):
            console.print(f"  [red]caught[/] event {issue['seq']}: {issue['message']}")
    else:
        raise RuntimeError("tampering went unnoticed")
    finally:
        tampered.close()
    console.rule("[bold green]demo complete")
    return 0
