"""Time as a collaborator, so that tests can control it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, replays)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now = self._now + timedelta(seconds=seconds)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (the audit log's time unit)."""
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000 + moment.microsecond


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros`."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC)
