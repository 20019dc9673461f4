"""Each recognizer's ``prefilter`` is a necessary condition: every value it finds matches.

The dataset scanner skips, in Polars, the cells a prefilter does not match; a prefilter
narrower than its recognizer would silently hide findings. Checked on the labelled dev
texts (which are only read here, as a source of realistic values) and on Polars itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from bastion.data.detect import builtin_recognizers
from bastion.data.detect.base import Recognizer

DEV = Path(__file__).resolve().parents[4] / "shared" / "data" / "pii" / "dev.jsonl"
PREFILTERED = [r for r in builtin_recognizers() if getattr(r, "prefilter", None)]


def _texts() -> list[str]:
    if not DEV.exists():
        pytest.fail(f"the dev set is missing: {DEV} (CI has ../shared beside the checkout)")
    return [json.loads(line)["text"] for line in DEV.read_text().splitlines()[:800]]


def test_most_recognizers_declare_a_prefilter() -> None:
    assert {r.name for r in PREFILTERED} >= {"email", "phone", "us_ssn", "credit_card", "iban"}


@pytest.mark.parametrize("recognizer", PREFILTERED, ids=lambda r: r.name)
def test_every_value_found_matches_the_prefilter(recognizer: Recognizer) -> None:
    pattern: str = recognizer.prefilter  # type: ignore[attr-defined]
    values = [text[f.start : f.end] for text in _texts() for f in recognizer.find(text)]
    assert values, f"{recognizer.name} found nothing to check against"
    python = re.compile(pattern)
    assert [v for v in values if not python.search(v)] == []
    # And Polars (Rust's regex engine, which the scanner uses) agrees.
    matched = pl.Series(values).str.contains(pattern)
    assert matched.all()
