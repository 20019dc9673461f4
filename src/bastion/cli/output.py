"""Rendering: Rich tables for people, JSON for scripts, one error format for both."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from bastion.errors import BastionError


def console(stderr: bool = False) -> Console:
    """A console bound to the current streams (so test capture works)."""
    return Console(file=sys.stderr if stderr else sys.stdout, soft_wrap=True, highlight=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def print_json(value: Any, *, compact: bool = False) -> None:
    """Write one JSON document to stdout (``compact``: one line, for large machine output)."""
    if compact:
        # Without indentation the json module's C encoder does the work: 10x faster.
        text = json.dumps(value, default=_default, separators=(",", ":"), sort_keys=True)
    else:
        text = json.dumps(value, default=_default, indent=2, sort_keys=True)
    sys.stdout.write(text + "\n")


def fmt(value: Any) -> str:
    """A cell value for tables."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Rich table."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        # Cells are data (names, grants, audit details): plain text, never Rich markup.
        table.add_row(*(Text(fmt(v)) for v in row))
    console().print(table)


@contextmanager
def byte_progress(description: str) -> Iterator[Callable[[int], Callable[[int], None]]]:
    """A Rich progress bar on stderr for long byte streams; silent when not a terminal.

    Yields a factory: given the total size it returns the per-chunk ``advance`` callback.
    """
    err = console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:

        def start(total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        yield start


@contextmanager
def item_progress(description: str) -> Iterator[Callable[[int], Callable[[int], None]]]:
    """Like :func:`byte_progress`, counting items (files) instead of bytes."""
    err = console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:

        def start(total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        yield start


def say(message: str) -> None:
    """A line for people; the text is printed as is (paths and names are not markup)."""
    console().print(message, markup=False, emoji=False)


def render_error(error: BastionError, *, as_json: bool) -> None:
    """``error[code]: message`` and a hint on stderr; the same as JSON on stdout if asked."""
    err = console(stderr=True)
    err.print(Text.assemble(("error", "bold red"), f"[{error.code}]: {error.message}"))
    for issue in error.details.get("issues", [])[:20]:
        err.print(f"  - event {issue['seq']}: {issue['message']}", markup=False)
    if error.hint:
        err.print(f"hint: {error.hint}", markup=False)
    if as_json:
        print_json(
            {
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "hint": error.hint,
                    "details": error.details,
                }
            }
        )
