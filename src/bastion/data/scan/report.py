"""Dataset scan reports: a self-contained HTML page, and JSON.

The HTML has no script, no external asset and inline CSS only; every piece of text
that comes from a file (paths, column names, masked examples, recognizer names) goes
through :func:`html.escape`. Bars are ``<div>`` widths computed here from numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from bastion.data.scan.columns import ColumnStats
from bastion.data.scan.scanner import DatasetScan

_COLORS = {
    "PERSON": "#4e79a7",
    "EMAIL_ADDRESS": "#f28e2b",
    "PHONE_NUMBER": "#59a14f",
    "US_SSN": "#e15759",
    "CREDIT_CARD": "#b07aa1",
    "IBAN_CODE": "#76b7b2",
    "IP_ADDRESS": "#edc948",
    "DATE_OF_BIRTH": "#ff9da7",
    "STREET_ADDRESS": "#9c755f",
    "US_PASSPORT": "#bab0ac",
    "MEDICAL_RECORD_NUMBER": "#d37295",
    "API_SECRET": "#8cd17d",
}
_PALETTE = ("#499894", "#86bcb6", "#f1ce63", "#a0cbe8", "#ffbe7d", "#d4a6c8")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .3em;word-break:break-all}
.meta{color:#555;margin:.2em 0}.sample{background:#fff4d6;border:1px solid #e6c65c;
padding:.4em .7em;border-radius:4px;display:inline-block;margin:.4em 0}
.error{background:#fde2e1;border:1px solid #d9534f;padding:.4em .7em;border-radius:4px}
table{border-collapse:collapse;margin:.5em 0 1em;width:100%}
th,td{border-bottom:1px solid #e3e3e3;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#eee;width:12em;height:.9em;border-radius:2px;display:inline-block;
vertical-align:middle;overflow:hidden}.bar i{display:block;height:100%}
.type{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-size:.85em;
font-weight:600;text-shadow:0 0 2px rgba(0,0,0,.4)}
code{background:#f3f3f3;padding:0 .3em;border-radius:3px;margin-right:.3em}
.hint{color:#777;font-size:.9em}.clean{color:#3a7d44}.muted{color:#888}
"""


def render_json(scans: DatasetScan | Sequence[DatasetScan]) -> str:
    """One scan as a JSON object, several as a JSON array (``DatasetScan.as_dict``)."""
    if isinstance(scans, DatasetScan):
        return json.dumps(scans.as_dict(), indent=2)
    return json.dumps([s.as_dict() for s in scans], indent=2)


def render_html(
    scans: DatasetScan | Sequence[DatasetScan], *, title: str = "Bastion data scan"
) -> str:
    """A self-contained HTML report of one or more scans."""
    items = [scans] if isinstance(scans, DatasetScan) else list(scans)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{len(items)} file(s), generated {escape(generated)}. '
        "Examples are masked: only a value's first and last characters are shown.</p>",
    ]
    for scan in items:
        parts.append(_scan_section(scan))
    parts.append("</body></html>")
    return "\n".join(parts)


def _scan_section(scan: DatasetScan) -> str:
    out = [f"<section><h2>{escape(scan.path)}</h2>"]
    out.append(
        f'<p class="meta">{escape(scan.format)} &middot; {_size(scan.bytes)} &middot; '
        f"{scan.rows:,} rows scanned &middot; {scan.seconds:.2f} s &middot; "
        f"{escape(scan.mode)} mode</p>"
    )
    if scan.error is not None:
        out.append(
            f'<p class="error"><strong>{escape(scan.error_code or "error")}</strong>: '
            f"{escape(scan.error)}</p></section>"
        )
        return "\n".join(out)
    if scan.sampled and scan.rows_total == scan.rows:
        out.append(
            f'<p class="meta">Sample mode, but the file has only {scan.rows:,} rows: '
            "all were scanned.</p>"
        )
    elif scan.sampled:
        total = f"of {scan.rows_total:,}" if scan.rows_total is not None else "of an unknown total"
        out.append(
            f'<p class="sample">Sample: the first {scan.rows:,} rows {escape(total)}. '
            "Scan in full mode for a complete count.</p>"
        )
    for note in scan.notes:
        out.append(f'<p class="meta">Note: {escape(note)}</p>')
    if not scan.exact:
        out.append(
            '<p class="meta">Some counts are extrapolated from value shapes that the '
            "recognizers confirmed; a scan with exact=True counts every value.</p>"
        )
    out.append(_totals(scan))
    out.append(_columns(scan.columns))
    out.append("</section>")
    return "\n".join(out)


def _totals(scan: DatasetScan) -> str:
    if not scan.totals:
        return '<p class="clean">No sensitive values found.</p>'
    top = max(scan.totals.values())
    rows = []
    for entity, count in sorted(scan.totals.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append(
            f'<tr><td>{_badge(entity)}</td><td class="n">{count:,}</td>'
            f"<td>{_bar(count / top, entity)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Type</th><th>Findings</th><th></th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _columns(columns: Sequence[ColumnStats]) -> str:
    rows = []
    for column in columns:
        hint = (
            f'<div class="hint">name suggests {escape(column.name_hint)}</div>'
            if column.name_hint
            else ""
        )
        typed = (
            f'<div class="hint">typed as {escape(column.typed_as)}</div>' if column.typed_as else ""
        )
        if column.shortcut_cells:
            typed += (
                f'<div class="hint">{column.shortcut_cells:,} cells counted by trusted shapes '
                f"({column.verified:,} checked, {column.disagreed:,} disagreed)</div>"
            )
        head = (
            f"<td><strong>{escape(column.name)}</strong>{hint}{typed}</td>"
            f'<td class="n">{column.values:,}</td>'
        )
        if not column.types:
            rows.append(f'<tr>{head}<td colspan="4" class="muted">nothing found</td></tr>')
            continue
        for i, stats in enumerate(column.types):
            examples = "".join(f"<code>{escape(e)}</code>" for e in stats.examples)
            recognizers = ", ".join(f"{escape(n)} ({c:,})" for n, c in stats.recognizers)
            cells = (
                f"<td>{_badge(stats.type)}</td>"
                f"<td>{_bar(stats.fraction, stats.type)} {stats.fraction:.1%} "
                f'<span class="muted">({stats.cells:,} cells, {stats.findings:,} findings)'
                f'</span></td><td>{examples}</td><td class="muted">{recognizers}</td>'
            )
            if i == 0:
                span = len(column.types)
                rows.append(
                    f'<tr><td rowspan="{span}"><strong>{escape(column.name)}</strong>{hint}'
                    f'{typed}</td><td class="n" rowspan="{span}">{column.values:,}</td>'
                    f"{cells}</tr>"
                )
            else:
                rows.append(f"<tr>{cells}</tr>")
    return (
        "<table><thead><tr><th>Column</th><th>Values</th><th>Type</th><th>Share of values</th>"
        "<th>Examples (masked)</th><th>Recognizers</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _color(entity: str) -> str:
    return _COLORS.get(entity) or _PALETTE[sum(map(ord, entity)) % len(_PALETTE)]


def _badge(entity: str) -> str:
    return f'<span class="type" style="background:{_color(entity)}">{escape(entity)}</span>'


def _bar(share: float, entity: str) -> str:
    width = max(0.0, min(1.0, share)) * 100
    return (
        f'<span class="bar"><i style="width:{width:.1f}%;background:{_color(entity)}"></i></span>'
    )


def _size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TiB"
