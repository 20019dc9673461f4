"""Parsing of durations, times and standard-input secrets given to the command line."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta

from bastion.errors import InvalidInput

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def stdin_line(what: str) -> str:
    """One line from standard input (secrets are never taken as arguments)."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InvalidInput(f"no {what} on standard input", code="input.missing_stdin")
    return line


def duration(text: str) -> timedelta:
    """``90d``, ``24h``, ``30m``, ``45s``, ``2w``."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise InvalidInput(
            f"invalid duration {text!r}",
            code="input.bad_duration",
            hint="Use a number and a unit: 45s, 30m, 24h, 90d, 2w.",
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def moment(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC if no zone) or a duration meaning that long ago."""
    if _DURATION.fullmatch(text.strip()):
        return now - duration(text)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"invalid time {text!r}",
            code="input.bad_time",
            hint="Use ISO 8601 (2026-01-31T12:00:00Z) or a duration ago (1h, 7d).",
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
