"""Dataset scanning: which columns of a CSV, Parquet, JSON Lines or text file hold what.

>>> from bastion.data.scan import scan_file, render_html
>>> scan = scan_file("customers.csv", full=True)          # doctest: +SKIP
>>> [(c.name, [t.type for t in c.types]) for c in scan.columns]  # doctest: +SKIP
[('email', ['EMAIL_ADDRESS']), ('note', ['PHONE_NUMBER', 'PERSON'])]

See :mod:`bastion.data.scan.scanner` for the JSON shape, :mod:`.readers` for formats
and batch sizes, and :mod:`.columns` for the vectorized column engine.
"""

from __future__ import annotations

from bastion.data.scan.columns import ColumnStats, TypeStats, mask_value, name_hint
from bastion.data.scan.readers import FORMATS, sniff_format
from bastion.data.scan.report import render_html, render_json
from bastion.data.scan.scanner import (
    DEFAULT_SAMPLE_ROWS,
    DatasetScan,
    Progress,
    scan_file,
    scan_paths,
)

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "FORMATS",
    "ColumnStats",
    "DatasetScan",
    "Progress",
    "TypeStats",
    "mask_value",
    "name_hint",
    "render_html",
    "render_json",
    "scan_file",
    "scan_paths",
    "sniff_format",
]
