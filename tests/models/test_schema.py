"""Input schemas profiled from training data: inference, validation (every violation code
with an accepting and a refusing case), out-of-distribution scores, JSON round trip, and
the schema's place in registration (stored, signed, tamper-evident)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from bastion.db.models import ModelVersionRow, VaultObjectRow
from bastion.errors import InvalidInput, ModelRejected
from bastion.models import registry
from bastion.models.schema import InputSchema, infer_schema, infer_schema_from_frame
from tests.models.conftest import Team, write_onnx


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


@pytest.fixture
def schema() -> InputSchema:
    return infer_schema_from_frame(_frame(), target="churned")


def test_profiles_each_kind(schema: InputSchema) -> None:
    by = {f.name: f for f in schema.features}
    assert [f.name for f in schema.features] == ["age", "income", "plan", "note", "vip"]
    age = by["age"]
    assert (age.kind, age.dtype, age.integer) == ("number", "int", True)
    assert age.min == 18 and age.max == 90 and len(age.quantiles) == 101
    assert age.quantiles[0] == age.min and age.quantiles[-1] == age.max
    assert by["income"].missing_rate == pytest.approx(0.1)
    assert by["plan"].kind == "category"
    assert sum(by["plan"].categories.values()) == pytest.approx(1.0)
    assert by["note"].kind == "text" and by["note"].charset == "ascii"
    assert by["vip"].kind == "category" and set(by["vip"].categories) <= {"true", "false"}
    assert schema.rows == 1000


def test_reads_csv_and_parquet_alike(tmp_path: Path) -> None:
    df = _frame(300).select("age", "income", "churned")
    df.write_csv(tmp_path / "t.csv")
    df.write_parquet(tmp_path / "t.parquet")
    a = infer_schema(tmp_path / "t.csv", target="churned")
    b = infer_schema(tmp_path / "t.parquet", target="churned")
    assert [f.name for f in a.features] == [f.name for f in b.features] == ["age", "income"]
    assert a.features[0].max == b.features[0].max


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("missing.csv", None, "model.schema_unreadable"),
        ("model.bin", b"\x00\x01", "model.schema_unreadable"),
        ("bad.parquet", b"not parquet", "model.schema_unreadable"),
    ],
)
def test_unreadable_training_data(
    tmp_path: Path, name: str, content: bytes | None, code: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        infer_schema(path)
    assert caught.value.code == code


def test_unknown_columns_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        infer_schema_from_frame(_frame(), target="label")
    assert caught.value.code == "model.schema_bad_column"
    with pytest.raises(InvalidInput):
        infer_schema_from_frame(_frame(), features=["age", "nope"])


def test_feature_order_follows_the_model() -> None:
    chosen = infer_schema_from_frame(_frame(), features=["income", "age"])
    assert [f.name for f in chosen.features] == ["income", "age"]


def test_round_trip_and_digest(schema: InputSchema) -> None:
    doc = json.loads(json.dumps(schema.as_dict()))
    again = InputSchema.from_dict(doc)
    assert again == schema and again.digest() == schema.digest()
    doc["features"][0]["max"] = 1000
    assert InputSchema.from_dict(doc).digest() != schema.digest()
    for broken in ({"version": 2}, {"version": 1}, [], {**schema.as_dict(), "features": [{}]}):
        with pytest.raises(InvalidInput) as caught:
            InputSchema.from_dict(broken)
        assert caught.value.code == "model.schema_invalid"


NUMERIC = infer_schema_from_frame(_frame().select("age", "income").drop_nulls())


def _codes(schema: InputSchema, rows: list[object], tolerance: float = 0.0) -> list[str]:
    return [v.code for v in schema.validate(rows, tolerance=tolerance).violations]


def test_valid_rows_give_the_float_matrix() -> None:
    checked = NUMERIC.validate([{"age": 40, "income": 50_000.5}, [30, 41_000]])
    assert checked.violations == ()
    assert checked.matrix is not None and checked.matrix.dtype == np.float32
    assert checked.matrix.tolist() == [[40.0, 50000.5], [30.0, 41000.0]]


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"age": 40}, "input.missing_feature"),
        ({"age": 40, "income": 1.0, "ssn": "1"}, "input.unknown_feature"),
        ([40], "input.wrong_shape"),
        ("40,50000", "input.wrong_shape"),
        ({"age": "40", "income": 1.0}, "input.wrong_type"),
        ({"age": True, "income": 1.0}, "input.wrong_type"),
        ({"age": 40.5, "income": 50_000}, "input.wrong_type"),
        ({"age": 40, "income": math.inf}, "input.not_finite"),
        ({"age": 400, "income": 50_000}, "input.out_of_range"),
    ],
)
def test_each_violation(row: object, code: str) -> None:
    checked = NUMERIC.validate([row])
    assert checked.violations[0].code == code
    if code == "input.out_of_range":
        assert checked.matrix is not None  # the caller may still choose to answer
    else:
        assert checked.matrix is None


def test_tolerance_widens_ranges() -> None:
    assert _codes(NUMERIC, [{"age": 95, "income": 50_000}]) == ["input.out_of_range"]
    assert _codes(NUMERIC, [{"age": 95, "income": 50_000}], tolerance=0.1) == []


def test_categories_and_text(schema: InputSchema) -> None:
    good = {"age": 40, "income": 5e4, "plan": "pro", "note": "fine", "vip": "false"}
    assert _codes(schema, [good]) == []
    assert _codes(schema, [{**good, "plan": "platinum"}]) == ["input.unknown_category"]
    assert _codes(schema, [{**good, "note": "x" * 10_000}]) == ["input.text_too_long"]
    assert _codes(schema, [{**good, "note": "naïve"}]) == ["input.charset"]
    assert _codes(schema, [{**good, "plan": 3}]) == ["input.wrong_type"]
    # A mixed schema has no float matrix for the model: the caller encodes it.
    assert schema.validate([good]).matrix is None


def test_messages_never_echo_long_values() -> None:
    secret = "4111111111111111" * 10
    (violation,) = NUMERIC.validate([{"age": secret, "income": 50_000}]).violations
    assert secret not in violation.message and len(violation.message) < 120


def test_out_of_distribution_scores() -> None:
    near = np.array([[54.0, 50_000.0]], dtype=np.float32)
    far = np.array([[90.0, 120_000.0]], dtype=np.float32)
    assert NUMERIC.ood_scores(near)[0] < NUMERIC.ood_threshold
    assert NUMERIC.ood_scores(far)[0] > NUMERIC.ood_threshold
    # About 0.1% of the training rows lie beyond the threshold, by construction.
    train = _frame().select("age", "income").drop_nulls().to_numpy().astype(np.float32)
    assert (NUMERIC.ood_scores(train) > NUMERIC.ood_threshold).mean() <= 0.002


def test_constant_features_still_invert() -> None:
    df = pl.DataFrame({"a": [1.0] * 50, "b": np.arange(50, dtype=float)})
    schema = infer_schema_from_frame(df)
    assert np.isfinite(schema.ood_scores(np.array([[1.0, 3.0]]))).all()


def test_json_schema(schema: InputSchema) -> None:
    doc = schema.json_schema()
    assert doc["required"] == ["age", "income", "plan", "note", "vip"]
    assert doc["additionalProperties"] is False
    assert doc["properties"]["age"] == {"type": "integer"}
    assert set(doc["properties"]["plan"]["enum"]) == {"basic", "plus", "pro"}


# ---- registration ------------------------------------------------------------------------


def _training_csv(team: Team) -> Path:
    path = team.root / "train.csv"
    _frame(200).select("age", "income", "churned").drop_nulls().write_csv(path)
    return path


def test_registration_stores_and_signs_the_schema(team: Team) -> None:
    model = write_onnx(team.root / "m.onnx", 1)[0]
    registry.register(
        team.ws,
        team.scientist,
        model,
        "scored",
        training_data=_training_csv(team),
        target="churned",
    )
    schema = registry.verified_input_schema(team.ws, "scored", 1)
    assert schema is not None and [f.name for f in schema.features] == ["age", "income"]
    statement = registry.provenance(team.ws, team.scientist, "scored", version=1)
    internal = statement["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["inputSchemaSha256"] == schema.digest()


def test_a_version_without_training_data_has_no_schema(team: Team) -> None:
    registry.register(team.ws, team.scientist, write_onnx(team.root / "m.onnx", 1)[0], "plain")
    assert registry.verified_input_schema(team.ws, "plain", 1) is None


def test_tampering_with_the_stored_schema_is_caught(team: Team) -> None:
    model = write_onnx(team.root / "m.onnx", 1)[0]
    registry.register(
        team.ws,
        team.scientist,
        model,
        "scored",
        training_data=_training_csv(team),
        target="churned",
    )
    with team.ws.sessions.begin() as session:
        row = session.scalars(select(ModelVersionRow).where(ModelVersionRow.name == "scored")).one()
        doc = dict(row.input_schema or {})
        features = [dict(f) for f in doc["features"]]
        features[0]["max"] = 10_000  # widen the accepted range behind the registry's back
        row.input_schema = {**doc, "features": features}
    with pytest.raises(ModelRejected) as caught:
        registry.verified_input_schema(team.ws, "scored", 1)
    assert caught.value.code == "model.schema_tampered"
    with team.ws.sessions.begin() as session:
        row = session.scalars(select(ModelVersionRow).where(ModelVersionRow.name == "scored")).one()
        row.input_schema = None
    with pytest.raises(ModelRejected):
        registry.verified_input_schema(team.ws, "scored", 1)


def test_bad_training_data_changes_nothing(team: Team) -> None:
    model = write_onnx(team.root / "m.onnx", 1)[0]
    bad = team.root / "train.csv"
    bad.write_text("age,income\n1,2\n")
    with pytest.raises(InvalidInput):
        registry.register(team.ws, team.scientist, model, "scored", training_data=bad, target="y")
    with team.ws.sessions() as session:
        assert session.scalars(select(ModelVersionRow)).all() == []
        assert session.scalars(select(VaultObjectRow)).all() == []
