"""The data-protection part of ``bastion demo``: scan a raw export, refuse it, sanitize
it, store the safe copy with its label, reverse a token, and show the inventory."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bastion.context import Context
from bastion.data import protect
from bastion.data.sanitize.tokens import detokenize, find_tokens
from bastion.data.scan import scan_file
from bastion.vault import objects as vault
from bastion.vault.objects import Kind
from bastion.workspace import Workspace

Expect = Callable[[Console, str, Callable[[], object]], None]

POLICY = """\
version = 1
default = "redact"
[types]
US_SSN = { action = "mask", keep_last = 4 }
CREDIT_CARD = "redact"
EMAIL_ADDRESS = "pseudonymize"
PERSON = "tokenize"
PHONE_NUMBER = { action = "mask", keep_last = 2 }
[columns]
notes = "drop"
"""

_FIRST = ("Maria", "James", "Aiko", "Lukas", "Fatima", "Pierre", "Chen", "Olga", "Diego", "Sara")
_LAST = ("Keller", "Okafor", "Nguyen", "Rossi", "Dubois", "Kowalski", "Silva", "Hansen")


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _raw_export(path: Path, rows: int) -> None:
    # A CRM export as it arrives from the business: names, contacts, and worse.
    rng = random.Random(11)  # noqa: S311 - demo data, not secrets
    with path.open("w", encoding="utf-8") as handle:
        handle.write("customer_id,name,email,phone,ssn,card,plan,notes\n")
        for i in range(rows):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
            card = _luhn_complete("4" + "".join(str(rng.randint(0, 9)) for _ in range(14)))
            handle.write(
                f"C{i:06d},{first} {last},{first.lower()}.{last.lower()}{i}@example.com,"
                f"+1 415 555 {rng.randint(1000, 9999)},{ssn},{card},"
                f"{rng.choice(('basic', 'pro', 'team'))},call back after 5pm\n"
            )


def data_protection_tour(
    console: Console,
    step: Callable[[str], None],
    ws: Workspace,
    admin: Context,
    alice: Context,
    root: Path,
    expect_denied: Expect,
) -> None:
    """Steps: scan a raw export; refuse it; sanitize; store; detokenize; inventory."""
    step("Sensitive data: scan a raw CRM export column by column (masked examples only)")
    raw = root / "crm-export.csv"
    _raw_export(raw, 2_000)
    scan = scan_file(raw, full=True)
    table = Table("column", "types found", "cells", "example", title_justify="left")
    for column in scan.columns:
        for found in column.types:
            table.add_row(column.name, found.type, str(found.cells), ", ".join(found.examples[:1]))
    console.print(table)
    console.print(f"  {scan.rows:,} rows scanned in {scan.seconds:.2f} s")

    step("Intake refuses restricted values in clear; a sanitized copy is stored and labelled")
    expect_denied(
        console,
        "storing the raw export (SSNs and card numbers in clear)",
        lambda: protect.add_dataset(ws, alice, raw, "crm"),
    )
    policy = root / "policy.toml"
    policy.write_text(POLICY)
    clean = root / "crm-sanitized.csv"
    report = protect.sanitize(ws, alice, raw, clean, policy)
    for change in report.changes.as_list():
        console.print(
            f"  {change['column']:<8} {change['type']:<15} {change['action']:<13} "
            f"{change['count']:>6,} values",
            markup=False,
        )
    console.print(f"  dropped column(s): {', '.join(report.dropped)}", markup=False)
    console.print(f"  first row now: {clean.read_text().splitlines()[1]}", markup=False)
    stored = protect.add_dataset(ws, alice, clean, "crm")
    console.print(f"  stored crm@{stored.version}, labelled {stored.classification} by the rules")
    vault.get(ws, alice, Kind.DATASET, "crm", root / "crm-read.csv")

    step("Tokens reverse only with data:detokenize, and every reversal is audited")
    token = find_tokens(clean.read_text())[0]
    expect_denied(
        console, "the data scientist reversing a token", lambda: detokenize(ws, alice, [token])
    )
    value = detokenize(ws, admin, [token])[token]
    console.print(f"  the admin reverses {token} -> {value}", markup=False)
    table = Table(
        "dataset", "label", "sensitive types", "owner", "read by", title="bastion data inventory"
    )
    for item in protect.inventory(ws, admin):
        table.add_row(
            item.name,
            item.classification,
            (", ".join(sorted(item.sensitive_types)) or "none")
            if item.last_scan
            else "not scanned",
            item.owner,
            ", ".join(f"{p} ({n})" for p, n in sorted((item.readers or {}).items())),
        )
    console.print(table)
