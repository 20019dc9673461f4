"""Shared helpers for recognizers whose candidates need a label nearby.

A value such as ``123456789`` is an SSN, a passport number, an order id or nothing; only
its label tells. A label is either a word shortly before the value (``SSN: ...``,
``"passport_no": "..."``, ``born on ...``) or, in delimited tables (CSV, TSV), the
header of the value's column.

Scoring convention used by every recognizer:

* a validated, self-evident value (checksum, vendor prefix) scores 0.85-0.99;
* a shape-only candidate scores below the Detector's 0.5 threshold (``WEAK``) and is
  raised above it by context (``with_context``); the nearer the label, the higher.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

WEAK = 0.35
"""Score of an unconfirmed candidate: dropped at the default threshold."""

CONTEXTUAL = 0.9
"""Score of a candidate confirmed by a label right next to it."""

DEFAULT_WINDOW = 48

# Another labelled value between a label and a candidate means the label is not ours:
# ``ssn=123-45-6789 order=123456789``, ``"ssn": "x", "order_id": "123456789"``.
_OTHER_LABEL = re.compile(
    r'(?<![\w"])[A-Za-z_][\w-]*\s?=|"[A-Za-z_][\w -]*"\s*:|[;,(|]\s*[A-Za-z][\w .#/-]{0,24}:'
)
# Words that label identifiers of other kinds: ``passport pending, order 123456789``.
_OTHER_IDENTIFIER = re.compile(
    r"(?<![a-z])(?:order|orders|invoice|inv|ticket|tracking|shipment|reference|ref|sku|part"
    r"|account|acct|item|transaction|txn|serial|batch|lot|request|build|version|commit"
    r"|uuid|guid|zip|postcode|postal)(?![a-z])",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")
_LABEL_END = re.compile(r"""[\w-]*["']?\s*[:=]|\W{0,3}\d""")


@lru_cache(maxsize=8)
def _lowered(text: str) -> str:
    return text.lower()


def mentions(text: str, words: tuple[str, ...]) -> bool:
    """Whether any of the lowercase ``words`` occurs in ``text`` (a cheap pre-check).

    Recognizers that need a label skip texts that hold none before running their regex.
    """
    lowered = _lowered(text)
    return any(word in lowered for word in words)


def context_before(text: str, start: int, window: int = DEFAULT_WINDOW) -> str:
    """The ``window`` characters before ``start``, lowercased."""
    return text[max(0, start - window) : start].lower()


def context_after(text: str, end: int, window: int = DEFAULT_WINDOW) -> str:
    """The ``window`` characters after ``end``, lowercased."""
    return text[end : end + window].lower()


def _clean_gap(gap: str) -> bool:
    """Whether ``gap`` (text between a label and a value) holds no other value or label."""
    if len(_DIGITS.findall(gap)) >= 3:
        return False
    return _OTHER_LABEL.search(gap) is None and _OTHER_IDENTIFIER.search(gap) is None


def context_distance(
    text: str,
    start: int,
    end: int,
    words: re.Pattern[str],
    *,
    before: int = DEFAULT_WINDOW,
    after: int = 0,
) -> int | None:
    """Characters between ``text[start:end]`` and its nearest label matching ``words``.

    ``words`` should be compiled with ``re.IGNORECASE``. Inside a table row only the
    column header and the cell itself count (0 when the header matches). Returns ``None``
    when no label applies: none in the window, or another value or label in between.
    """
    cell = table_cell(text, start)
    if cell is not None:
        header, cell_start = cell
        if words.search(header):
            return 0
        before = min(before, start - cell_start)
        after = 0
    best: int | None = None
    lo = max(0, start - before)
    found = list(words.finditer(text, lo, start))
    if found:
        last = found[-1]
        gap = text[last.end() : start]
        if _clean_gap(gap):
            best = len(gap)
    if after:
        nxt = words.search(text, end, end + after)
        # ``..., "dob": ...``, ``...; geb. 07.03.1984``: a label followed by its own value
        # is not ours.
        if nxt is not None and not _LABEL_END.match(text, nxt.end()):
            gap = text[end : nxt.start()]
            if _clean_gap(gap) and (best is None or len(gap) < best):
                best = len(gap)
    return best


def has_context(
    text: str,
    start: int,
    end: int,
    words: re.Pattern[str],
    *,
    before: int = DEFAULT_WINDOW,
    after: int = 0,
) -> bool:
    """Whether a label matching ``words`` applies to ``text[start:end]``."""
    return context_distance(text, start, end, words, before=before, after=after) is not None


def with_context(base: float, distance: int | None, boosted: float = CONTEXTUAL) -> float:
    """``base`` without a label; ``boosted`` (a little less the farther the label) with one."""
    if distance is None:
        return base
    return max(base, boosted - min(distance, 50) * 0.001)


# --- delimited tables ---------------------------------------------------------------

_HEADER_FIELD = re.compile(r'\s*"?[A-Za-z_][\w .#/()-]{0,40}"?\s*')
_DELIMITERS = (",", "\t", ";", "|")


# One cell: quoted (quotes doubled inside, newlines allowed) or up to the next delimiter.
def _cell_pattern(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    return re.compile(rf'[ \t]*(?:"(?:[^"]|"")*"[ \t]*(?={d}|\r?\n|\Z)|[^{d}\n]*)')


_CELL = {d: _cell_pattern(d) for d in _DELIMITERS}
_TIME_END = re.compile(r"\d\d:\d\d:\d\d$")
_MAX_COLUMNS = 64


@dataclass(frozen=True, slots=True)
class _Row:
    start: int
    end: int
    cells: tuple[int, ...]  # absolute start offset of each cell
    header: tuple[str, ...]


def _record(text: str, pos: int, delimiter: str) -> tuple[list[int], int]:
    """Cell starts of the record at ``pos`` and the offset of its terminating newline."""
    pattern = _CELL[delimiter]
    starts: list[int] = []
    n = len(text)
    while len(starts) <= _MAX_COLUMNS:
        starts.append(pos)
        m = pattern.match(text, pos)
        pos = m.end() if m else pos
        if pos < n and text[pos] == delimiter:
            pos += 1
            continue
        break
    newline = text.find("\n", pos)
    return starts, n if newline < 0 else newline


def _rejoin(text: str, cells: list[int], end: int, wanted: int) -> list[int]:
    """Undo splits at unquoted delimiters inside values, where they are recognizable.

    A cell opening with a space continues prose (``Smith, John``); three digits after a
    time are its milliseconds (``2024-01-02 10:11:12,345``, the logging default).
    """
    j = 1
    while j < len(cells) and len(cells) > wanted:
        cell = cells[j]
        stop = cells[j + 1] - 1 if j + 1 < len(cells) else end
        prose = text[cell : cell + 1] == " "
        millis = (
            text[cell : cell + 3].isdigit()
            and not text[cell + 3 : stop].strip(" \r")
            and _TIME_END.search(text, cells[j - 1], cell - 1) is not None
        )
        if prose or millis:
            del cells[j]
        else:
            j += 1
    return cells


def _header(line: str) -> tuple[tuple[str, ...], str]:
    """Column names of a header line: short names, at least three unless unspaced."""
    for d in _DELIMITERS:
        if d in line:
            fields = line.split(d)
            if not 2 <= len(fields) <= _MAX_COLUMNS:
                break
            if len(fields) == 2 and fields[1].startswith(" "):
                break  # prose: "Hi team, see below"
            if all(_HEADER_FIELD.fullmatch(f) and len(f.split()) <= 4 for f in fields):
                return tuple(f.strip().strip('"').lower() for f in fields), d
            break
    return (), ""


@lru_cache(maxsize=16)
def _table_rows(text: str) -> tuple[_Row, ...]:
    """Data rows of every delimited table in ``text``: a header line, then records.

    A record whose cells do not line up with the header maps to no column; the table
    ends at a record without a delimiter.
    """
    rows: list[_Row] = []
    pos, n = 0, len(text)
    while pos < n:
        newline = text.find("\n", pos)
        if newline < 0:
            break
        header, delimiter = _header(text[pos:newline])
        pos = newline + 1
        if not header:
            continue
        while pos < n:
            cells, end = _record(text, pos, delimiter)
            if len(cells) < 2:
                break
            if len(cells) > len(header):
                cells = _rejoin(text, cells, end, len(header))
            if len(cells) == len(header):
                rows.append(_Row(pos, end, tuple(cells), header))
            pos = end + 1
    return tuple(rows)


def table_cell(text: str, pos: int) -> tuple[str, int] | None:
    """``(column header, cell start)`` when ``pos`` lies in a data row of a table."""
    rows = _table_rows(text)  # cached per text: per-candidate calls stay O(log rows)
    if not rows:
        return None
    k = bisect_right(rows, pos, key=lambda r: r.start) - 1
    if k < 0 or pos > rows[k].end:
        return None
    row = rows[k]
    c = bisect_right(row.cells, pos) - 1
    return row.header[c], row.cells[c]
