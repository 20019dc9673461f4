"""The dataset scanner on real files of every format, with small real recognizers.

The recognizers here are defined in this module (regular expressions, one of them with
no prefilter like the learned taggers, one with a prefilter Polars cannot compile), so
these tests do not depend on the built-in ones. Files are written in a few milliseconds
with the standard library and Polars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from bastion.data.detect.base import Finding
from bastion.data.detect.registry import Detector
from bastion.data.scan import (
    DatasetScan,
    mask_value,
    name_hint,
    render_html,
    render_json,
    scan_file,
    scan_paths,
    sniff_format,
)
from bastion.data.scan import columns as engine
from bastion.data.scan.columns import shape_of, shape_pattern
from bastion.errors import DataScanError

_UNSET = object()


class RegexRecognizer:
    """A real recognizer: every match of ``pattern`` is an ``entity``."""

    def __init__(
        self,
        name: str,
        entity: str,
        pattern: str,
        prefilter: object = _UNSET,
        reject: str | None = None,
    ) -> None:
        self.name = name
        self.entity_types = frozenset({entity})
        self._entity = entity
        self._pattern = re.compile(pattern)
        self._reject = re.compile(reject) if reject else None
        if prefilter is not _UNSET:
            self.prefilter = prefilter
        self.calls = 0

    def find(self, text: str) -> Iterator[Finding]:
        self.calls += 1
        for m in self._pattern.finditer(text):
            if self._reject is not None and self._reject.fullmatch(m.group()):
                continue
            yield Finding(m.start(), m.end(), self._entity, 0.9, self.name)


def email() -> RegexRecognizer:
    return RegexRecognizer(
        "email", "EMAIL_ADDRESS", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", "@"
    )


def ssn() -> RegexRecognizer:
    # Area 000 and 666 are never issued: rejected, as a validating recognizer would.
    return RegexRecognizer(
        "ssn",
        "US_SSN",
        r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])",
        r"\d{3}-\d{2}-\d{4}",
        reject=r"(?:000|666)-.*",
    )


def person() -> RegexRecognizer:
    # Like the learned taggers: no prefilter, so it is shown every non-empty cell.
    return RegexRecognizer("person", "PERSON", r"\b(?:Alice Martin|Bob Stone)\b")


def token() -> RegexRecognizer:
    # A look-behind is not Rust regex: the scanner must fall back to "every cell".
    return RegexRecognizer("token", "API_SECRET", r"tok_[A-Za-z0-9]{12}", r"(?<=tok_)\w")


def detector() -> Detector:
    return Detector([email(), ssn(), person(), token()])


# -- data -----------------------------------------------------------------------------


def row(i: int) -> dict[str, str]:
    note = "nothing to see"
    if i % 10 == 0:
        note = f"write to user{i}@mail.example.org or u{i}@example.net"  # two e-mails
    elif i % 25 == 1:
        note = "spoke with Alice Martin"
    elif i % 50 == 3:
        note = f"key tok_{i:012d}"
    return {
        "id": str(i),
        "email": f"user{i}@example.com",
        "ssn": f"{100 + i % 500:03d}-{10 + i % 80:02d}-{1000 + i % 9000:04d}" if i % 4 else "",
        "note": note,
    }


def expected(n: int) -> dict[str, dict[str, tuple[int, int]]]:
    """column -> type -> (cells, findings) for ``n`` rows of :func:`row`."""
    notes_email = sum(1 for i in range(n) if i % 10 == 0)
    notes_person = sum(1 for i in range(n) if i % 10 and i % 25 == 1)
    notes_token = sum(1 for i in range(n) if i % 10 and i % 25 != 1 and i % 50 == 3)
    note: dict[str, tuple[int, int]] = {"EMAIL_ADDRESS": (notes_email, 2 * notes_email)}
    if notes_person:
        note["PERSON"] = (notes_person, notes_person)
    if notes_token:
        note["API_SECRET"] = (notes_token, notes_token)
    ssns = sum(1 for i in range(n) if i % 4)
    return {
        "id": {},
        "email": {"EMAIL_ADDRESS": (n, n)},
        "ssn": {"US_SSN": (ssns, ssns)},
        "note": note,
    }


def write_csv(path: Path, n: int, sep: str = ",") -> Path:
    rows = [row(i) for i in range(n)]
    pl.DataFrame(rows).write_csv(path, separator=sep)
    return path


def found(scan: DatasetScan) -> dict[str, dict[str, tuple[int, int]]]:
    return {c.name: {t.type: (t.cells, t.findings) for t in c.types} for c in scan.columns}


def stable(scan: DatasetScan) -> dict[str, object]:
    data = scan.as_dict()
    data.pop("seconds")
    return data


def all_examples(scan: DatasetScan) -> list[str]:
    return [e for c in scan.columns for t in c.types for e in t.examples]


def assert_masked(scan: DatasetScan, raw_values: list[str]) -> None:
    examples = all_examples(scan)
    assert examples
    for example in examples:
        assert re.fullmatch(r"\*{1,4}|.\*+.", example), example
    for raw in raw_values:
        if len(raw) > 1:
            for example in examples:
                assert raw not in example


# -- formats --------------------------------------------------------------------------


def test_csv_counts_per_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 400)
    scan = scan_file(path, detector=detector(), full=True)
    assert scan.format == "csv" and scan.mode == "full"
    assert scan.rows == 400 and scan.rows_total == 400
    assert found(scan) == expected(400)
    assert scan.totals == {"EMAIL_ADDRESS": 480, "US_SSN": 300, "PERSON": 16, "API_SECRET": 8}
    assert scan.column("email").values == 400
    assert scan.column("ssn").values == 300  # empty cells are not values
    assert scan.column("email").types[0].fraction == 1.0
    assert scan.column("note").top_recognizers[0] == ("email", 80)
    assert scan.exact


def test_tsv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.tsv", 200, sep="\t")
    scan = scan_file(path, detector=detector(), full=True)
    assert scan.format == "tsv"
    assert found(scan) == expected(200)


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 120, sep=";")
    assert found(scan_file(path, detector=detector(), full=True)) == expected(120)


def test_parquet_with_nested_columns(tmp_path: Path) -> None:
    n = 150
    frame = pl.DataFrame(
        {
            "id": list(range(n)),
            "contact": [{"email": f"p{i}@example.com", "city": "Salem"} for i in range(n)],
            "aliases": [[f"a{i}@example.org", f"b{i}@example.org"] for i in range(n)],
            "ssn": [row(i)["ssn"] or None for i in range(n)],
            "vip": [i % 2 == 0 for i in range(n)],
        }
    )
    path = tmp_path / "people.parquet"
    frame.write_parquet(path, row_group_size=40)
    scan = scan_file(path, detector=detector(), full=True, batch_rows=32)
    assert scan.format == "parquet"
    assert scan.rows == n and scan.rows_total == n
    names = [c.name for c in scan.columns]
    assert names == ["id", "contact.email", "contact.city", "aliases[]", "ssn"]
    assert found(scan)["contact.email"] == {"EMAIL_ADDRESS": (n, n)}
    assert found(scan)["aliases[]"] == {"EMAIL_ADDRESS": (2 * n, 2 * n)}
    assert scan.column("aliases[]").values == 2 * n
    assert found(scan)["ssn"] == expected(n)["ssn"]


def test_parquet_sample_knows_the_total(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pl.DataFrame({"email": [f"x{i}@example.com" for i in range(500)]}).write_parquet(path)
    scan = scan_file(path, detector=detector(), sample_rows=100)
    assert scan.mode == "sample" and scan.rows == 100 and scan.rows_total == 500
    assert found(scan)["email"] == {"EMAIL_ADDRESS": (100, 100)}


def test_jsonl_nested_fields(tmp_path: Path) -> None:
    n = 120
    path = tmp_path / "events.jsonl"
    with open(path, "w") as handle:
        for i in range(n):
            record = {
                "user": {"email": f"u{i}@example.com", "ssn": row(i)["ssn"] or None},
                "notes": [{"text": f"ping w{i}@example.org"}, {"text": "ok"}],
                "count": i,
                "flag": True,
            }
            handle.write(json.dumps(record) + "\n")
            if i == 5:
                handle.write("\n")  # blank lines are skipped
    scan = scan_file(path, detector=detector(), full=True, batch_rows=50)
    assert scan.format == "jsonl" and scan.rows == n
    names = [c.name for c in scan.columns]
    assert names == ["user.email", "notes[].text", "count", "user.ssn"]  # first seen first
    assert found(scan)["user.email"] == {"EMAIL_ADDRESS": (n, n)}
    assert found(scan)["user.ssn"] == expected(n)["ssn"]
    assert found(scan)["notes[].text"] == {"EMAIL_ADDRESS": (n, n)}
    assert scan.column("notes[].text").values == 2 * n
    assert scan.column("count").values == n


def test_text_and_log_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    lines = []
    for i in range(300):
        if i % 3 == 0:
            lines.append(f"2024-01-01 INFO login user=l{i}@example.com ssn=123-45-{1000 + i}")
        else:
            lines.append(f"2024-01-01 DEBUG tick {i}")
    path.write_text("\n".join(lines) + "\n")
    scan = scan_file(path, detector=detector(), full=True, batch_rows=64)
    assert scan.format == "text" and scan.rows == 300
    assert [c.name for c in scan.columns] == ["text"]
    assert found(scan)["text"] == {"EMAIL_ADDRESS": (100, 100), "US_SSN": (100, 100)}


def test_format_sniffing(tmp_path: Path) -> None:
    parquet = tmp_path / "really_parquet.csv"
    pl.DataFrame({"a": ["x"]}).write_parquet(parquet)
    assert sniff_format(parquet) == "parquet"
    lines = tmp_path / "records.dat"
    lines.write_text('{"a": 1}\n{"a": 2}\n')
    assert sniff_format(lines) == "jsonl"
    table = tmp_path / "table"
    table.write_text("a,b,c\n1,2,3\n4,5,6\n")
    assert sniff_format(table) == "csv"
    prose = tmp_path / "notes"
    prose.write_text("just some words\nand more words\n")
    assert sniff_format(prose) == "text"


# -- sampling, streaming, parallelism -------------------------------------------------


def test_sample_reads_only_the_first_rows(tmp_path: Path) -> None:
    rows = [{"id": str(i), "note": "nothing"} for i in range(300)]
    rows[250]["note"] = "ssn 123-45-6789"
    path = tmp_path / "late.csv"
    pl.DataFrame(rows).write_csv(path)
    sample = scan_file(path, detector=detector(), sample_rows=100)
    assert sample.mode == "sample" and sample.sampled
    assert sample.rows == 100 and sample.rows_total is None
    assert sample.totals == {}
    full = scan_file(path, detector=detector(), full=True, sample_rows=100)
    assert full.mode == "full" and full.rows == 300 and full.rows_total == 300
    assert found(full)["note"] == {"US_SSN": (1, 1)}


def test_sample_of_a_short_file_knows_the_total(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "short.csv", 40)
    scan = scan_file(path, detector=detector())
    assert scan.mode == "sample" and scan.rows == 40 and scan.rows_total == 40


def test_streams_in_many_batches(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 230)
    steps: list[int] = []
    totals: list[int] = []

    def progress(total: int) -> object:
        totals.append(total)
        return steps.append

    scan = scan_file(path, detector=detector(), full=True, batch_rows=7, progress=progress)  # type: ignore[arg-type]
    assert found(scan) == expected(230)
    assert totals == [path.stat().st_size]
    assert len(steps) > 10 and sum(steps) == path.stat().st_size
    one_batch = scan_file(path, detector=detector(), full=True)
    assert found(one_batch) == found(scan)
    for column in one_batch.columns:
        assert column.values == scan.column(column.name).values
        assert column.candidates == scan.column(column.name).candidates


def test_two_jobs_give_the_same_result_as_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 1500)
    one = scan_file(path, detector=detector(), full=True, batch_rows=60, jobs=1)
    two = scan_file(path, detector=detector(), full=True, batch_rows=60, jobs=2)
    assert found(one) == expected(1500)
    assert stable(one) == stable(two)


# -- the column engine ----------------------------------------------------------------


def test_trusted_shapes_count_without_recognizers_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TRUST_MIN_DISTINCT", 20)
    monkeypatch.setattr(engine, "VERIFY_EVERY", 5)
    path = write_csv(tmp_path / "people.csv", 3000)
    exact = scan_file(path, detector=detector(), full=True, batch_rows=200, exact=True)
    fast = scan_file(path, detector=detector(), full=True, batch_rows=200)
    assert found(exact) == found(fast) == expected(3000)
    assert exact.exact and not fast.exact
    column = fast.column("email")
    assert column.shortcut_cells > 1000 and column.verified > 0 and column.disagreed == 0
    assert column.typed_as == "EMAIL_ADDRESS"
    assert column.distinct_scanned < exact.column("email").distinct_scanned
    assert stable(fast) == stable(
        scan_file(path, detector=detector(), full=True, batch_rows=200, jobs=2)
    )


def test_verification_reports_shapes_that_stop_holding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "TRUST_MIN_DISTINCT", 20)
    monkeypatch.setattr(engine, "VERIFY_EVERY", 5)
    # Valid SSNs first; later, never-issued ones of the same shape, which the recognizer
    # rejects: trusted-shape counts over-count them until verification catches it.
    values = [f"{100 + i % 500:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(600)]
    values += [f"000-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(2400)]
    path = tmp_path / "ssn.csv"
    pl.DataFrame({"ssn": values}).write_csv(path)
    exact = scan_file(path, detector=detector(), full=True, batch_rows=100, exact=True)
    fast = scan_file(path, detector=detector(), full=True, batch_rows=100)
    assert found(exact)["ssn"] == {"US_SSN": (600, 600)}
    column = fast.column("ssn")
    assert column.disagreed > 0 and not column.exact
    assert 600 <= column.types[0].cells < 3000  # the shortcut stopped once caught


def test_learned_recognizer_sees_every_cell_and_prefilters_skip_the_rest(
    tmp_path: Path,
) -> None:
    recognizers = [email(), ssn(), person(), token()]
    path = write_csv(tmp_path / "people.csv", 100)
    scan_file(path, detector=Detector(recognizers), full=True, exact=True)
    mail, social, tagger, secret = recognizers
    # Distinct non-empty values: 100 ids, 100 e-mails, 75 SSNs, the distinct notes.
    distinct_notes = len({row(i)["note"] for i in range(100)})
    header = 4  # each column name is checked once: a header holding a value is data
    assert tagger.calls == header + 100 + 100 + 75 + distinct_notes
    assert secret.calls == tagger.calls  # its prefilter does not compile: every value
    assert mail.calls == header + 100 + 10  # "@" in e-mails and in one note in ten
    assert social.calls == header + 75


def test_header_with_a_sensitive_value_is_data(tmp_path: Path) -> None:
    path = tmp_path / "no_header.csv"
    path.write_text("1,first@example.com\n2,second@example.com\n3,third@example.com\n")
    scan = scan_file(path, detector=detector(), full=True)
    assert scan.rows == 3
    assert all("@" not in c.name for c in scan.columns)
    assert scan.totals == {"EMAIL_ADDRESS": 3}
    assert scan.notes


def test_column_name_is_a_hint_never_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "hints.csv"
    path.write_text("customer_ssn,EmailAddress,notes\nn/a,none,-\nunknown,none,-\n")
    scan = scan_file(path, detector=detector(), full=True)
    assert scan.totals == {}
    assert scan.column("customer_ssn").name_hint == "US_SSN"
    assert scan.column("EmailAddress").name_hint == "EMAIL_ADDRESS"
    assert scan.column("notes").name_hint is None
    assert scan.column("customer_ssn").types == ()


def test_masked_examples_never_hold_the_raw_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", 200)
    scan = scan_file(path, detector=detector(), full=True)
    raw = [v for i in range(200) for v in row(i).values()] + ["Alice Martin"]
    assert_masked(scan, raw)
    examples = scan.column("email").types[0].examples
    assert len(set(examples)) == 3 and all(e.startswith("u") for e in examples)
    report = render_json(scan) + render_html(scan)
    for value in ("user1@example.com", "Alice Martin", "101-11-1001"):
        assert value not in report


def test_mask_value() -> None:
    assert mask_value("jane.doe@example.com") == "j******************m"
    assert mask_value("abcd") == "****"
    assert mask_value("abcde") == "a***e"


def test_name_hints() -> None:
    assert name_hint("ssn") == "US_SSN"
    assert name_hint("patientDOB") == "DATE_OF_BIRTH"
    assert name_hint("home_address") == "STREET_ADDRESS"
    assert name_hint("Phone Number") == "PHONE_NUMBER"
    assert name_hint("last_name") == "PERSON"
    assert name_hint("amount") is None


def test_shape_patterns_match_exactly_their_shapes() -> None:
    values = ["(415) 555-0134", "Jane.Doe42@Example.com", "DE89 3704", "a+b*c?", "é-1"]
    pattern = shape_pattern({shape_of(v) for v in values})
    for value in values:
        assert pl.Series([value]).str.contains(pattern).item()
    for other in ["(415) 555-01345", "jane.doe42@example.com", "DE89 37041", "a+b*c", "e-1"]:
        assert not pl.Series([other]).str.contains(pattern).item(), other


# -- errors ---------------------------------------------------------------------------


def test_ragged_csv_is_unreadable_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,secret@example.com,extra\n")
    with pytest.raises(DataScanError) as caught:
        scan_file(path, detector=detector(), full=True)
    assert caught.value.code == "data.scan.unreadable"
    assert "secret@example.com" not in str(caught.value)


def test_unterminated_quote_is_unreadable_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('a,b\n1,"secret@example.com\n3,4\n')
    with pytest.raises(DataScanError) as caught:
        scan_file(path, detector=detector(), full=True)
    assert caught.value.code == "data.scan.unreadable"
    assert "secret" not in str(caught.value)


def test_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": "x"}\n{"a": "secret@example.com"\n')
    with pytest.raises(DataScanError) as caught:
        scan_file(path, detector=detector(), full=True)
    assert caught.value.code == "data.scan.unreadable"
    assert caught.value.details["line"] == 2
    assert "secret" not in str(caught.value)


def test_corrupt_parquet_and_binary_and_missing(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"\x00garbage" * 10 + b"PAR1")
    fake = tmp_path / "fake.parquet"
    fake.write_text("a,b\n1,2\n")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    for path, code in (
        (corrupt, "data.scan.unreadable"),
        (fake, "data.scan.unreadable"),
        (binary, "data.scan.unsupported_format"),
        (tmp_path / "missing.csv", "data.scan.unreadable"),
    ):
        with pytest.raises(DataScanError) as caught:
            scan_file(path, detector=detector())
        assert caught.value.code == code, path
        assert caught.value.exit_code == 16


def test_scan_paths_reports_errors_per_file(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_csv(folder / "a.csv", 30)
    (folder / "b.jsonl").write_text("{not json}\n")
    (folder / "c.bin").write_bytes(b"\x00\x01")  # not a data extension: skipped in folders
    (folder / "d.log").write_text("mail x@example.com\n")
    (folder / "empty.csv").write_text("")
    results = scan_paths([folder], detector=detector(), full=True)
    assert [Path(r.path).name for r in results] == ["a.csv", "b.jsonl", "d.log", "empty.csv"]
    assert results[0].error is None and results[0].totals["EMAIL_ADDRESS"] == 36
    assert results[1].error_code == "data.scan.unreadable"
    assert results[1].as_dict()["error"]["code"] == "data.scan.unreadable"
    assert results[2].totals == {"EMAIL_ADDRESS": 1}
    assert results[3].rows == 0 and results[3].columns == ()


# -- reports --------------------------------------------------------------------------


def test_html_report_escapes_file_content(tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    column = "<script>alert(1)</script>"
    pl.DataFrame(
        {
            column: [f"<script>x{i}@evil.example.com</script>" for i in range(20)],
            "note": ["<img src=x onerror=alert(2)>"] * 20,
        }
    ).write_csv(path)
    scan = scan_file(path, detector=detector(), full=True)
    page = render_html(scan)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "http" not in page
    assert "EMAIL_ADDRESS" in page


def test_html_report_of_a_sample_and_an_error(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", 50)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    page = render_html(scan_paths([good, bad], detector=detector(), sample_rows=10))
    assert "Sample: the first 10 rows" in page
    assert "data.scan.unreadable" in page


def test_json_report_round_trips(tmp_path: Path) -> None:
    scan = scan_file(write_csv(tmp_path / "p.csv", 30), detector=detector(), full=True)
    assert json.loads(render_json(scan)) == json.loads(json.dumps(scan.as_dict()))
    assert isinstance(json.loads(render_json([scan, scan])), list)
