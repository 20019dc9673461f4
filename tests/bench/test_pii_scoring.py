"""The PII benchmark's scoring rule (``bench/pii_scoring.py``), table-driven.

A prediction is a true positive when its type equals the gold type and it overlaps the
gold span by at least 50% of the gold span's length; matching is one-to-one.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

# bench/ is a folder of scripts, not a package: import its modules from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from pii_scoring import (
    Document,
    HardNegative,
    Prediction,
    Span,
    is_match,
    load_dataset,
    map_types,
    match_document,
    overlap,
    score,
)

GOLD = Span(10, 20, "PERSON")  # 10 characters: 5 shared is exactly half


@pytest.mark.parametrize(
    ("pred", "expected", "why"),
    [
        (Prediction(10, 20, "PERSON"), True, "exact match"),
        (Prediction(15, 30, "PERSON"), True, "5 of 10 gold characters: exactly 50% counts"),
        (Prediction(0, 15, "PERSON"), True, "5 of 10 from the left: exactly 50%"),
        (Prediction(16, 30, "PERSON"), False, "4 of 10: just under half"),
        (Prediction(0, 14, "PERSON"), False, "4 of 10 from the left: just under half"),
        (Prediction(12, 17, "PERSON"), True, "inside, 5 of 10"),
        (Prediction(12, 16, "PERSON"), False, "inside, 4 of 10"),
        (Prediction(0, 100, "PERSON"), True, "covers it all (the rule is on the gold length)"),
        (Prediction(10, 20, "EMAIL_ADDRESS"), False, "wrong type"),
        (Prediction(20, 30, "PERSON"), False, "adjacent, no overlap"),
    ],
)
def test_match_rule(pred: Prediction, expected: bool, why: str) -> None:
    assert is_match(pred, GOLD) is expected, why


def test_half_of_an_odd_length_rounds_up() -> None:
    gold = Span(0, 9, "US_SSN")  # 4.5 characters is half: 5 needed, 4 is not enough
    assert is_match(Prediction(4, 9, "US_SSN"), gold)
    assert not is_match(Prediction(5, 9, "US_SSN"), gold)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [((0, 10), (5, 15), 5), ((0, 10), (10, 20), 0), ((0, 10), (2, 3), 1), ((5, 6), (0, 4), 0)],
)
def test_overlap(a: tuple[int, int], b: tuple[int, int], expected: int) -> None:
    assert overlap(*a, *b) == expected
    assert overlap(*b, *a) == expected


@pytest.mark.parametrize(
    ("preds", "gold", "pairs", "fps", "fns"),
    [
        pytest.param([Prediction(10, 20, "PERSON")], [GOLD], [(0, 0)], [], [], id="exact match"),
        pytest.param(
            [Prediction(10, 20, "PERSON"), Prediction(12, 18, "PERSON")],
            [GOLD],
            [(0, 0)],
            [1],
            [],
            id="two predictions on one gold span: 1 TP + 1 FP",
        ),
        pytest.param(
            [Prediction(12, 18, "PERSON"), Prediction(10, 20, "PERSON")],
            [GOLD],
            [(1, 0)],
            [0],
            [],
            id="the larger overlap wins the one gold span",
        ),
        pytest.param(
            [Prediction(0, 30, "PERSON")],
            [Span(0, 10, "PERSON"), Span(20, 30, "PERSON")],
            [(0, 0)],
            [],
            [1],
            id="one prediction over two gold spans: 1 TP + 1 FN",
        ),
        pytest.param(
            # p0 could take g0 or g1, p1 only g0: a maximum matching pairs both.
            [Prediction(0, 30, "PERSON"), Prediction(0, 10, "PERSON")],
            [Span(0, 10, "PERSON"), Span(20, 30, "PERSON")],
            [(0, 1), (1, 0)],
            [],
            [],
            id="maximum matching, not first come first served",
        ),
        pytest.param([Prediction(10, 20, "PHONE_NUMBER")], [GOLD], [], [0], [0], id="wrong type"),
        pytest.param([], [GOLD], [], [], [0], id="nothing predicted"),
        pytest.param([Prediction(0, 5, "PERSON")], [], [], [0], [], id="nothing to find"),
    ],
)
def test_match_document(
    preds: list[Prediction],
    gold: list[Span],
    pairs: list[tuple[int, int]],
    fps: list[int],
    fns: list[int],
) -> None:
    result = match_document(preds, gold)
    assert result.pairs == pairs
    assert result.false_positives == fps
    assert result.false_negatives == fns


def _doc(text_len: int, spans: list[Span], negs: list[HardNegative] | None = None) -> Document:
    return Document("d", "test", "x" * text_len, tuple(spans), tuple(negs or []))


def test_micro_and_per_type() -> None:
    docs = [
        _doc(100, [Span(0, 10, "PERSON"), Span(20, 30, "EMAIL_ADDRESS")]),
        _doc(100, [Span(0, 10, "PERSON"), Span(40, 50, "US_SSN")]),
    ]
    preds = [
        # doc 0: PERSON TP, EMAIL TP, one extra PERSON (FP)
        [
            Prediction(0, 10, "PERSON"),
            Prediction(20, 30, "EMAIL_ADDRESS"),
            Prediction(60, 70, "PERSON"),
        ],
        # doc 1: PERSON TP; the SSN is missed (FN); a PHONE_NUMBER no gold has (FP)
        [Prediction(0, 9, "PERSON"), Prediction(80, 90, "PHONE_NUMBER")],
    ]
    s = score(docs, preds)
    table = {t: (c.tp, c.fp, c.fn) for t, c in s.per_type.items()}
    assert table == {
        "PERSON": (2, 1, 0),
        "EMAIL_ADDRESS": (1, 0, 0),
        "US_SSN": (0, 0, 1),
        "PHONE_NUMBER": (0, 1, 0),
    }
    assert s.per_type["PERSON"].precision == pytest.approx(2 / 3)
    assert s.per_type["PERSON"].recall == 1.0
    assert s.per_type["PERSON"].f1 == pytest.approx(0.8)
    assert s.per_type["US_SSN"].precision == 0.0  # nothing predicted: 0, not an error
    assert s.per_type["US_SSN"].f1 == 0.0

    micro = s.micro
    assert (micro.tp, micro.fp, micro.fn) == (3, 2, 1)
    assert micro.precision == pytest.approx(3 / 5)
    assert micro.recall == pytest.approx(3 / 4)
    assert micro.f1 == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    # macro over the gold types only (PHONE_NUMBER has no gold span here)
    assert s.gold_types == ("EMAIL_ADDRESS", "PERSON", "US_SSN")
    assert s.macro_f1 == pytest.approx((1.0 + 0.8 + 0.0) / 3)
    assert (s.documents, s.chars) == (2, 200)


def test_hard_negatives() -> None:
    negs = [
        HardNegative(0, 10, "UUID"),
        HardNegative(20, 30, "ORDER_ID"),
        HardNegative(40, 50, "ORDER_ID"),
        HardNegative(60, 70, "TIMESTAMP"),
    ]
    docs = [_doc(100, [Span(80, 90, "US_SSN")], negs)]
    preds = [
        [
            Prediction(2, 8, "API_SECRET"),  # on the UUID
            Prediction(25, 45, "US_SSN"),  # over two ORDER_IDs: one prediction, two hit
            Prediction(28, 32, "CREDIT_CARD"),  # a second FP on the first ORDER_ID
            Prediction(80, 90, "US_SSN"),  # a TP: never counted against hard negatives
            Prediction(70, 75, "PERSON"),  # adjacent to the TIMESTAMP, no overlap
        ]
    ]
    hn = score(docs, preds).hard_negatives.as_dict()
    assert hn["fp_predictions_on_hard_negatives"] == 3
    assert hn["hard_negatives"] == 4
    assert hn["hard_negatives_hit"] == 3
    assert hn["hard_negatives_hit_share"] == 0.75
    assert hn["by_kind"]["UUID"] == {
        "hard_negatives": 1,
        "hit": 1,
        "hit_share": 1.0,
        "fp_predictions": 1,
    }
    assert hn["by_kind"]["ORDER_ID"]["hit"] == 2
    assert hn["by_kind"]["ORDER_ID"]["fp_predictions"] == 2
    assert hn["by_kind"]["TIMESTAMP"]["hit"] == 0
    assert hn["by_kind"]["TIMESTAMP"]["fp_predictions"] == 0


def test_a_match_on_a_hard_negative_is_not_a_hit() -> None:
    # Should gold and hard negative ever overlap, the true positive is not held against it.
    docs = [_doc(50, [Span(0, 10, "US_SSN")], [HardNegative(5, 15, "ORDER_ID")])]
    s = score(docs, [[Prediction(0, 10, "US_SSN")]])
    assert s.hard_negatives.as_dict()["hard_negatives_hit"] == 0


def test_score_needs_one_prediction_list_per_document() -> None:
    with pytest.raises(ValueError, match="1 documents but 0"):
        score([_doc(10, [])], [])


def test_map_types_drops_and_counts() -> None:
    preds = [
        Prediction(0, 5, "PERSON", 0.85),
        Prediction(6, 9, "DATE_TIME", 0.6),
        Prediction(10, 20, "URL", 0.5),
        Prediction(21, 30, "DATE_TIME", 0.85),
    ]
    kept, dropped = map_types(preds, {"PERSON": "PERSON"})
    assert kept == [Prediction(0, 5, "PERSON", 0.85)]
    assert dropped == Counter({"DATE_TIME": 2, "URL": 1})


def test_load_dataset(tmp_path: Path) -> None:
    records = [
        {
            "id": f"dev-{i}",
            "kind": "email",
            "text": "Mail jane@example.com",
            "spans": [{"start": 5, "end": 21, "type": "EMAIL_ADDRESS"}],
            "hard_negatives": [{"start": 0, "end": 4, "kind": "SKU"}],
        }
        for i in range(3)
    ]
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n", encoding="utf-8")
    docs = load_dataset(path)
    assert len(docs) == 3
    assert docs[0].spans == (Span(5, 21, "EMAIL_ADDRESS"),)
    assert docs[0].hard_negatives == (HardNegative(0, 4, "SKU"),)
    assert docs[0].text[5:21] == "jane@example.com"
    assert [d.id for d in load_dataset(path, limit=2)] == ["dev-0", "dev-1"]
