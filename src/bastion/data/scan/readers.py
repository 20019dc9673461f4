"""Readers that stream a dataset file as bounded batches of string columns.

Formats, told by content first and by extension second (:func:`sniff_format`):

========  ==========================================================================
format    how it is read
========  ==========================================================================
parquet   magic ``PAR1``; Polars' streaming engine, row groups in batches; nested
          structs become ``a.b`` columns, lists ``a[]``; every scalar is cast to text
csv/tsv   Polars' streaming CSV reader with every column read as text (no type
          inference, so ``007`` stays ``007``); the separator is sniffed from the head
jsonl     one JSON value a line, parsed and flattened in Python: nested objects as
          ``a.b``, array elements as ``a[]``, numbers as their JSON text
text      any other text (``.txt``, ``.log``...): one pseudo-column ``text``, a cell a
          line (lines longer than :data:`MAX_LINE_BYTES` are cut in pieces)
========  ==========================================================================

Memory is bounded by the batch size, never by the file size: a batch holds at most
``batch_rows`` rows (records, lines); :func:`default_batch_rows` picks it so that a
batch is about :data:`TARGET_BATCH_BYTES` of source text (between 1,000 and 100,000
rows). A single JSON line or CSV row is always held whole.

Errors never quote the file's content (it is the sensitive data being looked for):
the messages name the problem and, where known, the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bastion.errors import DataScanError

FORMATS = ("csv", "tsv", "parquet", "jsonl", "text")
TARGET_BATCH_BYTES = 16 << 20
MIN_BATCH_ROWS = 1_000
MAX_BATCH_ROWS = 100_000
MAX_LINE_BYTES = 1 << 20  # text lines are cut in pieces of at most this size
SNIFF_BYTES = 64 << 10

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "text",
    ".log": "text",
    ".text": "text",
    ".md": "text",
}
SCANNABLE_EXTENSIONS = frozenset(_EXTENSIONS)

# First lines of Polars errors that say what is wrong without quoting the data.
_SAFE_POLARS_MESSAGES = (
    "found more fields than defined in 'Schema'",
    "empty CSV",
    "parquet: File out of specification",
    "File out of specification",
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Some rows of a dataset: ``(column name, text Series)`` pairs.

    Series of one batch may differ in length (``a[]`` holds every array element).
    ``nbytes`` estimates the source bytes the batch came from, for progress.
    """

    rows: int
    columns: tuple[tuple[str, pl.Series], ...]
    nbytes: int


def unreadable(path: Path, problem: str, **details: Any) -> DataScanError:
    return DataScanError(
        f"cannot read {path.name}: {problem}",
        code="data.scan.unreadable",
        details={"path": str(path), **details},
    )


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (for sniffing)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise unreadable(path, exc.strerror or type(exc).__name__) from None


def sniff_format(path: Path, head: bytes | None = None) -> str:
    """The format of ``path`` (one of :data:`FORMATS`); content wins over extension."""
    head = read_head(path) if head is None else head
    ext = path.suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if ext in (".parquet", ".pq"):
        raise unreadable(path, "not a Parquet file (no PAR1 magic)")
    if b"\x00" in head:
        raise DataScanError(
            f"{path.name} is binary and not a format the data scanner reads",
            code="data.scan.unsupported_format",
            details={"path": str(path)},
            hint="Supported: CSV, TSV, Parquet, JSON Lines, plain text and log files.",
        )
    known = _EXTENSIONS.get(ext)
    if known is not None and known != "jsonl":
        return known
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first.startswith((b"{", b"[")):
        return "jsonl"
    if known == "jsonl":
        return "jsonl"
    if ext in ("", ".dat", ".data") or known is None:
        return _sniff_delimited(head)
    return "text"


def _sniff_delimited(head: bytes) -> str:
    lines = [line for line in head.decode("utf-8", "replace").splitlines() if line][:20]
    if len(lines) < 2:
        return "text"
    for sep, fmt in (("\t", "tsv"), (",", "csv")):
        counts = {line.count(sep) for line in lines[:-1]}  # the last line may be cut
        if len(counts) == 1 and counts != {0}:
            return fmt
    return "text"


def sniff_separator(head: bytes) -> str:
    """The CSV separator: the one of ``, ; | TAB`` that splits the first lines alike."""
    lines = head.decode("utf-8", "replace").splitlines()
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut short
    lines = [line for line in lines if line.strip()][:20]
    if not lines:
        return ","
    best, best_score = ",", 0
    for sep in (",", ";", "\t", "|"):
        first = lines[0].count(sep)
        if first == 0:
            continue
        score = sum(1 for line in lines if line.count(sep) == first)
        if score > best_score:
            best, best_score = sep, score
    return best


def default_batch_rows(head: bytes) -> int:
    """Rows per batch so that a batch is about :data:`TARGET_BATCH_BYTES` of source."""
    lines = head.count(b"\n")
    per_row = len(head) / lines if lines else float(len(head) or 1)
    rows = int(TARGET_BATCH_BYTES / max(per_row, 1.0))
    return max(MIN_BATCH_ROWS, min(MAX_BATCH_ROWS, rows))


class Reader:
    """Streams one file as :class:`Batch` objects; ``rows_total`` when known up front."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        *,
        batch_rows: int,
        max_rows: int | None = None,
        max_bytes: int | None = None,
        has_header: bool = True,
        head: bytes | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise DataScanError(
                f"unknown data format {fmt!r}",
                code="data.scan.unsupported_format",
                hint=f"Use one of: {', '.join(FORMATS)}.",
            )
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.path = path
        self.format = fmt
        self.batch_rows = batch_rows
        self.max_rows = max_rows
        self.max_bytes = max_bytes  # JSON Lines and text stop after this many bytes
        self.has_header = has_header
        self.head = read_head(path) if head is None else head
        self.rows_total: int | None = None
        self.separator = "\t" if fmt == "tsv" else sniff_separator(self.head)
        if fmt == "parquet":
            self.rows_total = self._parquet_rows()

    def batches(self) -> Iterator[Batch]:
        if self.format in ("csv", "tsv"):
            return self._csv()
        if self.format == "parquet":
            return self._parquet()
        if self.format == "jsonl":
            return self._jsonl()
        return self._text()

    # -- CSV / TSV ----------------------------------------------------------------------

    def _csv(self) -> Iterator[Batch]:
        if not self.head.strip():
            return
        tsv = self.format == "tsv"
        frame = pl.scan_csv(
            self.path,
            separator=self.separator,
            quote_char=None if tsv else '"',
            has_header=self.has_header,
            infer_schema=False,
            encoding="utf8-lossy",
            n_rows=self.max_rows,
        )
        try:
            for df in frame.collect_batches(chunk_size=self.batch_rows):
                if df.height == 0:
                    continue
                yield Batch(
                    df.height,
                    tuple(zip(df.columns, df.get_columns(), strict=True)),
                    _text_bytes(df),
                )
        except pl.exceptions.PolarsError as exc:
            raise self._polars_error(exc) from None

    def column_names(self) -> list[str]:
        """The header (CSV/TSV): what Polars would name the columns."""
        try:
            schema = pl.scan_csv(
                self.path,
                separator=self.separator,
                quote_char=None if self.format == "tsv" else '"',
                has_header=self.has_header,
                infer_schema=False,
                encoding="utf8-lossy",
                n_rows=1,
            ).collect_schema()
        except pl.exceptions.PolarsError as exc:
            raise self._polars_error(exc) from None
        return list(schema.names())

    # -- Parquet ------------------------------------------------------------------------

    def _parquet_rows(self) -> int:
        try:
            return int(pl.scan_parquet(self.path).select(pl.len()).collect().item())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise self._polars_error(exc) from None

    def _parquet(self) -> Iterator[Batch]:
        total = self.rows_total or 0
        size = os.path.getsize(self.path)
        frame = pl.scan_parquet(self.path, n_rows=self.max_rows)
        try:
            for df in frame.collect_batches(chunk_size=self.batch_rows):
                if df.height == 0:
                    continue
                columns: list[tuple[str, pl.Series]] = []
                for series in df.get_columns():
                    columns.extend(_flatten_series(series.name, series))
                nbytes = size * df.height // total if total else 0
                yield Batch(df.height, tuple(columns), nbytes)
        except pl.exceptions.PolarsError as exc:
            raise self._polars_error(exc) from None

    # -- JSON Lines ---------------------------------------------------------------------

    def _jsonl(self) -> Iterator[Batch]:
        fields: dict[str, list[str]] = {}
        rows = nbytes = consumed = 0
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise unreadable(self.path, exc.strerror or type(exc).__name__) from None
        try:
            for number, line in enumerate(handle, start=1):
                if self._enough(rows, consumed):
                    break
                nbytes += len(line)
                consumed += len(line)
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    error = unreadable(self.path, f"line {number} is not JSON", line=number)
                    error.hint = "JSON Lines hold one JSON value a line (a .json document "
                    error.hint += "spread over several lines is not read)."
                    raise error from None
                _flatten_json(record, "", fields)
                rows += 1
                if rows % self.batch_rows == 0:
                    yield _json_batch(fields, self.batch_rows, nbytes)
                    fields, nbytes = {}, 0
        except OSError as exc:
            raise unreadable(self.path, exc.strerror or type(exc).__name__) from None
        finally:
            handle.close()
        if rows % self.batch_rows:
            yield _json_batch(fields, rows % self.batch_rows, nbytes)

    # -- text ---------------------------------------------------------------------------

    def _text(self) -> Iterator[Batch]:
        lines: list[str] = []
        nbytes = rows = consumed = 0
        try:
            with open(self.path, "rb") as handle:
                while not self._enough(rows, consumed):
                    raw = handle.readline(MAX_LINE_BYTES)
                    if not raw:
                        break
                    nbytes += len(raw)
                    consumed += len(raw)
                    rows += 1
                    lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    if len(lines) >= self.batch_rows or nbytes >= TARGET_BATCH_BYTES:
                        yield _text_batch(lines, nbytes)
                        lines, nbytes = [], 0
        except OSError as exc:
            raise unreadable(self.path, exc.strerror or type(exc).__name__) from None
        if lines:
            yield _text_batch(lines, nbytes)

    def _enough(self, rows: int, consumed: int) -> bool:
        if self.max_rows is not None and rows >= self.max_rows:
            return True
        return self.max_bytes is not None and consumed >= self.max_bytes

    def _polars_error(self, exc: BaseException) -> DataScanError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        safe = next((m for m in _SAFE_POLARS_MESSAGES if first.startswith(m)), None)
        if isinstance(exc, OSError):
            problem = exc.strerror or type(exc).__name__
        elif safe is not None:
            problem = f"malformed {self.format}: {safe}"
        else:
            # Polars quotes the offending field in its message: never repeated here.
            problem = f"malformed {self.format} ({type(exc).__name__})"
        return unreadable(self.path, problem, reason=type(exc).__name__)


def _text_bytes(df: pl.DataFrame) -> int:
    lengths = df.select(pl.sum_horizontal(pl.all().str.len_bytes().fill_null(0)).sum())
    return int(lengths.item() or 0) + df.height * max(df.width, 1)


def _text_batch(lines: list[str], nbytes: int) -> Batch:
    series = pl.Series("text", lines, dtype=pl.String)
    return Batch(len(lines), (("text", series),), nbytes)


def _json_batch(fields: dict[str, list[str]], rows: int, nbytes: int) -> Batch:
    columns = tuple(
        (name, pl.Series(name, cells, dtype=pl.String)) for name, cells in fields.items()
    )
    return Batch(rows, columns, nbytes)


def _flatten_json(value: Any, path: str, out: dict[str, list[str]]) -> None:
    """Append every scalar of ``value`` to ``out[dotted path]`` (arrays: ``path[]``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten_json(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for item in value:
            _flatten_json(item, f"{path}[]", out)
    elif isinstance(value, str):
        if value:
            out.setdefault(path or "$", []).append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out.setdefault(path or "$", []).append(json.dumps(value))


def _flatten_series(name: str, series: pl.Series) -> list[tuple[str, pl.Series]]:
    """Text columns for one Polars column: structs unnested, lists exploded."""
    dtype = series.dtype
    if isinstance(dtype, pl.Struct):
        flat: list[tuple[str, pl.Series]] = []
        for field in series.struct.unnest().get_columns():
            flat.extend(_flatten_series(f"{name}.{field.name}", field))
        return flat
    if isinstance(dtype, (pl.List, pl.Array)):
        return _flatten_series(f"{name}[]", series.explode().drop_nulls())
    if dtype == pl.Boolean or dtype == pl.Null or dtype == pl.Object:
        return []
    if dtype == pl.Binary:
        text = series.cast(pl.String, strict=False)
    elif dtype == pl.String:
        text = series
    else:
        try:
            text = series.cast(pl.String)
        except pl.exceptions.PolarsError:
            return []
    return [(name, text.alias(name))]
