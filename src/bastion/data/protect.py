"""Data-protection services on the workspace: intake with classification, manual
reclassification, sanitization with the workspace's keys, and the dataset inventory.

Each runs on the operation path (authorized on entry, audited on exit); the pure parts
(detection, scanning, sanitizing, the classification rules) live in their own modules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from bastion.audit.store import AuditQuery
from bastion.clock import from_micros
from bastion.context import Context
from bastion.data.classify import LEVELS, ClassificationRules, load_rules
from bastion.db.engine import transaction
from bastion.db.models import DatasetScanRow, VaultObjectRow
from bastion.errors import (
    DataRejected,
    DataScanError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from bastion.identity.access import authorize, authorize_each
from bastion.operation import Operation, operation
from bastion.vault import objects
from bastion.vault.kinds import Kind
from bastion.vault.objects import DEFAULT_CLASSIFICATION
from bastion.workspace import Workspace

if TYPE_CHECKING:  # the scanner loads Polars: only when a scan actually runs
    from bastion.data.sanitize import SanitizeReport
    from bastion.data.scan import DatasetScan


def rules_for(ws: Workspace) -> ClassificationRules:
    """The workspace's classification rules (its own file, or Bastion's defaults)."""
    return load_rules(ws.settings.bastion_dir)


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise InvalidInput(
            f"unknown classification {level!r} (one of {', '.join(LEVELS)})",
            code="vault.bad_classification",
        )
    return level


@dataclass
class _Intake:
    """The AddHook that scans a dataset before it is encrypted and labels it."""

    path: Path
    rules: ClassificationRules
    chosen: str | None
    reason: str | None
    full: bool
    scan: Callable[[Path, bool], DatasetScan]
    result: DatasetScan | None = None
    label: str = ""
    suggested: str = ""
    by: str = ""
    at: datetime | None = None
    totals: dict[str, int] = field(default_factory=dict)
    unscanned: str | None = None

    def check(self, op: Operation) -> None:
        if not self.path.is_file():
            return  # the vault refuses it with its own error, before reading anything
        try:
            self.result = self.scan(self.path, self.full)
        except DataScanError as exc:
            if exc.code != "data.scan.unsupported_format":
                raise  # a CSV that does not parse is not vouched for: refused
            # Not a data format the scanner reads (images, archives): stored unscanned,
            # labelled as the caller says (with a reason) or confidential.
            self.unscanned = exc.message
            op.details["scan"] = "unsupported format: not scanned"
        if self.result is not None:
            self.totals = {t: n for t, n in self.result.totals.items() if n > 0}
            self.suggested = self.rules.classify(self.totals)
            op.details["sensitive_types"] = dict(sorted(self.totals.items()))
        else:
            self.suggested = DEFAULT_CLASSIFICATION
        op.details["suggested_classification"] = self.suggested
        if self.chosen is not None and self.chosen != self.suggested:
            # Raising a label is always allowed; lowering it needs a reason on record.
            lowering = LEVELS.index(self.chosen) < LEVELS.index(self.suggested)
            if lowering and not (self.reason and self.reason.strip()):
                raise DataRejected(
                    f"the scan suggests {self.suggested!r}; lowering it to {self.chosen!r} "
                    "needs a reason",
                    code="data.override_reason_missing",
                    hint="Pass --reason with why the label differs; it goes to the audit log.",
                )
            op.details["classification_override"] = {
                "suggested": self.suggested,
                "chosen": self.chosen,
                "reason": (self.reason or "").strip() or None,
            }
        self.label = self.chosen or self.suggested
        restricted = self.rules.restricted_types(self.totals)
        if restricted and not self.rules.allow_restricted_unsanitized:
            raise DataRejected(
                f"restricted values in clear: {', '.join(restricted)}; "
                "the classification rules refuse to store them unsanitized",
                code="data.restricted_unsanitized",
            )

    def record(self, session: Session, row: VaultObjectRow, op: Operation) -> None:
        row.classification = self.label
        if self.result is not None:
            summary = self.result.as_dict()
            summary.pop("path", None)  # the uploader's local path is not the dataset's business
            mode = self.result.mode
        else:
            summary, mode = {"error": self.unscanned}, "unscanned"
        session.add(
            DatasetScanRow(
                object_id=row.id,
                scanned_at=row.created_at,
                scanned_by=row.owner,
                mode=mode,
                totals=self.totals,
                summary=summary,
                suggested=self.suggested,
                classification=self.label,
                override_reason=(self.reason or "").strip() or None
                if self.label != self.suggested
                else None,
            )
        )
        session.flush()


def _default_scan(path: Path, full: bool) -> DatasetScan:
    from bastion.data.scan import scan_file

    return scan_file(path, full=full)


def add_dataset(
    ws: Workspace,
    ctx: Context,
    path: Path,
    name: str,
    *,
    classification: str | None = None,
    reason: str | None = None,
    full: bool = True,
    progress: objects.Progress | None = None,
    scan: Callable[[Path, bool], DatasetScan] = _default_scan,
) -> objects.ObjectInfo:
    """Scan ``path``, label it by the rules (or ``classification`` with a reason), refuse
    restricted values in clear unless the rules allow them, and store it encrypted."""
    # The vault validates name and label inside its audited operation, before the hook.
    hook = _Intake(path, rules_for(ws), classification, reason, full, scan)
    return objects.add(
        ws,
        ctx,
        Kind.DATASET,
        path,
        name,
        classification=classification,
        progress=progress,
        hook=hook,
    )


def reclassify(ws: Workspace, ctx: Context, name: str, level: str, reason: str) -> str:
    """Set the label of a dataset's latest version by hand; the reason is audited.

    Returns the previous label.
    """
    resource = Kind.DATASET.resource(name)
    with operation(ws, ctx, "data.classify", permission="data:write", resource=resource) as op:
        _check_level(level)
        if not reason.strip():
            raise InvalidInput(
                "a manual classification needs a reason", code="data.override_reason_missing"
            )
        with transaction(ws.sessions) as session:
            row = session.scalar(
                select(VaultObjectRow)
                .where(
                    VaultObjectRow.kind == Kind.DATASET.value,
                    VaultObjectRow.name == name,
                    VaultObjectRow.state == "active",
                )
                .order_by(desc(VaultObjectRow.version))
                .limit(1)
            )
            if row is None:
                raise NotFound(f"no dataset {name!r}", code="vault.not_found")
            previous = row.classification
            row.classification = level
            op.resource = f"{resource}@{row.version}"
        op.details.update(previous=previous, classification=level, reason=reason.strip())
        return previous


@dataclass(frozen=True)
class InventoryItem:
    """One dataset as the inventory shows it."""

    name: str
    version: int
    classification: str
    owner: str
    size: int
    sensitive_types: dict[str, int]
    last_scan: datetime | None
    scan_mode: str | None
    # Who read it (principal -> number of reads) and when last; None without audit:read.
    readers: dict[str, int] | None
    last_read: datetime | None


def _readers(ws: Workspace, names: list[str]) -> dict[str, tuple[Counter[str], int]]:
    seen: dict[str, tuple[Counter[str], int]] = {n: (Counter(), 0) for n in names}
    events = ws.audit_store.query(AuditQuery(action="data.get", outcome="success"))
    for event in events:
        name = event.resource.removeprefix("dataset/").partition("@")[0]
        if name in seen:
            counter, last = seen[name]
            counter[event.actor] += 1
            seen[name] = (counter, max(last, event.ts_us))
    return seen


def inventory(ws: Workspace, ctx: Context) -> list[InventoryItem]:
    """Every dataset the caller may list: label, sensitive types, owner, last scan, readers.

    Who read each dataset comes from the audit log and is shown only to callers who may
    read it (``audit:read``).
    """
    with operation(ws, ctx, "data.inventory", permission=None, resource="dataset/*") as op:
        op.details["permission"] = "data:list"
        with transaction(ws.sessions) as session:
            rows = session.scalars(
                select(VaultObjectRow)
                .where(
                    VaultObjectRow.kind == Kind.DATASET.value,
                    VaultObjectRow.state == "active",
                )
                .order_by(VaultObjectRow.name, VaultObjectRow.version)
            ).all()
            latest = {row.name: row for row in rows}
            visible = set(
                authorize_each(
                    session,
                    ctx.principal,
                    "data:list",
                    [Kind.DATASET.resource(n) for n in latest],
                    every="dataset/*",
                )
            )
            chosen = [r for n, r in latest.items() if Kind.DATASET.resource(n) in visible]
            scans: dict[str, DatasetScanRow] = {}
            for row in chosen:
                scan = session.scalar(
                    select(DatasetScanRow)
                    .where(DatasetScanRow.object_id == row.id)
                    .order_by(desc(DatasetScanRow.id))
                    .limit(1)
                )
                if scan is not None:
                    scans[row.id] = scan
            try:
                authorize(session, ctx.principal, "audit:read", "")
                may_audit = True
            except PermissionDenied:
                may_audit = False
        access = _readers(ws, [r.name for r in chosen]) if may_audit else {}
        items = []
        for row in chosen:
            scan = scans.get(row.id)
            readers, last = access.get(row.name, (None, 0))
            items.append(
                InventoryItem(
                    name=row.name,
                    version=row.version,
                    classification=row.classification,
                    owner=row.owner,
                    size=row.size,
                    sensitive_types=dict(scan.totals) if scan else {},
                    last_scan=scan.scanned_at if scan else None,
                    scan_mode=scan.mode if scan else None,
                    readers=dict(readers) if readers is not None else None,
                    last_read=from_micros(last) if last else None,
                )
            )
        op.details.update(shown=len(items), with_access=may_audit)
        return items


def inventory_as_dict(item: InventoryItem) -> dict[str, Any]:
    """The JSON shape of an inventory row."""
    return {
        "name": item.name,
        "version": item.version,
        "classification": item.classification,
        "owner": item.owner,
        "size": item.size,
        "sensitive_types": item.sensitive_types,
        "last_scan": item.last_scan.isoformat() if item.last_scan else None,
        "scan_mode": item.scan_mode,
        "readers": item.readers,
        "last_read": item.last_read.isoformat() if item.last_read else None,
    }


def known_entity_types() -> frozenset[str]:
    """Every entity type some registered recognizer detects."""
    from bastion.data.detect import default_detector

    return frozenset().union(*(r.entity_types for r in default_detector().recognizers))


def sanitize(
    ws: Workspace, ctx: Context, source: Path, out: Path, policy_path: Path
) -> SanitizeReport:
    """Write a sanitized copy of ``source`` under the policy file, with this workspace's
    pseudonymization key and token vault; audited with what changed (never the values)."""
    from bastion.data.detect import detect
    from bastion.data.sanitize import Sanitizer, load_policy, sanitize_file
    from bastion.data.sanitize.tokens import TokenVault

    with operation(
        ws, ctx, "data.sanitize", permission="data:write", resource=f"file/{source.name}"
    ) as op:
        policy = load_policy(policy_path, known_types=known_entity_types())
        op.details["policy"] = policy.describe()
        tokens = TokenVault(ws, ctx)
        sanitizer = Sanitizer(policy, detect, key=ws.keyring, tokens=tokens)
        report = sanitize_file(source, out, sanitizer, before_publish=tokens.commit)
        op.details.update(
            rows=report.rows,
            values_changed=report.changes.total,
            dropped_columns=report.dropped,
            changes=report.changes.as_list(),
        )
        return report
