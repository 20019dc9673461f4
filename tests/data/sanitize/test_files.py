"""Sanitizing text, CSV, TSV, Parquet and JSON Lines files end to end."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.data.sanitize import Sanitizer, policy_from_dict, sanitize_file
from bastion.errors import InvalidInput
from tests.data.sanitize.conftest import TYPES, FixedKey, regex_detect

POLICY = policy_from_dict(
    {
        "types": {
            "US_SSN": {"action": "mask", "keep_last": 4},
            "EMAIL_ADDRESS": "pseudonymize",
            "IP_ADDRESS": "generalize",
            "DATE_OF_BIRTH": "generalize",
        },
        "columns": {"notes": "drop", "patient": "hash", "meta.secret": "drop"},
    },
    known_types=TYPES,
)


def sanitizer() -> Sanitizer:
    return Sanitizer(POLICY, regex_detect, key=FixedKey())


def test_text_replaces_every_finding_and_counts_it() -> None:
    from bastion.data.sanitize import Changes

    changes = Changes()
    out = sanitizer().text(
        "Alice Smith (ssn 123-45-6789, born 1984-03-07) mailed a@b.org from 10.0.0.7",
        changes,
    )
    assert out.startswith("[PERSON] (ssn ***-**-6789, born 1984) mailed <EMAIL_ADDRESS#")
    assert out.endswith(" from 10.0.0.*")
    assert changes.total == 5
    assert {row["action"] for row in changes.as_list()} == {
        "redact",
        "mask",
        "generalize",
        "pseudonymize",
    }


def test_csv_column_rules_and_cell_detection(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "id,patient,ssn,notes,comment\n"
        "1,Alice Smith,123-45-6789,private,call from 10.1.2.3\n"
        "2,Bob Jones,234-56-7890,,write to bob@example.org\n"
        "3,Alice Smith,123-45-6789,x,\n"
    )
    report = sanitize_file(src, tmp_path / "out.csv", sanitizer())
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.columns == ["id", "patient", "ssn", "comment"]
    assert out["ssn"].to_list() == ["***-**-6789", "***-**-7890", "***-**-6789"]
    patients = out["patient"].to_list()
    assert patients[0] == patients[2] != patients[1] and patients[0].startswith("sha256:")
    assert out["comment"].to_list()[:2] == [
        "call from 10.1.2.*",
        "write to <EMAIL_ADDRESS#" + out["comment"][1].split("#")[1],
    ]
    assert report.rows == 3 and report.dropped == ["notes"]
    by = {(r["column"], r["action"]): r["count"] for r in report.changes.as_list()}
    assert by[("ssn", "mask")] == 3 and by[("patient", "hash")] == 3


def test_sanitizing_twice_changes_nothing_more(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("patient,ssn,comment\nAlice Smith,123-45-6789,born 1984-03-07 at 10.9.8.7\n")
    sanitize_file(src, tmp_path / "once.csv", sanitizer())
    report = sanitize_file(tmp_path / "once.csv", tmp_path / "twice.csv", sanitizer())
    assert (tmp_path / "twice.csv").read_bytes() == (tmp_path / "once.csv").read_bytes()
    assert report.changes.total == 0


def test_tsv_and_parquet_keep_their_format(tmp_path: Path) -> None:
    frame = pl.DataFrame({"ssn": ["123-45-6789", None], "n": [1, 2], "notes": ["a", "b"]})
    frame.write_parquet(tmp_path / "in.parquet")
    sanitize_file(tmp_path / "in.parquet", tmp_path / "out.parquet", sanitizer())
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.columns == ["ssn", "n"]
    assert out["ssn"].to_list() == ["***-**-6789", None]
    assert out["n"].to_list() == [1, 2]  # numbers are left alone, with their type
    (tmp_path / "in.tsv").write_text("ssn\tx\n123-45-6789\t1\n")
    sanitize_file(tmp_path / "in.tsv", tmp_path / "out.tsv", sanitizer())
    assert (tmp_path / "out.tsv").read_text() == "ssn\tx\n***-**-6789\t1\n"


def test_jsonl_fields_by_dotted_path(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"patient": "Alice Smith", "meta": {"secret": "s3", "ip": "10.0.0.1"}, "tags": ["a@b.org"]},
        {"patient": "Bob Jones", "n": 3},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = sanitize_file(src, tmp_path / "out.jsonl", sanitizer())
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[0]["meta"] == {"ip": "10.0.0.*"}
    assert out[0]["tags"][0].startswith("<EMAIL_ADDRESS#")
    assert out[0]["patient"].startswith("sha256:") and out[1]["n"] == 3
    assert report.rows == 2


def test_text_file_keeps_line_endings(tmp_path: Path) -> None:
    src = tmp_path / "app.log"
    src.write_bytes(b"login from 10.1.1.1\r\nssn 123-45-6789\r\n")
    sanitize_file(src, tmp_path / "out.log", sanitizer())
    assert (tmp_path / "out.log").read_bytes() == b"login from 10.1.1.*\r\nssn ***-**-6789\r\n"


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{not json\n')
    out = tmp_path / "out.jsonl"
    with pytest.raises(InvalidInput) as caught:
        sanitize_file(bad, out, sanitizer())
    assert caught.value.code == "data.malformed"
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    with pytest.raises(InvalidInput):
        sanitize_file(bad, bad, sanitizer())
    with pytest.raises(InvalidInput):
        sanitize_file(tmp_path / "missing.csv", out, sanitizer())


def test_nothing_is_published_when_the_tokens_cannot_be_stored(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("ssn\n123-45-6789\n")

    def fail() -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        sanitize_file(src, tmp_path / "out.csv", sanitizer(), before_publish=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


PII = st.sampled_from(
    ["123-45-6789", "a.b@example.org", "10.20.30.40", "born 1990-01-02", "Alice Smith"]
)
FILLER = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(FILLER, PII), min_size=1, max_size=6), FILLER)
def test_no_detected_value_survives_sanitization(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{filler} {value} " for filler, value in parts) + tail
    once = sanitizer().text(text)
    assert regex_detect(once) == []
    assert sanitizer().text(once) == once
