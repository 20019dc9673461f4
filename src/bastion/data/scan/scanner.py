"""Scan dataset files for sensitive values: per column (or JSON field) statistics.

``scan_file(path)`` looks at a sample (the first ``sample_rows`` rows, or
:data:`SAMPLE_BYTES` of a text or JSON Lines file); ``scan_file(path, full=True)`` reads
everything. Files stream in bounded batches (see :mod:`bastion.data.scan.readers`), so
files larger than memory scan in bounded memory.

How the work is split: the reading process parses each batch and picks, per column, the
distinct candidate values with Polars (:func:`~bastion.data.scan.columns.prepare_batch`,
multi-threaded Rust); the recognizers, which are Python, run on those values in ``jobs``
worker processes, one task per column of a batch (forked on Linux; they never call
Polars, whose thread pool does not survive a fork). A file of one batch of fewer than
:data:`PARALLEL_MIN_ROWS` rows never starts a worker. The first :data:`LEARN_ROWS` rows
are detected in full before anything else: they decide the typed columns and the first
trusted shapes (see :mod:`bastion.data.scan.columns`). Later batches keep teaching
trusted shapes; batch *i* uses what batches up to *i - 1 -* :data:`TRUST_LAG` taught,
and at most ``TRUST_LAG`` batches are in flight, which bounds memory and makes the
result the same for any ``jobs``. Results are merged in batch order.

Memory: about ``TRUST_LAG + 2`` batches of :data:`~bastion.data.scan.readers.
TARGET_BATCH_BYTES` (16 MiB of source) are alive at once, as Polars frames and as the
Python lists of their distinct candidates, plus each worker's bounded memo.

``DatasetScan.as_dict()`` (what ``bastion data scan --json`` prints), one per file::

    {
      "path": "customers.csv",
      "format": "csv",                  # csv | tsv | parquet | jsonl | text
      "mode": "sample",                 # sample | full
      "rows": 10000,                    # rows (records, lines) scanned
      "rows_total": null,               # rows in the file, when known
      "bytes": 1073741824,              # file size
      "seconds": 0.41,
      "exact": true,                    # false when trusted shapes extrapolated counts
      "totals": {"EMAIL_ADDRESS": 9987},   # findings per type, all columns
      "notes": [],                      # e.g. the first row was not a header
      "error": null,                    # or {"code": "data.scan.unreadable", "message": ...}
      "columns": [
        {
          "name": "email",              # column, or JSON field path (a.b, a[]), or "text"
          "name_hint": "EMAIL_ADDRESS", # what the name suggests; never counted
          "values": 10000,              # non-empty cells
          "candidates": 9990,           # cells a recognizer's prefilter let through
          "distinct_scanned": 9990,     # distinct values given to the recognizers
          "typed_as": "EMAIL_ADDRESS",  # the typed fast path's type, when used
          "exact": true,                # false when shortcut_cells > 0
          "shortcut_cells": 0,          # cells counted by a trusted shape, not recognizers
          "verified": 0,                # trusted-shape values still checked ...
          "disagreed": 0,               # ... and those whose outcome differed
          "top_recognizers": {"email": 9987},
          "types": [
            {"type": "EMAIL_ADDRESS", "cells": 9987, "findings": 9987,
             "fraction": 0.9987, "examples": ["a***********m"],
             "recognizers": {"email": 9987}}
          ]
        }
      ]
    }

Masked examples keep the first and last character of a value; no raw value is ever
put in a result.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import stat
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.data.detect.registry import Detector, default_detector
from bastion.data.scan.columns import (
    ColumnPartial,
    ColumnStats,
    ColumnWork,
    Plan,
    Runner,
    detect_batch,
    plan_for,
    prepare_batch,
    trusted_patterns,
)
from bastion.data.scan.readers import (
    SCANNABLE_EXTENSIONS,
    Batch,
    Reader,
    default_batch_rows,
    read_head,
    sniff_format,
    unreadable,
)
from bastion.errors import DataScanError

# Given the total number of bytes to scan, returns the callback told of bytes scanned
# (the shape of ``bastion.cli.output.byte_progress``).
Progress = Callable[[int], Callable[[int], None]]

DEFAULT_SAMPLE_ROWS = 10_000
SAMPLE_BYTES = 16 << 20  # a sample of a text or JSON Lines file stops after this much
PARALLEL_MIN_ROWS = 5_000  # a file of one smaller batch is scanned in this process
LEARN_ROWS = 20_000  # the first batch learned from is at most this many rows
TRUST_LAG = 4  # batches in flight, and the lag before what they teach is used
Patterns = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DatasetScan:
    """What a scan of one file found; ``as_dict`` gives the JSON shape (module docs)."""

    path: str
    format: str
    mode: str
    rows: int
    bytes: int
    seconds: float
    columns: tuple[ColumnStats, ...]
    totals: dict[str, int]
    error: str | None = None
    error_code: str | None = None
    rows_total: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def sampled(self) -> bool:
        return self.mode == "sample"

    @property
    def exact(self) -> bool:
        """Whether every count comes from recognizers (no trusted-shape extrapolation)."""
        return all(column.exact for column in self.columns)

    def column(self, name: str) -> ColumnStats:
        """The column (or field path) called ``name``; KeyError if there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "mode": self.mode,
            "rows": self.rows,
            "rows_total": self.rows_total,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "exact": self.exact,
            "totals": dict(sorted(self.totals.items(), key=lambda kv: (-kv[1], kv[0]))),
            "notes": list(self.notes),
            "error": (
                None
                if self.error is None
                else {"code": self.error_code or DataScanError.code, "message": self.error}
            ),
            "columns": [c.as_dict() for c in self.columns],
        }


def scan_file(
    path: str | os.PathLike[str],
    *,
    detector: Detector | None = None,
    full: bool = False,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    jobs: int | None = None,
    progress: Progress | None = None,
    batch_rows: int | None = None,
    format: str | None = None,
    exact: bool = False,
) -> DatasetScan:
    """Scan one file; raises :class:`~bastion.errors.DataScanError` when it cannot be read.

    ``full=False`` scans the first ``sample_rows`` rows; ``full=True`` every row.
    ``jobs`` worker processes run the recognizers (default: one per core). ``progress``
    is told the file size, then the bytes done. ``batch_rows`` overrides the batch size
    and ``format`` the sniffed format (``csv``, ``tsv``, ``parquet``, ``jsonl``, ``text``).
    ``exact=True`` gives every candidate value to the recognizers: no trusted shapes and
    no typed columns (see :mod:`bastion.data.scan.columns`), slower on large files.
    """
    target = Path(path)
    size = _file_size(target)
    advance = progress(size) if progress is not None else None
    scan = _Scan(target, size, detector, full, sample_rows, jobs, batch_rows, format, exact)
    return scan.run(advance)


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    detector: Detector | None = None,
    full: bool = False,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    jobs: int | None = None,
    progress: Progress | None = None,
    batch_rows: int | None = None,
    exact: bool = False,
) -> list[DatasetScan]:
    """Scan files and folders (recursively, in name order); never raises for a bad file.

    Folders contribute the files with a data extension (``.csv``, ``.parquet``,
    ``.jsonl``, ``.log``...); files named directly are always tried. A file that cannot
    be read gives a ``DatasetScan`` with ``error`` and ``error_code`` set.
    """
    files = list(expand(Path(p) for p in paths))
    sizes = []
    for file in files:
        try:
            sizes.append(file.stat().st_size)
        except OSError:
            sizes.append(0)
    advance = progress(sum(sizes)) if progress is not None else None
    results = []
    for file, size in zip(files, sizes, strict=True):
        started = time.monotonic()
        try:
            real_size = _file_size(file)
            scan = _Scan(
                file, real_size, detector, full, sample_rows, jobs, batch_rows, None, exact
            )
            results.append(scan.run(advance))
        except DataScanError as exc:
            if advance is not None and size:
                advance(size)
            results.append(
                DatasetScan(
                    path=str(file),
                    format="unknown",
                    mode="full" if full else "sample",
                    rows=0,
                    bytes=size,
                    seconds=time.monotonic() - started,
                    columns=(),
                    totals={},
                    error=exc.message,
                    error_code=exc.code,
                )
            )
    return results


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and data files under folders (symlinks not followed, names sorted)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(root) / name
                    if (
                        not name.startswith(".")
                        and candidate.suffix.lower() in SCANNABLE_EXTENSIONS
                        and not candidate.is_symlink()
                    ):
                        yield candidate
        else:
            yield path


def _file_size(path: Path) -> int:
    try:
        info = path.stat()
    except OSError as exc:
        raise unreadable(path, exc.strerror or type(exc).__name__) from None
    if not stat.S_ISREG(info.st_mode):
        raise unreadable(path, "not a regular file")
    return info.st_size


class _Scan:
    """One file's scan: read, prepare (Polars), detect (workers), merge in order."""

    def __init__(
        self,
        path: Path,
        size: int,
        detector: Detector | None,
        full: bool,
        sample_rows: int,
        jobs: int | None,
        batch_rows: int | None,
        fmt: str | None,
        exact: bool = False,
    ) -> None:
        if sample_rows < 1:
            raise ValueError("sample_rows must be at least 1")
        self.path = path
        self.size = size
        self.detector = detector
        self.full = full
        self.sample_rows = sample_rows
        self.jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
        self.batch_rows = batch_rows
        self.fmt = fmt
        self.notes: list[str] = []
        self.partials: dict[str, ColumnPartial] = {}
        self.typed: dict[str, str] = {}
        self.snapshots: dict[int, tuple[dict[str, Patterns], frozenset[str]]] = {}
        self.exact = exact
        self.fmt_read = ""
        self.batches = 0
        self.done = 0

    def run(self, advance: Callable[[int], None] | None) -> DatasetScan:
        started = time.monotonic()
        self.advance = advance
        detector = self.detector if self.detector is not None else default_detector()
        reader = self._reader(detector)
        rows = 0
        if reader is not None:
            plan = plan_for(detector.recognizers)
            runner = Runner(detector)
            rows = self._detect_all(reader.batches(), plan, runner, detector)
        if advance is not None and self.size > self.done:
            advance(self.size - self.done)
        rows_total = reader.rows_total if reader is not None else 0
        if rows_total is None and (self.full or rows < self.sample_rows):
            rows_total = rows
        columns = tuple(
            partial.finish(self.typed.get(name) if self.batches > 1 else None)
            for name, partial in self.partials.items()
        )
        totals: dict[str, int] = {}
        for column in columns:
            for stats in column.types:
                totals[stats.type] = totals.get(stats.type, 0) + stats.findings
        return DatasetScan(
            path=str(self.path),
            format=reader.format if reader is not None else self.fmt or "empty",
            mode="full" if self.full else "sample",
            rows=rows,
            bytes=self.size,
            seconds=time.monotonic() - started,
            columns=columns,
            totals=totals,
            rows_total=rows_total,
            notes=tuple(self.notes),
        )

    def _reader(self, detector: Detector) -> Reader | None:
        if self.size == 0:
            return None
        head = read_head(self.path)
        fmt = self.fmt or sniff_format(self.path, head)
        rows = self.batch_rows or default_batch_rows(head)
        limits: dict[str, Any] = {}
        if not self.full:
            limits = {"max_rows": self.sample_rows, "max_bytes": SAMPLE_BYTES}
        self.fmt_read = fmt
        reader = Reader(self.path, fmt, batch_rows=rows, head=head, **limits)
        if fmt in ("csv", "tsv") and any(detector.detect(n) for n in reader.column_names()):
            # A header that holds a sensitive value is a data row: it must be counted,
            # and it must not be printed as a column name.
            self.notes.append("the first row holds sensitive values: read as data, not a header")
            reader = Reader(self.path, fmt, batch_rows=rows, head=head, has_header=False, **limits)
        return reader

    def _merge(self, partials: list[ColumnPartial], nbytes: int) -> None:
        for partial in partials:
            mine = self.partials.get(partial.name)
            if mine is None:
                self.partials[partial.name] = partial
            else:
                mine.merge(partial)
        if self.advance is not None:
            step = min(nbytes, self.size - self.done)
            if step > 0:
                self.done += step
                self.advance(step)

    def _detect_all(
        self, batches: Iterator[Batch], plan: Plan, runner: Runner, detector: Detector
    ) -> int:
        first = next(batches, None)
        if first is None:
            return 0
        learn, rest = _split(first, LEARN_ROWS)
        later: Iterator[Batch] = itertools.chain([rest] if rest is not None else [], batches)
        second = next(later, None)
        later = itertools.chain([second] if second is not None else [], later)
        context = self.fmt_read != "text"
        rows = learn.rows
        with ExitStack() as stack:
            pool: ProcessPoolExecutor | None = None
            if self.jobs > 1 and (second is not None or learn.rows >= PARALLEL_MIN_ROWS):
                pool = stack.enter_context(_worker_pool(self.jobs, detector, self.detector))
            # The learning slice, before anything else: it decides the typed columns and
            # the first trusted shapes, whatever ``jobs`` is.
            work = prepare_batch(learn.columns, plan, shapes=not self.exact, context=context)
            self._merge(self._detect_now(pool, runner, work), learn.nbytes)
            if not self.exact:
                for name, partial in self.partials.items():
                    entity = partial.dominant_type()
                    if entity is not None:
                        self.typed[name] = entity
            self._snapshot(0)
            pending: deque[tuple[int, list[Future[list[ColumnPartial]]], int]] = deque()
            for index, batch in enumerate(later, start=1):
                rows += batch.rows
                # Batch ``index`` uses what was learned up to batch ``index - 1 - LAG``: the
                # same for any ``jobs``, as at most LAG batches are ever in flight.
                known = max(0, index - 1 - TRUST_LAG)
                while pending and pending[0][0] <= known:
                    self._merge_futures(*pending.popleft())
                trusted, learnable = self.snapshots[known]
                work = prepare_batch(
                    batch.columns, plan, trusted=trusted, shapes=learnable, context=context
                )
                if pool is None:
                    self._merge(detect_batch(work, runner, self.typed), batch.nbytes)
                    self._snapshot(index)
                    continue
                futures = [pool.submit(_detect_in_worker, [w], self.typed) for w in work]
                pending.append((index, futures, batch.nbytes))
            while pending:
                self._merge_futures(*pending.popleft())
        return rows

    def _snapshot(self, index: int) -> None:
        """Record the trusted shapes and learnable columns known after batch ``index``."""
        self.batches = max(self.batches, index + 1)
        if self.exact:
            self.snapshots[index] = ({}, frozenset())
        else:
            trusted = {}
            learnable = set()
            for name, partial in self.partials.items():
                shapes = partial.trusted_shapes()
                if shapes:
                    trusted[name] = trusted_patterns(shapes)
                if partial.learnable:
                    learnable.add(name)
            self.snapshots[index] = (trusted, frozenset(learnable))
        self.snapshots.pop(index - TRUST_LAG - 2, None)

    def _detect_now(
        self, pool: ProcessPoolExecutor | None, runner: Runner, work: list[ColumnWork]
    ) -> list[ColumnPartial]:
        if pool is None:
            return detect_batch(work, runner, self.typed)
        futures = [pool.submit(_detect_in_worker, [w], self.typed) for w in work]
        return [partial for future in futures for partial in future.result()]

    def _merge_futures(
        self, index: int, futures: list[Future[list[ColumnPartial]]], nbytes: int
    ) -> None:
        self._merge([partial for future in futures for partial in future.result()], nbytes)
        self._snapshot(index)


class _worker_pool:
    """A process pool whose workers each build a :class:`Runner` once."""

    def __init__(self, jobs: int, detector: Detector, given: Detector | None) -> None:
        fork = sys.platform == "linux"
        context = multiprocessing.get_context("fork" if fork else "spawn")
        # Forked workers inherit the detector; spawned ones get it pickled, or rebuild
        # the default one themselves.
        shipped = detector if fork or given is not None else None
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() beside Polars' threads; the workers never
            # call Polars, and everything they use is plain Python.
            warnings.filterwarnings("ignore", "This process .* multi-threaded", DeprecationWarning)
            self.pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_init_worker, initargs=(shipped,)
            )
            # Fork every worker now, inside this block.
            for future in [self.pool.submit(_ready) for _ in range(jobs)]:
                future.result()

    def __enter__(self) -> ProcessPoolExecutor:
        return self.pool

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_WORKER_RUNNER: Runner | None = None


def _init_worker(detector: Detector | None) -> None:
    global _WORKER_RUNNER
    _WORKER_RUNNER = Runner(detector if detector is not None else default_detector())


def _ready() -> bool:
    return True


def _detect_in_worker(work: Sequence[ColumnWork], typed: dict[str, str]) -> list[ColumnPartial]:
    assert _WORKER_RUNNER is not None
    return detect_batch(work, _WORKER_RUNNER, typed)


def _split(batch: Batch, rows: int) -> tuple[Batch, Batch | None]:
    """The first ``rows`` rows of ``batch``, and the rest (JSON arrays: by value)."""
    if batch.rows <= rows:
        return batch, None
    share = batch.nbytes * rows // batch.rows
    head = Batch(rows, tuple((n, s.head(rows)) for n, s in batch.columns), share)
    tail = Batch(
        batch.rows - rows,
        tuple((n, s.slice(rows)) for n, s in batch.columns),
        batch.nbytes - share,
    )
    return head, tail
