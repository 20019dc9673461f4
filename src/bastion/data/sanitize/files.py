"""Sanitizing files: CSV/TSV and Parquet column-wise with Polars, JSON Lines per field,
text and logs per block. Output is written to a temporary file beside the destination
and renamed into place only when complete (after ``before_publish``, which commits new
tokens), so a crash never leaves a half-sanitized file or an unknown token behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bastion.data.sanitize.text import Changes, Sanitizer
from bastion.errors import InvalidInput

FORMATS = ("csv", "tsv", "parquet", "jsonl", "text")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# Text is sanitized in blocks of about this many characters, cut at blank lines.
TEXT_BLOCK_CHARS = 64 * 1024


@dataclass
class SanitizeReport:
    """What a sanitization did: rows, dropped columns and counts by column, type, action."""

    source: str
    output: str
    format: str
    rows: int = 0
    dropped: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the report."""
        return {
            "source": self.source,
            "output": self.output,
            "format": self.format,
            "rows": self.rows,
            "dropped_columns": self.dropped,
            "values_changed": self.changes.total,
            "changes": self.changes.as_list(),
            "seconds": round(self.seconds, 3),
        }


def file_format(path: Path) -> str:
    """The format of ``path`` from its name (anything else is text)."""
    return _SUFFIXES.get(path.suffix.lower(), "text")


def _sanitize_series(series: pl.Series, sanitizer: Sanitizer, changes: Changes) -> pl.Series:
    # Each distinct value is sanitized once, however many cells hold it.
    counts = series.drop_nulls().value_counts()
    old: list[str] = []
    new: list[str] = []
    for value, n in counts.iter_rows():
        out = sanitizer.cell(value, series.name, changes, weight=n)
        if out != value:
            old.append(value)
            new.append(out)
    if not old:
        return series
    return series.replace(old, new)


def _sanitize_frame(frame: pl.DataFrame, sanitizer: Sanitizer, changes: Changes) -> pl.DataFrame:
    columns = [
        _sanitize_series(frame[name], sanitizer, changes) if dtype == pl.String else frame[name]
        for name, dtype in frame.schema.items()
    ]
    return pl.DataFrame(columns)


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    # A temporary file beside the destination: same filesystem, so the rename is atomic.
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    staged = Path(name)
    try:
        yield staged
    finally:
        staged.unlink(missing_ok=True)


def _publish(staged: Path, out: Path) -> None:
    with open(staged, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staged, out)


def sanitize_file(
    source: Path,
    out: Path,
    sanitizer: Sanitizer,
    *,
    fmt: str | None = None,
    before_publish: Callable[[], object] | None = None,
) -> SanitizeReport:
    """Write a sanitized copy of ``source`` to ``out``; returns what changed."""
    fmt = fmt or file_format(source)
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", code="data.format_unsupported")
    if not source.is_file():
        raise InvalidInput(f"{source} is not a readable file", code="data.unreadable")
    if out.resolve() == source.resolve():
        raise InvalidInput("the output must not overwrite the input", code="data.output_is_input")
    started = time.monotonic()
    report = SanitizeReport(str(source), str(out), fmt)
    with _staged(out) as staged:
        try:
            if fmt in ("csv", "tsv", "parquet"):
                _tabular(source, staged, fmt, sanitizer, report)
            elif fmt == "jsonl":
                _jsonl(source, staged, sanitizer, report)
            else:
                _text(source, staged, sanitizer, report)
        except (pl.exceptions.PolarsError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(
                f"cannot read {source} as {fmt}: {str(exc).splitlines()[0][:200]}",
                code="data.malformed",
            ) from exc
        if before_publish is not None:
            before_publish()
        _publish(staged, out)
    report.seconds = time.monotonic() - started
    return report


def _tabular(
    source: Path, staged: Path, fmt: str, sanitizer: Sanitizer, report: SanitizeReport
) -> None:
    if fmt == "parquet":
        lazy = pl.scan_parquet(source)
    else:
        lazy = pl.scan_csv(source, separator="\t" if fmt == "tsv" else ",", infer_schema=False)
    names = lazy.collect_schema().names()
    report.dropped = [
        n for n in names if (r := sanitizer.policy.columns.get(n)) and r.action == "drop"
    ]
    if report.dropped:
        lazy = lazy.drop(report.dropped)

    def batch(frame: pl.DataFrame) -> pl.DataFrame:
        report.rows += frame.height
        return _sanitize_frame(frame, sanitizer, report.changes)

    # Batches stream through Python: memory stays bounded whatever the file's size.
    mapped = lazy.map_batches(batch, streamable=True)
    if fmt == "parquet":
        mapped.sink_parquet(staged)
    else:
        mapped.sink_csv(staged, separator="\t" if fmt == "tsv" else ",")


def _walk(value: Any, path: str, sanitizer: Sanitizer, changes: Changes) -> Any:
    if isinstance(value, str):
        return sanitizer.cell(value, path, changes)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            rule = sanitizer.policy.columns.get(child)
            if rule is not None and rule.action == "drop":
                changes.add(child, "FIELD", "drop")
                continue
            out[key] = _walk(item, child, sanitizer, changes)
        return out
    if isinstance(value, list):
        return [_walk(item, f"{path}[]", sanitizer, changes) for item in value]
    return value


def _jsonl(source: Path, staged: Path, sanitizer: Sanitizer, report: SanitizeReport) -> None:
    with open(source, encoding="utf-8") as src, open(staged, "w", encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            record = json.loads(line)
            cleaned = _walk(record, "", sanitizer, report.changes)
            dst.write(json.dumps(cleaned, ensure_ascii=False) + "\n")
            report.rows += 1


def _blocks(handle: Any) -> Iterator[str]:
    # Blocks end at a blank line once big enough, so a value (a PEM key, an address in
    # a signature) is not cut in two; a block with no blank line is cut at a line end.
    lines: list[str] = []
    size = 0
    for line in handle:
        lines.append(line)
        size += len(line)
        if size >= TEXT_BLOCK_CHARS and (not line.strip() or size >= 4 * TEXT_BLOCK_CHARS):
            yield "".join(lines)
            lines, size = [], 0
    if lines:
        yield "".join(lines)


def _text(source: Path, staged: Path, sanitizer: Sanitizer, report: SanitizeReport) -> None:
    with (
        open(source, encoding="utf-8", newline="") as src,
        open(staged, "w", encoding="utf-8", newline="") as dst,
    ):
        for block in _blocks(src):
            dst.write(sanitizer.text(block, report.changes))
            report.rows += block.count("\n")
