"""A model's input schema and reference profile, recorded at registration from its
training data.

Per feature: kind (number, category, text), type, missing rate; for numbers the range,
mean, standard deviation and a 101-point quantile sketch (what drift tests compare live
traffic with); for categories their frequencies; for text its length range and charset.
For the numeric features together, the mean and regularized inverse covariance of the
training rows and the 99.9th percentile of their squared Mahalanobis distance: the
out-of-distribution reference.

The gateway calls :meth:`InputSchema.validate` on every request, so it is plain Python
over a handful of features, with no per-row NumPy calls. Profiling training data into a
schema lives in :mod:`bastion.models.profile`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bastion.errors import InvalidInput

__all__ = [
    "SCHEMA_VERSION",
    "FeatureProfile",
    "InputSchema",
    "Validated",
    "Violation",
]

SCHEMA_VERSION = 1
_ECHO = 40  # never echo more of an offending value than this
KINDS = ("number", "category", "text")
DTYPES = ("float", "int", "bool", "str")
CHARSETS = ("ascii", "unicode")


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


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_echo(value)}")
    return float(value)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {_echo(value)}")
    return value


def _feature_from_dict(f: Any) -> FeatureProfile:
    """One feature of a stored schema, with the fields its kind needs present and typed."""
    kind = f["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {_echo(kind)}")
    dtype = f["dtype"]
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {_echo(dtype)}")
    name = f["name"]
    if not isinstance(name, str) or not name:
        raise ValueError("a feature needs a name")
    profile = FeatureProfile(
        name=name,
        kind=kind,
        dtype=dtype,
        missing_rate=float(f["missing_rate"]),
        min=_opt_float(f.get("min")),
        max=_opt_float(f.get("max")),
        mean=_opt_float(f.get("mean")),
        std=_opt_float(f.get("std")),
        quantiles=tuple(float(q) for q in f.get("quantiles", ())),
        integer=bool(f.get("integer", False)),
        categories={str(k): float(v) for k, v in f.get("categories", {}).items()},
        min_length=_opt_int(f.get("min_length")),
        max_length=_opt_int(f.get("max_length")),
        charset=f.get("charset"),
    )
    if kind == "number" and (profile.min is None or profile.max is None):
        raise ValueError(f"number feature {_echo(name)} has no range")
    if kind == "text" and (profile.max_length is None or profile.charset not in CHARSETS):
        raise ValueError(f"text feature {_echo(name)} has no length or charset")
    return profile


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
            if not isinstance(doc, dict):
                raise TypeError("not a JSON object")
            if doc.get("version") != SCHEMA_VERSION:
                raise ValueError(f"unknown schema version {_echo(doc.get('version'))}")
            features = tuple(_feature_from_dict(f) for f in doc["features"])
            if not features or len({f.name for f in features}) != len(features):
                raise ValueError("features must be a non-empty list of distinct names")
            ood = doc["ood"]
            mean = tuple(float(x) for x in ood["mean"])
            inv_cov = tuple(tuple(float(x) for x in r) for r in ood["inv_cov"])
            width = sum(f.kind == "number" for f in features)
            if mean and (len(mean) != width or [len(r) for r in inv_cov] != [width] * width):
                raise ValueError("the out-of-distribution reference has the wrong shape")
            if not mean and inv_cov:
                raise ValueError("an inverse covariance without a mean")
            threshold = ood["threshold"]
            return cls(
                features=features,
                rows=int(doc["rows"]),
                ood_mean=mean,
                ood_inv_cov=inv_cov,
                ood_threshold=float(threshold) if threshold is not None else math.inf,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
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

    @cached_property
    def _order(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @cached_property
    def _limits(self) -> dict[float, tuple[tuple[FeatureProfile, float, float, bool], ...]]:
        # Per tolerance: each feature with its accepted range, so the hot path compares
        # against two floats instead of recomputing the slack per value.
        return {}

    def _bounds(self, tolerance: float) -> tuple[tuple[FeatureProfile, float, float, bool], ...]:
        cached = self._limits.get(tolerance)
        if cached is None:
            out = []
            for f in self.features:
                lo = -math.inf if f.min is None else f.min
                hi = math.inf if f.max is None else f.max
                if f.min is not None and f.max is not None:
                    slack = tolerance * (f.max - f.min)
                    lo, hi = lo - slack, hi + slack
                out.append((f, float(lo), float(hi), f.dtype == "int"))
            cached = tuple(out)
            if len(self._limits) < 16:  # tolerances come from configuration: a few at most
                self._limits[tolerance] = cached
        return cached

    def validate(self, rows: list[Any], *, tolerance: float = 0.0) -> Validated:
        """Check rows (mappings or lists in feature order); build the float32 matrix.

        Shape and type violations leave ``matrix`` None (the caller refuses the request);
        out-of-range values and unseen categories are reported with the matrix built, so
        the caller decides whether to refuse or flag. ``matrix`` is also None when the
        schema has non-numeric features: the caller encodes those itself.
        """
        order = self._order
        width = len(order)
        bounds = self._bounds(tolerance)
        numeric = self.numeric
        violations: list[Violation] = []
        fatal = False
        matrix: list[list[Any]] = []
        for i, row in enumerate(rows):
            values: list[Any] | None = None
            kind = type(row)
            if kind is dict or (kind is not list and isinstance(row, Mapping)):
                if len(row) == width:
                    try:
                        values = [row[n] for n in order]
                    except KeyError:
                        values = None  # reported feature by feature below
                if values is None:
                    violations.extend(self._shape_violations(i, row))
                    fatal = True
                    continue
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
            if not numeric:
                for (f, _, _, _), v in zip(bounds, values, strict=True):
                    problem = _check(f, v, tolerance)
                    if problem is not None:
                        violations.append(Violation(i, f.name, *problem))
                        fatal = fatal or problem[0] in _FATAL
                continue
            for (f, lo, hi, whole), v in zip(bounds, values, strict=True):
                t = type(v)
                # The common case in two comparisons: a plain finite number in range (NaN
                # and infinities fail the comparison and take the slow path).
                if (t is float or t is int) and lo <= v <= hi and (t is int or not whole):
                    continue
                problem = _check(f, v, tolerance)
                if problem is not None:
                    violations.append(Violation(i, f.name, *problem))
                    fatal = fatal or problem[0] in _FATAL
            if not fatal:
                matrix.append(values)
        if fatal or not numeric:
            return Validated(None, tuple(violations))
        if not matrix:
            return Validated(np.zeros((0, width), dtype=np.float32), tuple(violations))
        return Validated(np.asarray(matrix, dtype=np.float32), tuple(violations))

    def _shape_violations(self, i: int, row: Mapping[Any, Any]) -> list[Violation]:
        out = [
            Violation(i, n, "input.missing_feature", f"{n} is missing")
            for n in self._order
            if n not in row
        ]
        out.extend(
            Violation(
                i,
                str(key)[:_ECHO],
                "input.unknown_feature",
                f"{_echo(key)} is not an input of this model",
            )
            for key in row
            if key not in self.names
        )
        return out

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
                if f.dtype == "bool":
                    # validate() takes JSON booleans for these as well as their names.
                    values = [*(v == "true" for v in values), *values]
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
