"""Profiling training data into an :class:`~bastion.models.schema.InputSchema`.

Reads CSV, TSV or Parquet with Polars, keeps the model's features in the model's input
order, and records per feature what validation and drift tests need; for the numeric
features together, the out-of-distribution reference (mean, ridge-regularized inverse
covariance, and the 99.9th percentile of the training rows' squared Mahalanobis distance).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from bastion.errors import InvalidInput
from bastion.models.schema import FeatureProfile, InputSchema

__all__ = ["MAX_CATEGORIES", "OOD_QUANTILE", "infer_schema", "infer_schema_from_frame"]

MAX_CATEGORIES = 50
OOD_QUANTILE = 99.9
_RIDGE = 1e-6


def _read(path: Path) -> Any:
    # Imported here: polars is heavy, and the registry imports this module.
    import polars as pl

    from bastion.data.scan.readers import sniff_format
    from bastion.errors import DataScanError

    try:
        # Content wins over the extension: a binary file named .csv is refused here.
        fmt = sniff_format(path)
        if fmt == "parquet":
            df = pl.read_parquet(path)
        elif fmt in ("csv", "tsv"):
            sep = "\t" if fmt == "tsv" else ","
            df = pl.read_csv(path, separator=sep, infer_schema_length=10_000)
        else:
            raise InvalidInput(
                f"training data must be CSV, TSV or Parquet, not {path.name}",
                code="model.schema_unreadable",
            )
    except (OSError, DataScanError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(
            f"cannot read training data {path.name}: {exc}", code="model.schema_unreadable"
        ) from exc
    return df


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
    if rows == 0:
        raise InvalidInput("the training data has no rows", code="model.schema_unreadable")
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
