"""The column engine: vectorized candidate selection in Polars, detection on distinct values.

For each text column of a batch, in two steps that run in different places:

1. :func:`prepare_batch` (the reading process, Polars, multi-threaded Rust): empty cells
   are dropped, the column is grouped by value (each distinct value once, with its
   count), and every recognizer's ``prefilter`` regex is matched against the distinct
   values. A value goes on only if some prefilter matched it (or some recognizer has
   none); it carries a bitmask of the recognizers whose prefilter matched, and only
   those will look at it.
2. :func:`detect_batch` (a worker process, pure Python): each candidate value is given
   to the recognizers of its bitmask, overlaps are resolved as
   :meth:`~bastion.data.detect.Detector.detect` resolves them, and the findings are
   counted once per *cell*: a value seen 500 times is detected once and weighs 500.

Prefilters (optional, on each recognizer)
    ``prefilter: str | None`` is a regular expression in Rust's dialect (no look-around,
    no back-references). It must be a *necessary* condition: when it does not match a
    cell, the recognizer must find nothing in it. ``None`` (or no attribute, or a pattern
    Polars cannot compile) means every non-empty cell is shown to that recognizer.

Typed columns (the fast path)
    After a column's first batch, if at least :data:`DOMINANT_SHARE` of its distinct
    values are, each whole, one finding of the same type T (an ``email`` column), the
    column is *typed* T. In later batches each candidate value of a typed column goes
    to T's recognizers first; when they claim the whole value (surrounding blanks
    aside), the other recognizers are not run on it. That is the one place where the
    result can differ from running the full detector: another recognizer could have
    claimed an overlapping span with a higher score. Everything else (values T's
    recognizers do not claim whole) gets the full detector. The saving is the cost of
    the recognizers that have no prefilter (the learned PERSON / STREET_ADDRESS
    taggers) on columns that are plainly something else.

Column names as context
    A recognizer that needs a label near a value (``dob``, ``passport``, an undashed
    SSN) gets one from the column: it reads ``"<column>: <value>"``, and only findings
    inside the value count. A column's name alone is never a finding (``name_hint``).

Trusted shapes (``exact=False``, the default)
    A value's *shape* is its text with letter runs written ``A``/``a`` and digits ``9``
    (``(415) 555-0134`` -> ``(999) 999-9999``). A shape for which at least
    :data:`TRUST_MIN_DISTINCT` distinct candidates of a column all had the same outcome
    (nothing found, or the whole value one finding of type T by recognizer R) becomes
    *trusted* for that column: later values of that shape are counted with that outcome
    in Polars (one regex per outcome, :func:`shape_pattern`), without Python, except one
    in :data:`VERIFY_EVERY` (chosen by hash) which still goes through the recognizers;
    those checks are counted (``verified``), and a check that disagrees (``disagreed``)
    makes the shape a conflict, no longer trusted from then on. Cells counted this way
    are extrapolated, and reported as such (``shortcut_cells``; a column or scan with any
    is not ``exact``). ``exact=True`` turns this off, and the typed fast path too. What
    makes it worth it: a validating recognizer costs 10 to 150 us a value in Python
    (libphonenumber, Luhn, mod 97), a shape regex well under 1 us in Polars.

Masked examples keep a value's first and last character (``j*************m``); values
of four characters or fewer are all ``*``. Reports never hold a raw value.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from bastion.data.detect.base import Finding, Recognizer
from bastion.data.detect.registry import Detector, resolve_overlaps

EXAMPLES_PER_TYPE = 3
DOMINANT_SHARE = 0.8
DOMINANT_MIN_DISTINCT = 10
TRUST_MIN_DISTINCT = 200
VERIFY_EVERY = 50
CONTEXT_MAX_CHARS = 64
# Bits 0..61 of a candidate's mask are computed in Polars (Int64); recognizers past the
# 62nd are shown every candidate.
_POLARS_MASK_BITS = 62
# Per-process memo of detection results, cleared when it reaches this many values.
_CACHE_MAX = 100_000
_CONFLICT = "\x00"  # a shape whose values had different outcomes
_VERIFY_SEED = 0x5EED
MAX_SHAPES_PER_OUTCOME = 512
# Columns with more shapes than this (free text) are not learned from after the first
# batch, and a column keeps statistics on at most this many shapes.
MAX_SHAPES_PER_COLUMN = 2048
_RUST_META = frozenset("\\.+*?()|[]{}^$#&-~")

# Necessary conditions for Bastion's own recognizers, by name, read off their patterns;
# used only while a built-in recognizer has no ``prefilter`` attribute of its own.
# Column-name words that suggest a type. A hint is reported, never counted as a finding.
_NAME_HINTS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"ssn", "socialsecurity", "socialsecuritynumber", "sin"}), "US_SSN"),
    (frozenset({"email", "mail", "emailaddress"}), "EMAIL_ADDRESS"),
    (
        frozenset({"phone", "tel", "telephone", "mobile", "cell", "fax", "msisdn", "phonenumber"}),
        "PHONE_NUMBER",
    ),
    (frozenset({"dob", "birth", "birthday", "birthdate", "dateofbirth"}), "DATE_OF_BIRTH"),
    (frozenset({"card", "cc", "pan", "creditcard", "cardnumber", "ccnumber"}), "CREDIT_CARD"),
    (frozenset({"iban"}), "IBAN_CODE"),
    (frozenset({"ip", "ipaddress", "ipv4", "ipv6", "ipaddr"}), "IP_ADDRESS"),
    (frozenset({"passport", "passportnumber"}), "US_PASSPORT"),
    (frozenset({"mrn", "medicalrecord", "medicalrecordnumber"}), "MEDICAL_RECORD_NUMBER"),
    (
        frozenset({"address", "street", "addr", "streetaddress", "address1", "address2"}),
        "STREET_ADDRESS",
    ),
    (
        frozenset(
            {
                "name",
                "fullname",
                "firstname",
                "lastname",
                "surname",
                "givenname",
                "forename",
                "familyname",
            }
        ),
        "PERSON",
    ),
    (frozenset({"apikey", "secret", "token", "password", "accesskey", "secretkey"}), "API_SECRET"),
)


def mask_value(value: str) -> str:
    """``value`` with all but its first and last character replaced by ``*``."""
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[0]}{'*' * (len(value) - 2)}{value[-1]}"


def name_hint(column: str) -> str | None:
    """The entity type a column's name suggests (``customer_ssn`` -> ``US_SSN``), if any."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w][:16]
    joined = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    for keys, entity in _NAME_HINTS:
        if keys & joined:
            return entity
    return None


def shape_of(value: str) -> str:
    """The shape of ``value`` as :func:`prepare_batch` computes it in Polars."""
    value = re.sub(r"[A-Z]+", "A", value)
    value = re.sub(r"[a-z]+", "a", value)
    return re.sub(r"[0-9]", "9", value)


def _shape_expr(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.replace_all(r"[A-Z]+", "A")
        .str.replace_all(r"[a-z]+", "a")
        .str.replace_all(r"[0-9]", "9")
    )


# -- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeStats:
    """One entity type in one column.

    ``cells``: cells holding at least one finding of the type; ``findings``: findings
    (a cell may hold several); ``fraction``: ``cells`` over the column's non-empty cells;
    ``recognizers``: who found them, most findings first.
    """

    type: str
    cells: int
    findings: int
    fraction: float
    examples: tuple[str, ...]
    recognizers: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "cells": self.cells,
            "findings": self.findings,
            "fraction": round(self.fraction, 6),
            "examples": list(self.examples),
            "recognizers": dict(self.recognizers),
        }


@dataclass(frozen=True, slots=True)
class ColumnStats:
    """What was found in one column (tabular) or field path (JSON); ``text`` for text.

    ``values``: non-empty cells; ``candidates``: those some prefilter let through;
    ``distinct_scanned``: distinct values given to recognizers (counted per batch);
    ``typed_as``: the type the typed fast path treated the column as, if it did;
    ``shortcut_cells``: cells counted by a trusted shape instead of by recognizers, and
    ``verified`` / ``disagreed``: the trusted-shape values checked, and those whose
    recognizers' outcome differed from the shape's.
    """

    name: str
    name_hint: str | None
    values: int
    candidates: int
    distinct_scanned: int
    types: tuple[TypeStats, ...]
    typed_as: str | None = None
    shortcut_cells: int = 0
    verified: int = 0
    disagreed: int = 0

    @property
    def exact(self) -> bool:
        """Whether every count comes from recognizers (no trusted-shape extrapolation)."""
        return self.shortcut_cells == 0

    @property
    def top_recognizers(self) -> tuple[tuple[str, int], ...]:
        total: dict[str, int] = {}
        for stats in self.types:
            for name, count in stats.recognizers:
                total[name] = total.get(name, 0) + count
        return tuple(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "name_hint": self.name_hint,
            "values": self.values,
            "candidates": self.candidates,
            "distinct_scanned": self.distinct_scanned,
            "typed_as": self.typed_as,
            "exact": self.exact,
            "shortcut_cells": self.shortcut_cells,
            "verified": self.verified,
            "disagreed": self.disagreed,
            "top_recognizers": dict(self.top_recognizers),
            "types": [t.as_dict() for t in self.types],
        }


@dataclass(slots=True)
class ColumnPartial:
    """Counts for one column over some batches; partials of later batches merge in."""

    name: str
    values: int = 0
    candidates: int = 0
    distinct: int = 0  # distinct non-empty values (per batch, summed)
    scanned: int = 0  # distinct candidates given to recognizers
    shortcut: int = 0
    verified: int = 0
    disagreed: int = 0
    cells: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    recognizers: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    whole: dict[str, int] = field(default_factory=dict)  # distinct values wholly one type
    # shape -> [distinct candidates, their common outcome or _CONFLICT] (first batch only)
    shapes: dict[str, tuple[int, str]] = field(default_factory=dict)

    def merge(self, other: ColumnPartial) -> None:
        self.values += other.values
        self.candidates += other.candidates
        self.distinct += other.distinct
        self.scanned += other.scanned
        self.shortcut += other.shortcut
        self.verified += other.verified
        self.disagreed += other.disagreed
        for entity, n in other.cells.items():
            self.cells[entity] = self.cells.get(entity, 0) + n
        for entity, n in other.findings.items():
            self.findings[entity] = self.findings.get(entity, 0) + n
        for entity, by_name in other.recognizers.items():
            mine = self.recognizers.setdefault(entity, {})
            for name, n in by_name.items():
                mine[name] = mine.get(name, 0) + n
        for entity, examples in other.examples.items():
            for example in examples:
                _add_example(self.examples.setdefault(entity, []), example)
        for entity, n in other.whole.items():
            self.whole[entity] = self.whole.get(entity, 0) + n
        for shape, (n, outcome) in other.shapes.items():
            if shape in self.shapes or len(self.shapes) < MAX_SHAPES_PER_COLUMN:
                _add_shape(self.shapes, shape, outcome, n)

    def dominant_type(self) -> str | None:
        """The type that wholly fills at least :data:`DOMINANT_SHARE` of distinct values."""
        if self.distinct < DOMINANT_MIN_DISTINCT or not self.whole:
            return None
        entity, n = max(self.whole.items(), key=lambda kv: (kv[1], kv[0]))
        return entity if n >= DOMINANT_SHARE * self.distinct else None

    @property
    def learnable(self) -> bool:
        """Whether the column has few enough shapes to keep learning them."""
        return len(self.shapes) < MAX_SHAPES_PER_COLUMN

    def trusted_shapes(self) -> dict[str, str]:
        """Shapes seen often enough, always with one outcome: shape -> outcome."""
        return {
            shape: outcome
            for shape, (n, outcome) in self.shapes.items()
            if outcome != _CONFLICT and n >= TRUST_MIN_DISTINCT
        }

    def finish(self, typed_as: str | None = None) -> ColumnStats:
        types = []
        for entity, cells in self.cells.items():
            by_name = self.recognizers.get(entity, {})
            types.append(
                TypeStats(
                    type=entity,
                    cells=cells,
                    findings=self.findings.get(entity, 0),
                    fraction=cells / self.values if self.values else 0.0,
                    examples=tuple(self.examples.get(entity, ())),
                    recognizers=tuple(sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0]))),
                )
            )
        types.sort(key=lambda t: (-t.cells, t.type))
        return ColumnStats(
            name=self.name,
            name_hint=name_hint(self.name),
            values=self.values,
            candidates=self.candidates,
            distinct_scanned=self.scanned,
            types=tuple(types),
            typed_as=typed_as,
            shortcut_cells=self.shortcut,
            verified=self.verified,
            disagreed=self.disagreed,
        )


def _add_example(examples: list[str], example: str) -> None:
    # The smallest distinct masked strings: the same whatever order batches finish in.
    if example in examples:
        return
    if len(examples) < EXAMPLES_PER_TYPE:
        examples.append(example)
        examples.sort()
    elif example < examples[-1]:
        examples[-1] = example
        examples.sort()


def _add_shape(shapes: dict[str, tuple[int, str]], shape: str, outcome: str, n: int) -> None:
    seen = shapes.get(shape)
    if seen is None:
        shapes[shape] = (n, outcome)
    else:
        shapes[shape] = (seen[0] + n, seen[1] if seen[1] == outcome else _CONFLICT)


# -- step 1: candidates, in Polars ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """The prefilters of a detector's recognizers, by recognizer index."""

    prefiltered: tuple[tuple[int, str], ...]  # (bit, regex) evaluated in Polars
    always: int  # bits of recognizers shown every non-empty value

    @property
    def filters(self) -> bool:
        return self.always == 0


def prefilter_of(recognizer: Recognizer) -> str | None:
    """The recognizer's optional ``prefilter`` (None: every non-empty cell is a candidate)."""
    pattern = getattr(recognizer, "prefilter", None)
    return pattern if isinstance(pattern, str) else None


def plan_for(recognizers: Sequence[Recognizer]) -> Plan:
    prefiltered: list[tuple[int, str]] = []
    always = 0
    for index, recognizer in enumerate(recognizers):
        pattern = prefilter_of(recognizer)
        if index < _POLARS_MASK_BITS and pattern is not None and _compiles(pattern):
            prefiltered.append((1 << index, pattern))
        else:
            always |= 1 << index
    return Plan(tuple(prefiltered), always)


@cache
def _compiles(pattern: str) -> bool:
    try:
        pl.Series("v", [""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ColumnWork:
    """One column of one batch, ready for detection: distinct candidates and counts.

    ``shapes`` (columns still learned from): each candidate's shape. ``expected``: for
    a value checked against a trusted shape, that shape's outcome (else ``None``).
    ``shortcut``: cells counted by trusted shapes, by outcome. ``context``: what
    recognizers read before each value (the column name), or ``""``.
    """

    name: str
    values: int
    distinct: int
    texts: list[str]
    counts: list[int]
    masks: list[int]
    context: str = ""
    shapes: list[str] | None = None
    expected: list[str | None] | None = None
    shortcut: dict[str, int] = field(default_factory=dict)


def shape_pattern(shapes: Iterable[str]) -> str:
    """A regex (Rust dialect) matching exactly the values whose shape is one of ``shapes``."""
    alternatives = []
    for shape in sorted(shapes):
        parts: list[str] = []
        for char, run in itertools.groupby(shape):
            n = len(list(run))
            if char == "9":
                parts.append(f"[0-9]{{{n}}}")
            elif char == "A":
                parts.append("[A-Z]+" * n)
            elif char == "a":
                parts.append("[a-z]+" * n)
            else:
                parts.append(("\\" + char if char in _RUST_META else char) * n)
        alternatives.append("".join(parts))
    return "^(?:" + "|".join(alternatives) + ")$"


def trusted_patterns(shapes: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``(outcome, regex)`` pairs for a column's trusted shapes (shape -> outcome)."""
    by_outcome: dict[str, list[str]] = {}
    for shape, outcome in shapes.items():
        by_outcome.setdefault(outcome, []).append(shape)
    return tuple(
        (outcome, shape_pattern(group[:MAX_SHAPES_PER_OUTCOME]))
        for outcome, group in sorted(by_outcome.items())
    )


def prepare_batch(
    columns: Iterable[tuple[str, pl.Series]],
    plan: Plan,
    *,
    trusted: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    shapes: bool | Collection[str] = False,
    context: bool = True,
) -> list[ColumnWork]:
    """Distinct candidate values of every column, with counts and recognizer bitmasks.

    ``shapes`` asks for each candidate's shape (to learn trusted shapes from), for
    every column (``True``) or for those named;
    ``trusted`` (column -> :func:`trusted_patterns`) counts the values of trusted shapes
    without detection, but for the one in :data:`VERIFY_EVERY` kept to check them;
    ``context`` gives recognizers the column name to read before each value.
    """
    named = list(columns)
    trusted = trusted or {}
    queries = []
    for index, (_, series) in enumerate(named):
        values = series if series.dtype == pl.String else series.cast(pl.String, strict=False)
        queries.append(
            pl.LazyFrame({"v": values})
            .filter(pl.col("v").str.len_bytes() > 0)
            .group_by("v")
            .len(name="n")
            .with_columns(c=pl.lit(index, dtype=pl.UInt32))
        )
    grouped = pl.collect_all(queries) if queries else []
    # One frame for all columns: each prefilter is one pass, run on Polars' threads.
    every = pl.concat(grouped) if grouped else pl.DataFrame()
    bits = [pl.col("v").str.contains(rx).cast(pl.Int64) * bit for bit, rx in plan.prefiltered]
    mask = pl.lit(plan.always, dtype=pl.Int64)
    if bits:
        mask = pl.sum_horizontal(bits) + plan.always
    if every.height:
        every = every.with_columns(m=mask)
        if plan.filters:
            every = every.filter(pl.col("m") != 0)
    parts = every.partition_by("c", as_dict=True, include_key=False) if every.height else {}
    work = []
    for index, ((name, _), counted) in enumerate(zip(named, grouped, strict=True)):
        part = parts.get((index,))
        if part is None:
            part = pl.DataFrame(schema={"v": pl.String, "n": pl.UInt32, "m": pl.Int64})
        shortcut: dict[str, int] = {}
        expected: list[str | None] | None = None
        patterns = trusted.get(name)
        if patterns and part.height:
            outcome: pl.Expr = pl.lit(None, dtype=pl.String)
            for label, pattern in reversed(patterns):
                outcome = (
                    pl.when(pl.col("v").str.contains(pattern))
                    .then(pl.lit(label))
                    .otherwise(outcome)
                )
            check = pl.col("v").hash(_VERIFY_SEED) % VERIFY_EVERY == 0
            part = part.with_columns(o=outcome, k=check)
            skipped = part.filter(pl.col("o").is_not_null() & ~pl.col("k"))
            for label, cells in skipped.group_by("o").agg(pl.col("n").sum()).iter_rows():
                shortcut[label] = int(cells)
            part = part.filter(pl.col("o").is_null() | pl.col("k"))
            expected = part.get_column("o").to_list()
        work.append(
            ColumnWork(
                name=name,
                values=int(counted.get_column("n").sum() or 0),
                distinct=counted.height,
                texts=part.get_column("v").to_list(),
                counts=part.get_column("n").to_list(),
                masks=part.get_column("m").to_list(),
                context=f"{name[:CONTEXT_MAX_CHARS]}: " if context else "",
                shapes=(
                    part.select(_shape_expr("v")).to_series().to_list()
                    if shapes is True or (shapes and name in shapes)
                    else None
                ),
                expected=expected,
                shortcut=shortcut,
            )
        )
    return work


# -- step 2: detection, in Python -----------------------------------------------------

_Hit = tuple[int, int, str, str]  # start, end, type, recognizer (offsets in the value)


class Runner:
    """Gives candidate values to the recognizers of their bitmask; keeps a bounded memo."""

    def __init__(self, detector: Detector) -> None:
        self.recognizers: list[Recognizer] = list(detector.recognizers)
        self.threshold = detector.threshold
        self.wanted = detector.entity_types
        self.type_bits: dict[str, int] = {}
        for index, recognizer in enumerate(self.recognizers):
            for entity in recognizer.entity_types:
                self.type_bits[entity] = self.type_bits.get(entity, 0) | (1 << index)
        self.all_bits = (1 << len(self.recognizers)) - 1
        self.extra_bits = self.all_bits & ~((1 << _POLARS_MASK_BITS) - 1)
        self._memo: dict[tuple[str, str, int, str | None], tuple[_Hit, ...]] = {}

    def _raw(self, text: str, offset: int, mask: int) -> list[tuple[int, Finding]]:
        found: list[tuple[int, Finding]] = []
        index = 0
        while mask:
            if mask & 1:
                for finding in self.recognizers[index].find(text):
                    if finding.start < offset or finding.score < self.threshold:
                        continue
                    if self.wanted is not None and finding.type not in self.wanted:
                        continue
                    found.append((index, finding))
            mask >>= 1
            index += 1
        return found

    @staticmethod
    def _resolve(found: list[tuple[int, Finding]]) -> list[Finding]:
        if len(found) <= 1:
            return [f for _, f in found]
        found.sort(key=lambda pair: pair[0])  # recognizer order, as Detector.detect has it
        return resolve_overlaps(f for _, f in found)

    def hits(
        self, value: str, mask: int, typed_as: str | None = None, context: str = ""
    ) -> tuple[_Hit, ...]:
        """The resolved findings in ``value`` (read after ``context``), as hit tuples."""
        key = (value, context, mask, typed_as)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        text = context + value
        offset = len(context)
        mask = (mask | self.extra_bits) & self.all_bits
        first = self.type_bits.get(typed_as, 0) & mask if typed_as is not None else 0
        if first:
            found = self._raw(text, offset, first)
            kept = self._resolve(list(found))
            if len(kept) == 1 and kept[0].type == typed_as and _whole(text, offset, kept[0]):
                resolved = kept
            else:
                found.extend(self._raw(text, offset, mask & ~first))
                resolved = self._resolve(found)
        else:
            resolved = self._resolve(self._raw(text, offset, mask))
        result = tuple((f.start - offset, f.end - offset, f.type, f.recognizer) for f in resolved)
        if len(self._memo) >= _CACHE_MAX:
            self._memo.clear()
        self._memo[key] = result
        return result


def _whole(text: str, offset: int, finding: Finding) -> bool:
    return not text[offset : finding.start].strip() and not text[finding.end :].strip()


def outcome_of(value: str, hits: Sequence[_Hit]) -> str | None:
    """``""`` for nothing found, ``TYPE\\trecognizer`` for one finding filling the value."""
    if not hits:
        return ""
    if len(hits) == 1:
        start, end, entity, recognizer = hits[0]
        if not value[:start].strip() and not value[end:].strip():
            return f"{entity}\t{recognizer}"
    return None


def detect_batch(
    work: Sequence[ColumnWork], runner: Runner, typed: Mapping[str, str]
) -> list[ColumnPartial]:
    """Detection on the distinct candidates of each column, counts weighted per cell."""
    partials = []
    for column in work:
        partial = ColumnPartial(
            column.name,
            values=column.values,
            candidates=sum(column.counts) + sum(column.shortcut.values()),
            distinct=column.distinct,
            scanned=len(column.texts),
        )
        typed_as = typed.get(column.name)
        cells, findings, whole = partial.cells, partial.findings, partial.whole
        for index, (text, count, mask) in enumerate(
            zip(column.texts, column.counts, column.masks, strict=True)
        ):
            hits = runner.hits(text, mask, typed_as, column.context)
            outcome = outcome_of(text, hits)
            if column.shapes is not None:
                shape_outcome = _CONFLICT if outcome is None else outcome
                _add_shape(partial.shapes, column.shapes[index], shape_outcome, 1)
            if column.expected is not None and column.expected[index] is not None:
                partial.verified += 1
                partial.disagreed += outcome != column.expected[index]
            if not hits:
                continue
            seen: set[str] = set()
            for start, end, entity, recognizer in hits:
                findings[entity] = findings.get(entity, 0) + count
                by_name = partial.recognizers.setdefault(entity, {})
                by_name[recognizer] = by_name.get(recognizer, 0) + count
                if entity not in seen:
                    seen.add(entity)
                    cells[entity] = cells.get(entity, 0) + count
                _add_example(partial.examples.setdefault(entity, []), mask_value(text[start:end]))
            if outcome:
                entity = outcome.split("\t", 1)[0]
                whole[entity] = whole.get(entity, 0) + 1
        for outcome, count in column.shortcut.items():
            partial.shortcut += count
            if outcome:
                entity, recognizer = outcome.split("\t", 1)
                cells[entity] = cells.get(entity, 0) + count
                findings[entity] = findings.get(entity, 0) + count
                by_name = partial.recognizers.setdefault(entity, {})
                by_name[recognizer] = by_name.get(recognizer, 0) + count
        partials.append(partial)
    return partials
