"""Input schemas profiled from training data: inference (frames, CSV, TSV, Parquet),
validation (every violation code with an accepting and a refusing case), tolerance, the
float32 matrix, out-of-distribution scores, the JSON round trip and the row JSON Schema.

Registration (the schema stored, signed and tamper-evident) is in test_registry.py.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl
import pytest

from bastion.errors import InvalidInput
from bastion.models.profile import infer_schema, infer_schema_from_frame
from bastion.models.schema import InputSchema


def _frame(n: int = 1000) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    return pl.DataFrame(
        {
            "age": rng.integers(18, 91, n),
            "income": rng.normal(50_000, 12_000, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "note": [f"customer note number {i} about things" for i in range(n)],
            "vip": rng.random(n) < 0.1,
            "churned": rng.integers(0, 2, n),
        }
    ).with_columns(
        pl.when(pl.arange(0, n) % 10 == 0).then(None).otherwise(pl.col("income")).alias("income")
    )


@pytest.fixture(scope="module")
def schema() -> InputSchema:
    return infer_schema_from_frame(_frame(), target="churned")


NUMERIC = infer_schema_from_frame(_frame().select("age", "income").drop_nulls())
GOOD: dict[str, object] = {"age": 40, "income": 5e4, "plan": "pro", "note": "fine", "vip": "false"}


# ---- inference ---------------------------------------------------------------------------


def test_profiles_each_kind(schema: InputSchema) -> None:
    by = {f.name: f for f in schema.features}
    assert [f.name for f in schema.features] == ["age", "income", "plan", "note", "vip"]
    age = by["age"]
    assert (age.kind, age.dtype, age.integer) == ("number", "int", True)
    assert age.min == 18 and age.max == 90 and len(age.quantiles) == 101
    assert age.quantiles[0] == age.min and age.quantiles[-1] == age.max
    assert list(age.quantiles) == sorted(age.quantiles)
    assert age.mean is not None and 50 < age.mean < 58 and age.std is not None and age.std > 15
    income = by["income"]
    assert (income.kind, income.dtype, income.integer) == ("number", "float", False)
    assert income.missing_rate == pytest.approx(0.1)
    assert by["plan"].kind == "category" and by["plan"].dtype == "str"
    assert set(by["plan"].categories) == {"basic", "plus", "pro"}
    assert sum(by["plan"].categories.values()) == pytest.approx(1.0)
    note = by["note"]
    assert (note.kind, note.charset, note.min_length, note.max_length) == ("text", "ascii", 35, 37)
    vip = by["vip"]
    assert (vip.kind, vip.dtype) == ("category", "bool")
    assert set(vip.categories) == {"true", "false"}
    assert vip.categories["true"] == pytest.approx(0.1, abs=0.03)
    assert schema.rows == 1000
    # The OOD reference covers the two numeric features only.
    assert len(schema.ood_mean) == 2 and len(schema.ood_inv_cov) == 2
    assert math.isfinite(schema.ood_threshold)


def test_category_or_text_by_distinct_values() -> None:
    n = 200
    df = pl.DataFrame(
        {
            "few": [f"v{i % 50}" for i in range(n)],  # 50 distinct: still a category
            "many": [f"v{i % 51}" for i in range(n)],  # 51: text
            "accents": [f"naïve {i}" for i in range(n)],
        }
    )
    by = {f.name: f for f in infer_schema_from_frame(df).features}
    assert by["few"].kind == "category" and len(by["few"].categories) == 50
    assert by["many"].kind == "text" and by["many"].charset == "ascii"
    assert by["accents"].kind == "text" and by["accents"].charset == "unicode"
    # Few distinct values, but half the rows: names, not categories.
    small = pl.DataFrame({"half": [f"v{i % 20}" for i in range(40)], "less": ["a", "b"] * 20})
    assert [f.kind for f in infer_schema_from_frame(small).features] == ["text", "category"]


def test_integral_floats_are_marked_integer() -> None:
    df = pl.DataFrame({"whole": [1.0, 2.0, 3.0, 4.0], "half": [1.0, 2.5, 3.0, 4.0]})
    by = {f.name: f for f in infer_schema_from_frame(df).features}
    assert (by["whole"].dtype, by["whole"].integer) == ("float", True)
    assert by["half"].integer is False


def test_reads_csv_tsv_and_parquet_alike(tmp_path: Path) -> None:
    df = _frame(300).select("age", "income", "plan", "churned")
    df.write_csv(tmp_path / "t.csv")
    df.write_csv(tmp_path / "t.tsv", separator="\t")
    df.write_parquet(tmp_path / "t.parquet")
    read = [infer_schema(tmp_path / f"t.{ext}", target="churned") for ext in ("csv", "tsv")]
    read.append(infer_schema(tmp_path / "t.parquet", target="churned"))
    for one in read:
        assert [f.name for f in one.features] == ["age", "income", "plan"]
        assert [f.kind for f in one.features] == ["number", "number", "category"]
        assert one.features[1].missing_rate == pytest.approx(0.1)
        assert one.digest() == read[0].digest()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.csv", None),
        ("model.bin", b"\x00\x01"),
        ("binary.csv", b"\x00\x01binary"),
        ("bad.parquet", b"not parquet"),
        ("ragged.csv", b'a,b\n1,2\n3,"unterminated\n'),
        ("empty.csv", b"a,b\n"),
        ("notes.txt", b"just some prose\n"),
    ],
)
def test_unreadable_training_data(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        infer_schema(path)
    assert caught.value.code == "model.schema_unreadable"


def test_unknown_columns_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        infer_schema_from_frame(_frame(), target="label")
    assert caught.value.code == "model.schema_bad_column"
    with pytest.raises(InvalidInput) as caught:
        infer_schema_from_frame(_frame(), features=["age", "nope"])
    assert caught.value.code == "model.schema_bad_column"


def test_feature_order_follows_the_model() -> None:
    chosen = infer_schema_from_frame(_frame(), features=["income", "age"])
    assert [f.name for f in chosen.features] == ["income", "age"]
    assert chosen.ood_mean[0] > 1000 > chosen.ood_mean[1]  # income first, then age


# ---- JSON round trip ---------------------------------------------------------------------


def test_round_trip_and_digest(schema: InputSchema) -> None:
    doc = json.loads(json.dumps(schema.as_dict()))
    assert doc["version"] == 1
    again = InputSchema.from_dict(doc)
    assert again == schema and again.digest() == schema.digest()
    # The digest is the SHA-256 of the canonical JSON, whatever the order of the keys.
    canonical = json.dumps(schema.as_dict(), sort_keys=True, separators=(",", ":"))
    assert schema.digest() == hashlib.sha256(canonical.encode()).hexdigest()
    assert InputSchema.from_dict(dict(reversed(list(doc.items())))).digest() == schema.digest()
    doc["features"][0]["max"] = 1000
    assert InputSchema.from_dict(doc).digest() != schema.digest()


def _malformed(schema: InputSchema) -> list[Any]:
    doc = schema.as_dict()
    number = dict(doc["features"][0])
    text = dict(doc["features"][3])
    return [
        {"version": 2},
        {"version": 1},
        [],
        {**doc, "features": [{}]},
        {**doc, "features": []},
        {**doc, "features": [doc["features"][0]] * 2},  # duplicate names
        {**doc, "features": [{**number, "kind": "picture"}]},
        {**doc, "features": [{**number, "min": "18"}]},
        {**doc, "features": [{**number, "min": None}]},
        {**doc, "features": [{**doc["features"][2], "categories": ["basic"]}]},
        {**doc, "features": [{**text, "charset": "ebcdic"}]},
        {**doc, "ood": {**doc["ood"], "mean": [1.0]}},
        {**doc, "ood": {"mean": [], "inv_cov": [[1.0]], "threshold": None}},
    ]


def test_malformed_documents_are_refused(schema: InputSchema) -> None:
    for broken in _malformed(schema):
        with pytest.raises(InvalidInput) as caught:
            InputSchema.from_dict(broken)
        assert caught.value.code == "model.schema_invalid", broken


# ---- validation --------------------------------------------------------------------------


def _codes(schema: InputSchema, rows: list[object], tolerance: float = 0.0) -> list[str]:
    return [v.code for v in schema.validate(rows, tolerance=tolerance).violations]


def test_valid_rows_give_the_float_matrix() -> None:
    checked = NUMERIC.validate(
        [
            {"age": 40, "income": 50_000.5},
            [30, 41_000],
            MappingProxyType({"age": 20.0, "income": 4e4}),
        ]
    )
    assert checked.violations == ()
    assert checked.matrix is not None and checked.matrix.dtype == np.float32
    assert checked.matrix.tolist() == [[40.0, 50000.5], [30.0, 41000.0], [20.0, 40000.0]]
    empty = NUMERIC.validate([]).matrix
    assert empty is not None and empty.shape == (0, 2)


# (code, a row that passes, a row that raises exactly that code, matrix kept?)
NUMERIC_CASES: list[tuple[str, object, object, bool]] = [
    ("input.missing_feature", {"age": 40, "income": 5e4}, {"age": 40}, False),
    (
        "input.unknown_feature",
        {"age": 40, "income": 5e4},
        {"age": 40, "income": 5e4, "ssn": "1"},
        False,
    ),
    ("input.wrong_shape", [40, 5e4], [40], False),
    ("input.wrong_shape", [40, 5e4], "40,50000", False),
    ("input.wrong_type", {"age": 40, "income": 5e4}, {"age": "40", "income": 5e4}, False),
    ("input.wrong_type", {"age": 40, "income": 5e4}, {"age": True, "income": 5e4}, False),
    ("input.wrong_type", {"age": 40.0, "income": 5e4}, {"age": 40.5, "income": 5e4}, False),
    ("input.wrong_type", [40, 5e4], [40, None], False),
    ("input.not_finite", {"age": 40, "income": 5e4}, {"age": 40, "income": math.inf}, False),
    ("input.not_finite", [40, 5e4], [40, math.nan], False),
    ("input.out_of_range", {"age": 90, "income": 5e4}, {"age": 91, "income": 5e4}, True),
    ("input.out_of_range", [18, 5e4], [17, 5e4], True),
]


@pytest.mark.parametrize(("code", "good", "bad", "kept"), NUMERIC_CASES)
def test_each_numeric_violation(code: str, good: object, bad: object, kept: bool) -> None:
    assert _codes(NUMERIC, [good]) == []
    checked = NUMERIC.validate([good, bad])
    assert [(v.row, v.code) for v in checked.violations] == [(1, code)]
    if kept:  # reported, but the caller may still answer: the matrix has both rows
        assert checked.matrix is not None and checked.matrix.shape == (2, 2)
    else:
        assert checked.matrix is None


MIXED_CASES: list[tuple[str, dict[str, object]]] = [
    ("input.unknown_category", {"plan": "platinum"}),
    ("input.wrong_type", {"plan": 3}),
    ("input.wrong_type", {"note": 3}),
    ("input.text_too_long", {"note": "x" * 75}),  # twice the longest training note is 74
    ("input.charset", {"note": "naïve"}),
    ("input.unknown_category", {"vip": "maybe"}),
]


@pytest.mark.parametrize(("code", "change"), MIXED_CASES)
def test_category_and_text_violations(
    schema: InputSchema, code: str, change: dict[str, object]
) -> None:
    assert _codes(schema, [GOOD, {**GOOD, "note": "x" * 74}, {**GOOD, "vip": True}]) == []
    (violation,) = schema.validate([{**GOOD, **change}]).violations
    assert (violation.code, violation.feature) == (code, next(iter(change)))
    # A mixed schema has no float matrix for the model: the caller encodes it.
    assert schema.validate([GOOD]).matrix is None


def test_list_rows_follow_the_feature_order(schema: InputSchema) -> None:
    assert _codes(schema, [[40, 5e4, "pro", "fine", "false"]]) == []
    swapped = schema.validate([[40, 5e4, "fine", "pro", "false"]]).violations
    assert [(v.feature, v.code) for v in swapped] == [("plan", "input.unknown_category")]


def test_tolerance_widens_ranges() -> None:
    # age was 18..90 in training: a tolerance of 0.1 accepts 7.2 either side.
    assert _codes(NUMERIC, [{"age": 95, "income": 5e4}]) == ["input.out_of_range"]
    assert _codes(NUMERIC, [{"age": 95, "income": 5e4}], tolerance=0.1) == []
    assert _codes(NUMERIC, [{"age": 11, "income": 5e4}], tolerance=0.1) == []
    assert _codes(NUMERIC, [{"age": 98, "income": 5e4}], tolerance=0.1) == ["input.out_of_range"]
    assert _codes(NUMERIC, [{"age": 10, "income": 5e4}], tolerance=0.1) == ["input.out_of_range"]
    # Each tolerance gets its own bounds (they are cached per tolerance).
    assert _codes(NUMERIC, [{"age": 95, "income": 5e4}]) == ["input.out_of_range"]


def test_messages_never_echo_long_values(schema: InputSchema) -> None:
    secret = "4111111111111111" * 10
    rows: list[object] = [
        {"age": secret, "income": 50_000},
        {"age": 40, "income": 50_000, secret: 1},
    ]
    mixed: list[object] = [{**GOOD, "plan": secret}, {**GOOD, "note": secret * 10}]
    found = [*NUMERIC.validate(rows).violations, *schema.validate(mixed).violations]
    assert len(found) == 4
    for violation in found:
        assert secret[:41] not in violation.message and secret[:41] not in violation.feature


# ---- out of distribution -----------------------------------------------------------------


def test_out_of_distribution_scores() -> None:
    near = np.array([[54.0, 50_000.0]], dtype=np.float32)
    far = np.array([[90.0, 120_000.0]], dtype=np.float32)
    assert NUMERIC.ood_scores(near)[0] < 1.0 < NUMERIC.ood_threshold
    assert NUMERIC.ood_scores(far)[0] > NUMERIC.ood_threshold
    # About 0.1% of the training rows lie beyond the threshold, by construction.
    train = _frame().select("age", "income").drop_nulls().to_numpy().astype(np.float32)
    scores = NUMERIC.ood_scores(train)
    assert scores.shape == (len(train),)
    assert (scores > NUMERIC.ood_threshold).mean() <= 0.002
    # The small-batch path (plain Python) and the NumPy path agree.
    assert NUMERIC.ood_scores(train[:3]) == pytest.approx(scores[:3], rel=1e-9)


def test_constant_and_collinear_features_still_invert() -> None:
    b = np.arange(50, dtype=float)
    df = pl.DataFrame({"a": [1.0] * 50, "b": b, "c": 2 * b})
    schema = infer_schema_from_frame(df)
    assert np.isfinite(schema.ood_scores(np.array([[1.0, 3.0, 6.0]]))).all()
    assert math.isfinite(schema.ood_threshold)


# ---- JSON Schema of one row --------------------------------------------------------------


def test_json_schema(schema: InputSchema) -> None:
    doc = schema.json_schema()
    assert doc["type"] == "object"
    assert doc["required"] == ["age", "income", "plan", "note", "vip"]
    assert doc["additionalProperties"] is False
    props = doc["properties"]
    assert props["age"] == {"type": "integer"}
    assert props["income"] == {"type": "number"}
    assert set(props["plan"]["enum"]) == {"basic", "plus", "pro"}
    assert props["note"] == {"type": "string", "maxLength": 74}
    assert set(props["vip"]["enum"]) == {True, False, "true", "false"}
    assert "minimum" not in json.dumps(doc) and "maximum" not in json.dumps(doc)


def test_json_schema_agrees_with_validate(schema: InputSchema) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    check = jsonschema.Draft202012Validator(schema.json_schema())
    check.check_schema(schema.json_schema())
    accepted: list[dict[str, object]] = [GOOD, {**GOOD, "vip": True}, {**GOOD, "age": 500}]
    refused: list[dict[str, object]] = [
        {**GOOD, "plan": "platinum"},
        {**GOOD, "x": 1},
        {"age": 40},
        {**GOOD, "age": 4.5},
    ]
    for row in accepted:  # out of range is the guard's decision, not the schema's
        assert check.is_valid(row), row
    for bad in refused:
        assert not check.is_valid(bad), bad
        assert schema.validate([bad]).violations
