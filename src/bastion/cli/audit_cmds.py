"""``bastion audit verify|query|export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.cli import output
from bastion.cli.parsing import moment
from bastion.cli.runtime import acting
from bastion.clock import Clock, from_micros, to_micros

if TYPE_CHECKING:
    from bastion.audit.store import AuditQuery

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

ActorOpt = Annotated[str | None, typer.Option("--actor", help="Exact actor name.")]
ActionOpt = Annotated[
    str | None, typer.Option("--action", help="Action; a trailing * matches a prefix.")
]
ResourceOpt = Annotated[
    str | None, typer.Option("--resource", help="Resource; trailing * = prefix.")
]
OutcomeOpt = Annotated[str | None, typer.Option("--outcome", help="success, denied or error.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="ISO time or duration ago (1h).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="ISO time or duration ago.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="At most this many events.")]


def _query(
    clock: Clock,
    actor: str | None,
    action: str | None,
    resource: str | None,
    outcome: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
) -> AuditQuery:
    # Services are imported inside functions, not at module level: they load SQLAlchemy and
    # cryptography, which would slow down the start of every command.
    from bastion.audit.store import AuditQuery

    now = clock.now()
    return AuditQuery(
        actor=actor,
        action=action,
        resource=resource,
        outcome=outcome,
        since_us=to_micros(moment(since, now)) if since else None,
        until_us=to_micros(moment(until, now)) if until else None,
        limit=limit,
    )


@audit_app.command("verify")
def verify(as_json: JsonFlag = False) -> None:
    """Recompute the hash chain and check signed checkpoints; name any bad event."""
    from bastion.audit import service

    with acting() as (ws, ctx):
        report = service.verify(ws, ctx)
    if as_json:
        output.print_json(report.as_dict())
        return
    output.say(
        f"Audit log intact: {report.events} events, {report.checkpoints} signed checkpoints "
        f"(latest at event {report.last_checkpoint_seq}), head {report.head_hash[:16]}…"
    )


@audit_app.command("query")
def query(
    actor: ActorOpt = None,
    action: ActionOpt = None,
    resource: ResourceOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Filter events by actor, action, resource, outcome and time."""
    from bastion.audit import service

    with acting() as (ws, ctx):
        events = service.query_events(
            ws, ctx, _query(ws.clock, actor, action, resource, outcome, since, until, limit)
        )
    if as_json:
        output.print_json([e.as_dict() for e in events])
        return
    output.print_table(
        "Audit events",
        ["seq", "time", "actor", "action", "resource", "outcome", "source", "details"],
        [
            (
                e.seq,
                from_micros(e.ts_us),
                e.actor,
                e.action,
                e.resource,
                e.outcome,
                e.source,
                e.details,
            )
            for e in events
        ],
    )


@audit_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or ocsf.")] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout).")
    ] = None,
    actor: ActorOpt = None,
    action: ActionOpt = None,
    resource: ResourceOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = None,
) -> None:
    """Export events as JSON Lines or OCSF for a SIEM."""
    from bastion.audit import service
    from bastion.crypto.files import write_private_atomic

    with acting() as (ws, ctx):
        lines = list(
            service.export(
                ws,
                ctx,
                fmt,
                _query(ws.clock, actor, action, resource, outcome, since, until, limit),
            )
        )
    text = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        write_private_atomic(out, text.encode("utf-8"))
        output.say(
            f"Wrote {len(lines)} events to {out}",
        )
