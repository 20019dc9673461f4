"""A model's input schema and reference profile, recorded at registration from its
training data.

Per feature: kind (number, category, text), type, missing rate; for numbers the range,
mean, standard deviation and a 101-point quantile sketch (what drift tests compare live
traffic with); for categories their frequencies; for text its length range and charset.
For the numeric features together, the mean and regularized inverse covariance of the
training rows and the 99.9th percentile of their squared Mahalanobis distance: the
out-of-distribution reference.

The gateway calls :meth:`InputSchema.validate` on every request, so it is plain Python
over a handful of features, with no per-row NumPy calls.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bastion.errors import InvalidInput

SCHEMA_VERSION = 1
MAX_CATEGORIES = 50
OOD_QUANTILE = 99.9
_RIDGE = 1e-6
_ECHO = 40  # never echo more of an offending value than this


@dataclass(frozen=True)
class FeatureProfile:
    """What the training data says about one input feature."""

    name: str
    kind: str  # number | category | text
    dtype: str  # float | int | bool | str
    missing_rate: float = 0.0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: tuple[float, ...] = ()
    integer: bool = False
    categories: dict[str, float] = field(default_factory=dict)
    min_length: int | None = None
    max_length: int | None = None
    charset: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (only the fields its kind uses)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "missing_rate": self.missing_rate,
        }
        if self.kind == "number":
            doc.update(
                min=self.min,
                max=self.max,
                mean=self.mean,
                std=self.std,
                quantiles=list(self.quantiles),
                integer=self.integer,
            )
        elif self.kind == "category":
            doc["categories"] = dict(self.categories)
        else:
            doc.update(min_length=self.min_length, max_length=self.max_length, charset=self.charset)
        return doc


@dataclass(frozen=True)
class Violation:
    """One problem with one value of one row."""

    row: int
    feature: str
    code: str
    message: str


@dataclass(frozen=True)
class Validated:
    """Rows checked against a schema: the model's float32 matrix and the problems found."""

    matrix: np.ndarray | None
    violations: tuple[Violation, ...]


def _echo(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO else text[: _ECHO - 1] + "…"


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


@dataclass(frozen=True)
class InputSchema:
    """The input features of a model, in the order the model takes them."""

    features: tuple[FeatureProfile, ...]
    rows: int
    ood_mean: tuple[float, ...] = ()
    ood_inv_cov: tuple[tuple[float, ...], ...] = ()
    ood_threshold: float = math.inf

    # ---- serialization -------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The JSON document stored with the model version."""
        return {
            "version": SCHEMA_VERSION,
            "rows": self.rows,
            "features": [f.as_dict() for f in self.features],
            "ood": {
                "mean": list(self.ood_mean),
                "inv_cov": [list(r) for r in self.ood_inv_cov],
                "threshold": self.ood_threshold if math.isfinite(self.ood_threshold) else None,
            },
        }

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: what the signed provenance records."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_dict(cls, doc: Any) -> InputSchema:
        """Parse a stored document; anything malformed is an error, not a default."""
        try:
            if not isinstance(doc, dict) or doc.get("version") != SCHEMA_VERSION:
                raise ValueError("unknown schema version")
            features = []
            for f in doc["features"]:
                kind = f["kind"]
                if kind not in ("number", "category", "text"):
                    raise ValueError(f"unknown kind {kind!r}")
                features.append(
                    FeatureProfile(
                        name=str(f["name"]),
                        kind=kind,
                        dtype=str(f["dtype"]),
                        missing_rate=float(f["missing_rate"]),
                        min=f.get("min"),
                        max=f.get("max"),
                        mean=f.get("mean"),
                        std=f.get("std"),
                        quantiles=tuple(float(q) for q in f.get("quantiles", ())),
                        integer=bool(f.get("integer", False)),
                        categories={str(k): float(v) for k, v in f.get("categories", {}).items()},
                        min_length=f.get("min_length"),
                        max_length=f.get("max_length"),
                        charset=f.get("charset"),
                    )
                )
            ood = doc["ood"]
            threshold = ood["threshold"]
            return cls(
                features=tuple(features),
                rows=int(doc["rows"]),
                ood_mean=tuple(float(x) for x in ood["mean"]),
                ood_inv_cov=tuple(tuple(float(x) for x in r) for r in ood["inv_cov"]),
                ood_threshold=float(threshold) if threshold is not None else math.inf,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                f"the stored input schema is malformed: {exc}", code="model.schema_invalid"
            ) from exc

    # ---- checks ----------------------------------------------------------------------

    @cached_property
    def names(self) -> frozenset[str]:
        """The feature names, for membership tests."""
        return frozenset(f.name for f in self.features)

    @cached_property
    def numeric(self) -> bool:
        """True when every feature is a number (the model takes a float matrix)."""
        return all(f.kind == "number" for f in self.features)

    def validate(self, rows: list[Any], *, tolerance: float = 0.0) -> Validated:
        """Check rows (mappings or lists in feature order); build the float32 matrix."""
        features = self.features
        width = len(features)
        names = [f.name for f in features]
        violations: list[Violation] = []
        fatal = False
        matrix: list[list[float]] = []
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                if len(row) != width or any(n not in row for n in names):
                    for n in names:
                        if n not in row:
                            violations.append(
                                Violation(i, n, "input.missing_feature", f"{n} is missing")
                            )
                    for key in row:
                        if key not in self.names:
                            violations.append(
                                Violation(
                                    i,
                                    str(key)[:_ECHO],
                                    "input.unknown_feature",
                                    f"{_echo(key)} is not an input of this model",
                                )
                            )
                    fatal = True
                    continue
                values = [row[n] for n in names]
            elif isinstance(row, list):
                if len(row) != width:
                    violations.append(
                        Violation(
                            i, "", "input.wrong_shape", f"expected {width} values, got {len(row)}"
                        )
                    )
                    fatal = True
                    continue
                values = row
            else:
                violations.append(
                    Violation(i, "", "input.wrong_shape", "a row is an object or an array")
                )
                fatal = True
                continue
            numbers: list[float] = []
            for f, v in zip(features, values, strict=True):
                problem = _check(f, v, tolerance)
                if problem is not None:
                    code, message = problem
                    violations.append(Violation(i, f.name, code, message))
                    if code in _FATAL:
                        fatal = True
                if f.kind == "number" and not fatal:
                    numbers.append(float(v))
            if not fatal:
                matrix.append(numbers)
        if fatal or not self.numeric:
            return Validated(None, tuple(violations))
        return Validated(np.asarray(matrix, dtype=np.float32), tuple(violations))

    def ood_scores(self, matrix: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of the numeric features."""
        if not self.ood_mean:
            return np.zeros(len(matrix))
        if len(matrix) <= 4:
            # A request's few rows: plain Python beats NumPy's per-call overhead here.
            mean, inv = self.ood_mean, self.ood_inv_cov
            out = []
            for row in matrix.tolist():
                d = [x - m for x, m in zip(row, mean, strict=True)]
                out.append(
                    sum(
                        di * sum(a * dj for a, dj in zip(r, d, strict=True))
                        for di, r in zip(d, inv, strict=True)
                    )
                )
            return np.asarray(out)
        centred = np.asarray(matrix, dtype=np.float64) - np.asarray(self.ood_mean)
        inverse = np.asarray(self.ood_inv_cov)
        scores: np.ndarray = np.einsum("ij,jk,ik->i", centred, inverse, centred)
        return scores

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one input row as an object (ranges left to the guard)."""
        props: dict[str, Any] = {}
        for f in self.features:
            if f.kind == "number":
                props[f.name] = {"type": "integer" if f.dtype == "int" else "number"}
            elif f.kind == "category":
                values: list[Any] = list(f.categories)
                props[f.name] = {"enum": values}
            else:
                props[f.name] = {"type": "string", "maxLength": 2 * (f.max_length or 0) or 1}
        return {
            "type": "object",
            "properties": props,
            "required": [f.name for f in self.features],
            "additionalProperties": False,
        }


_FATAL = frozenset({"input.wrong_type", "input.not_finite"})


def _check(f: FeatureProfile, v: object, tolerance: float) -> tuple[str, str] | None:
    if f.kind == "number":
        if isinstance(v, bool) or not isinstance(v, int | float):
            return "input.wrong_type", f"{f.name} must be a number, got {_echo(v)}"
        if not math.isfinite(v):
            return "input.not_finite", f"{f.name} must be finite"
        if f.dtype == "int" and not float(v).is_integer():
            return "input.wrong_type", f"{f.name} must be a whole number, got {_echo(v)}"
        lo, hi = f.min, f.max
        if lo is not None and hi is not None:
            slack = tolerance * (hi - lo)
            if v < lo - slack or v > hi + slack:
                return (
                    "input.out_of_range",
                    f"{f.name} {_echo(v)} is outside [{_fmt(lo)}, {_fmt(hi)}]",
                )
        return None
    if f.kind == "category":
        key = str(v).lower() if isinstance(v, bool) else v
        if not isinstance(key, str):
            return "input.wrong_type", f"{f.name} must be a string, got {_echo(v)}"
        if key not in f.categories:
            return "input.unknown_category", f"{f.name} {_echo(v)} was never seen in training"
        return None
    if not isinstance(v, str):
        return "input.wrong_type", f"{f.name} must be a string, got {_echo(v)}"
    if len(v) > 2 * (f.max_length or 0):
        return "input.text_too_long", f"{f.name} is {len(v)} characters long"
    if f.charset == "ascii" and not v.isascii():
        return "input.charset", f"{f.name} has non-ASCII characters; training text had none"
    return None


# ---- inference from training data ------------------------------------------------------


def _read(path: Path) -> Any:
    import polars as pl

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            return pl.read_csv(path, separator=sep, infer_schema_length=10_000)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(
            f"cannot read training data {path.name}: {exc}", code="model.schema_unreadable"
        ) from exc
    raise InvalidInput(
        f"training data must be CSV, TSV or Parquet, not {path.name}",
        code="model.schema_unreadable",
    )


def infer_schema(
    path: Path, *, target: str | None = None, features: list[str] | None = None
) -> InputSchema:
    """Profile a CSV, TSV or Parquet training file."""
    if not path.is_file():
        raise InvalidInput(f"no such training data: {path}", code="model.schema_unreadable")
    return infer_schema_from_frame(_read(path), target=target, features=features)


def _profile(name: str, col: Any, rows: int) -> FeatureProfile:
    import polars as pl

    missing = col.null_count() / rows if rows else 0.0
    present = col.drop_nulls()
    dtype = col.dtype
    if dtype == pl.Boolean:
        freq = present.cast(pl.Utf8).str.to_lowercase().value_counts(normalize=True)
        return FeatureProfile(
            name, "category", "bool", missing, categories=_freq(freq, present.name)
        )
    if dtype.is_numeric():
        values = present.cast(pl.Float64).to_numpy()
        values = values[np.isfinite(values)]
        if len(values) == 0:
            raise InvalidInput(f"{name} has no values", code="model.schema_bad_column")
        is_int = dtype.is_integer() or bool(np.all(np.mod(values, 1) == 0))
        return FeatureProfile(
            name,
            "number",
            "int" if dtype.is_integer() else "float",
            missing,
            min=float(values.min()),
            max=float(values.max()),
            mean=float(values.mean()),
            std=float(values.std()),
            quantiles=tuple(float(q) for q in np.percentile(values, np.arange(101))),
            integer=is_int,
        )
    text = present.cast(pl.Utf8)
    distinct = text.n_unique()
    if distinct <= MAX_CATEGORIES and distinct < 0.5 * max(len(text), 1):
        freq = text.value_counts(normalize=True)
        return FeatureProfile(name, "category", "str", missing, categories=_freq(freq, text.name))
    lengths = text.str.len_chars()
    return FeatureProfile(
        name,
        "text",
        "str",
        missing,
        min_length=int(lengths.min() or 0),
        max_length=int(lengths.max() or 0),
        charset="ascii" if all(s.isascii() for s in text.to_list()) else "unicode",
    )


def _freq(counts: Any, column: str) -> dict[str, float]:
    return {str(row[column]): float(row["proportion"]) for row in counts.iter_rows(named=True)}


def infer_schema_from_frame(
    df: Any, *, target: str | None = None, features: list[str] | None = None
) -> InputSchema:
    """Profile a Polars DataFrame of training data."""
    columns = list(df.columns)
    for name in [*(features or []), *([target] if target else [])]:
        if name not in columns:
            raise InvalidInput(
                f"the training data has no column {name!r}", code="model.schema_bad_column"
            )
    chosen = list(features) if features else [c for c in columns if c != target]
    if not chosen:
        raise InvalidInput("no feature columns left", code="model.schema_bad_column")
    rows = df.height
    profiles = tuple(_profile(name, df.get_column(name), rows) for name in chosen)
    numeric = [p.name for p in profiles if p.kind == "number"]
    mean: tuple[float, ...] = ()
    inv: tuple[tuple[float, ...], ...] = ()
    threshold = math.inf
    if numeric:
        x = df.select(numeric).drop_nulls().to_numpy().astype(np.float64)
        x = x[np.all(np.isfinite(x), axis=1)]
        if len(x) > len(numeric):
            centre = x.mean(axis=0)
            cov = np.atleast_2d(np.cov(x, rowvar=False))
            # A ridge scaled to each feature's variance keeps constant or collinear
            # features invertible without changing well-conditioned ones.
            cov += np.diag(np.maximum(np.diag(cov), 1.0) * _RIDGE)
            inverse = np.linalg.inv(cov)
            centred = x - centre
            scores = np.einsum("ij,jk,ik->i", centred, inverse, centred)
            mean = tuple(float(v) for v in centre)
            inv = tuple(tuple(float(v) for v in r) for r in inverse)
            threshold = float(np.percentile(scores, OOD_QUANTILE))
    return InputSchema(profiles, rows, mean, inv, threshold)
