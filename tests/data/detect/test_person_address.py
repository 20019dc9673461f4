"""The learned PERSON / STREET_ADDRESS tagger: held-out text, context, negatives, training."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.data.detect import Detector
from bastion.data.detect.recognizers.address import RECOGNIZERS as ADDRESS
from bastion.data.detect.recognizers.person import RECOGNIZERS as PERSON
from bastion.data.detect.tagger import EntityTagger
from bastion.data.detect.train import generate, train

TAGGER = Detector([*PERSON, *ADDRESS])


def _found(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in TAGGER.detect(text)]


def test_held_out_generated_text() -> None:
    # A seed the shipped model was not trained on: other names, addresses and documents.
    tp = {"PERSON": 0, "STREET_ADDRESS": 0}
    fp = dict(tp)
    fn = dict(tp)
    for text, spans in generate(seed=98765, docs=250):
        found = TAGGER.detect(text)
        for kind in tp:
            gold = [(s, e) for s, e, k in spans if k == kind]
            pred = [(f.start, f.end) for f in found if f.type == kind]
            hit = {
                g
                for g in gold
                for p in pred
                if min(g[1], p[1]) - max(g[0], p[0]) >= (g[1] - g[0]) / 2
            }
            tp[kind] += len(hit)
            fn[kind] += len(gold) - len(hit)
            fp[kind] += max(len(pred) - len(hit), 0)
    for kind in tp:
        precision = tp[kind] / (tp[kind] + fp[kind])
        recall = tp[kind] / (tp[kind] + fn[kind])
        assert precision > 0.85 and recall > 0.85, (kind, precision, recall)


def test_titles_stay_outside_the_span() -> None:
    assert ("PERSON", "Margaret Okonkwo") in _found("Seen today by Dr. Margaret Okonkwo in clinic.")


def test_names_no_list_holds_are_found_from_context() -> None:
    text = "Dear Zorvak Threnody,\n\nthank you for your letter."
    assert ("PERSON", "Zorvak Threnody") in _found(text)


def test_addresses_in_a_line_and_across_a_signature() -> None:
    found = _found("Please ship it to 1427 Larchmont Avenue, Springfield, IL 62704 by Friday.")
    assert any(t == "STREET_ADDRESS" and "1427 Larchmont Avenue" in v for t, v in found)


def test_companies_cities_and_street_names_in_titles_are_not_people() -> None:
    text = "Quarterly results from Microsoft and Siemens were discussed in Berlin and Chicago."
    assert [t for t, _ in _found(text)] == []
    assert "STREET_ADDRESS" not in [t for t, _ in _found("I read the Wall Street Journal daily.")]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_spans_are_in_bounds(text: str) -> None:
    for finding in TAGGER.detect(text):
        assert 0 <= finding.start < finding.end <= len(text)


def test_training_end_to_end_on_a_tiny_corpus(tmp_path: Path) -> None:
    out = tmp_path / "tiny.crfsuite"
    figures = train(out, seed=5, docs=150, max_iterations=30, log=lambda _: None)
    assert out.stat().st_size > 10_000 and figures["tokens"] > 1_000
    tagger = EntityTagger.from_file(str(out))
    spans = tagger.spans("Dear Anna Kowalski,\nthanks.")
    assert all(s.type in ("PERSON", "STREET_ADDRESS") for s in spans)
