"""Scoring for the PII benchmark: load the labelled set, match predictions, count.

Pure functions, no timing and no I/O beyond :func:`load_dataset`, so that every rule
below is unit-tested (``tests/bench/test_pii_scoring.py``).

The rule is the data set's (``shared/data/pii/README.md``): a predicted span is a true
positive when its type equals the gold span's type and it overlaps the gold span by at
least 50% of the gold span's length; matching is one-to-one. Within a document the
matching is a maximum bipartite matching between predictions and gold spans of the same
type (so the number of true positives does not depend on the order predictions come in;
among equal choices the larger overlap wins). Every prediction left unmatched
is a false positive, every gold span left unmatched a false negative.

Precision, recall and F1 are 0.0 where their denominator is 0 (no predictions of a type,
say). Micro figures add up TP / FP / FN over all types; macro F1 is the unweighted mean
of the per-type F1 over the types that have gold spans in the scored documents.

Hard negatives (look-alikes that are not PII) are counted two ways, both from false
positives only, with "overlap" meaning at least one shared character:

* ``fp_predictions``: false-positive predictions that overlap a hard negative, each
  attributed to the hard negative it overlaps most (so by kind they add up);
* ``hit``: hard negatives overlapped by at least one false positive, and their share of
  all hard negatives (the figure the data set's README asks for), overall and by kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    """A gold PII span: ``text[start:end]`` is of ``type``."""

    start: int
    end: int
    type: str


@dataclass(frozen=True, slots=True)
class HardNegative:
    """A look-alike that is not PII: ``text[start:end]``, of ``kind`` (``UUID``, ...)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Prediction:
    """A span a system reported; ``score`` is its confidence where it gives one."""

    start: int
    end: int
    type: str
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One labelled document of the data set."""

    id: str
    kind: str
    text: str
    spans: tuple[Span, ...]
    hard_negatives: tuple[HardNegative, ...] = ()


@dataclass
class DocumentMatch:
    """The outcome of matching one document: pairs (prediction, gold) by index."""

    pairs: list[tuple[int, int]]
    false_positives: list[int]  # indices into the predictions
    false_negatives: list[int]  # indices into the gold spans


@dataclass
class TypeCounts:
    """True positives, false positives and false negatives of one type."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """TP / (TP + FP), 0.0 when nothing was predicted."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """TP / (TP + FN), 0.0 when there is no gold span."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall, 0.0 when both are 0."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def as_dict(self) -> dict[str, Any]:
        """Counts and the three ratios, rounded to four places."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class HardNegativeCounts:
    """How false positives fell on hard negatives (see the module docstring)."""

    total: Counter[str] = field(default_factory=Counter)  # hard negatives, by kind
    hit: Counter[str] = field(default_factory=Counter)  # overlapped by a false positive
    fp_predictions: Counter[str] = field(default_factory=Counter)  # FPs on one, by kind

    def as_dict(self) -> dict[str, Any]:
        """Totals, shares and the breakdown by kind."""
        kinds = sorted(set(self.total) | set(self.fp_predictions))
        total = sum(self.total.values())
        hit = sum(self.hit.values())
        return {
            "fp_predictions_on_hard_negatives": sum(self.fp_predictions.values()),
            "hard_negatives": total,
            "hard_negatives_hit": hit,
            "hard_negatives_hit_share": round(_ratio(hit, total), 4),
            "by_kind": {
                kind: {
                    "hard_negatives": self.total[kind],
                    "hit": self.hit[kind],
                    "hit_share": round(_ratio(self.hit[kind], self.total[kind]), 4),
                    "fp_predictions": self.fp_predictions[kind],
                }
                for kind in kinds
            },
        }


@dataclass
class Score:
    """Everything the benchmark reports about one system's predictions."""

    per_type: dict[str, TypeCounts]
    gold_types: tuple[str, ...]
    hard_negatives: HardNegativeCounts
    documents: int
    chars: int

    @property
    def micro(self) -> TypeCounts:
        """TP / FP / FN summed over every type."""
        total = TypeCounts()
        for counts in self.per_type.values():
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
        return total

    @property
    def macro_f1(self) -> float:
        """Mean per-type F1 over the types with gold spans."""
        if not self.gold_types:
            return 0.0
        return sum(self.per_type[t].f1 for t in self.gold_types) / len(self.gold_types)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        micro = self.micro.as_dict()
        return {
            "documents": self.documents,
            "chars": self.chars,
            "micro": micro,
            "macro_f1": round(self.macro_f1, 4),
            "per_type": {t: c.as_dict() for t, c in sorted(self.per_type.items())},
            "hard_negatives": self.hard_negatives.as_dict(),
        }


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


# ------------------------------------------------------------------------------- data


def parse_document(record: Mapping[str, Any]) -> Document:
    """One JSON record of ``dev.jsonl`` as a :class:`Document`."""
    return Document(
        id=str(record["id"]),
        kind=str(record.get("kind", "")),
        text=str(record["text"]),
        spans=tuple(Span(int(s["start"]), int(s["end"]), str(s["type"])) for s in record["spans"]),
        hard_negatives=tuple(
            HardNegative(int(h["start"]), int(h["end"]), str(h["kind"]))
            for h in record.get("hard_negatives", ())
        ),
    )


def load_dataset(path: Path, limit: int | None = None) -> list[Document]:
    """The documents of a JSON Lines file, in file order; the first ``limit`` if given."""
    docs: list[Document] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(docs) >= limit:
                break
            if line.strip():
                docs.append(parse_document(json.loads(line)))
    return docs


def map_types(
    predictions: Iterable[Prediction], mapping: Mapping[str, str]
) -> tuple[list[Prediction], Counter[str]]:
    """Rename predicted types through ``mapping``; drop (and count) the unmapped ones."""
    kept: list[Prediction] = []
    dropped: Counter[str] = Counter()
    for p in predictions:
        target = mapping.get(p.type)
        if target is None:
            dropped[p.type] += 1
        else:
            kept.append(Prediction(p.start, p.end, target, p.score))
    return kept, dropped


# ---------------------------------------------------------------------------- matching


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Characters shared by ``[a_start, a_end)`` and ``[b_start, b_end)``."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def is_match(pred: Prediction, gold: Span) -> bool:
    """Same type, and the overlap covers at least half of the gold span (exactly half counts)."""
    if pred.type != gold.type:
        return False
    shared = overlap(pred.start, pred.end, gold.start, gold.end)
    return shared > 0 and 2 * shared >= gold.end - gold.start


def match_document(predictions: Sequence[Prediction], gold: Sequence[Span]) -> DocumentMatch:
    """A maximum one-to-one matching of predictions to gold spans under :func:`is_match`."""
    candidates: list[list[int]] = []
    for p in predictions:
        options = [g for g, span in enumerate(gold) if is_match(p, span)]
        options.sort(key=lambda g: -overlap(p.start, p.end, gold[g].start, gold[g].end))
        candidates.append(options)

    owner: dict[int, int] = {}  # gold index -> prediction index

    def augment(p: int, seen: set[int]) -> bool:
        # Kuhn's augmenting path; the graphs are a handful of spans per document.
        for g in candidates[p]:
            if g in seen:
                continue
            seen.add(g)
            if g not in owner or augment(owner[g], seen):
                owner[g] = p
                return True
        return False

    def best_overlap(p: int) -> int:
        if not candidates[p]:
            return 0
        g = candidates[p][0]
        return overlap(predictions[p].start, predictions[p].end, gold[g].start, gold[g].end)

    # Predictions with the larger overlap claim their gold span first (ties: in order);
    # later ones can still take it over through an augmenting path.
    for p in sorted(range(len(predictions)), key=lambda p: -best_overlap(p)):
        if candidates[p]:
            augment(p, set())

    pairs = sorted((p, g) for g, p in owner.items())
    matched_preds = {p for p, _ in pairs}
    return DocumentMatch(
        pairs=pairs,
        false_positives=[p for p in range(len(predictions)) if p not in matched_preds],
        false_negatives=[g for g in range(len(gold)) if g not in owner],
    )


def _hard_negative_hits(
    false_positives: Iterable[Prediction],
    hard_negatives: Sequence[HardNegative],
    counts: HardNegativeCounts,
) -> None:
    hit: set[int] = set()
    for p in false_positives:
        best: int | None = None
        best_overlap = 0
        for h, neg in enumerate(hard_negatives):
            shared = overlap(p.start, p.end, neg.start, neg.end)
            if shared > 0:
                hit.add(h)
                if shared > best_overlap:
                    best, best_overlap = h, shared
        if best is not None:
            counts.fp_predictions[hard_negatives[best].kind] += 1
    for h in hit:
        counts.hit[hard_negatives[h].kind] += 1


def score(documents: Sequence[Document], predictions: Sequence[Sequence[Prediction]]) -> Score:
    """Score ``predictions[i]`` against ``documents[i]`` for every document."""
    if len(documents) != len(predictions):
        raise ValueError(f"{len(documents)} documents but {len(predictions)} prediction lists")
    per_type: dict[str, TypeCounts] = {}
    gold_types: set[str] = set()
    hn = HardNegativeCounts()

    def counts_of(entity_type: str) -> TypeCounts:
        return per_type.setdefault(entity_type, TypeCounts())

    for doc, preds in zip(documents, predictions, strict=True):
        result = match_document(preds, doc.spans)
        for _, g in result.pairs:
            counts_of(doc.spans[g].type).tp += 1
        for p in result.false_positives:
            counts_of(preds[p].type).fp += 1
        for g in result.false_negatives:
            counts_of(doc.spans[g].type).fn += 1
        gold_types.update(s.type for s in doc.spans)
        for neg in doc.hard_negatives:
            hn.total[neg.kind] += 1
        _hard_negative_hits((preds[p] for p in result.false_positives), doc.hard_negatives, hn)

    for t in gold_types:
        counts_of(t)
    return Score(
        per_type=per_type,
        gold_types=tuple(sorted(gold_types)),
        hard_negatives=hn,
        documents=len(documents),
        chars=sum(len(d.text) for d in documents),
    )
