"""Model-file scanners compared on the labelled corpus, in one run; writes one JSON document.

Scans ``/work/shared/data/modelscan/dev`` (63 malicious and 40 benign pickle, joblib,
PyTorch, NumPy, Keras, ONNX and safetensors files; ``labels.json`` says which is which)
with Bastion's model scanner and three public static scanners, and measures for each:

  * malicious files detected (x/63) and benign files flagged (y/40): a file counts as
    flagged when the tool reports anything about it, at any severity;
  * files the tool reported an error for, and files it could not assess at all (an
    error or a skip and no finding);
  * the detection by format (the labels' ``format``), and the names of the malicious
    files it missed and of the benign files it flagged;
  * the wall time of one scan of the whole folder (best of ``--repeat`` runs).

The competitors run from their own virtualenvs under ``bench/.venvs/<tool>/`` (created
on the first run, reused afterwards), so their pins never touch the project:
``modelscan==0.8.8`` (with its ``h5py`` and ``tensorflow`` extras and ``numpy<2``, which
its ``.npy`` scanner needs), ``picklescan==1.0.5`` (plus ``numpy``, which it imports for
``.npy``/``.npz``) and ``fickling==0.1.12`` (plus ``typing_extensions``, which its
release imports without declaring). Each is run through its own command line, once on
the folder (fickling has no folder mode: one call per file) and once per file; the
per-file runs are what the figures are computed from, the folder run is what is timed.

Bastion runs in this process through ``bastion.models.scan.scan_paths`` (timed the
same way) and, as a subprocess, through ``bastion model scan --json DIR``; either may be
missing while the scanner is being written, which is reported and skipped.

Nothing here loads or unpickles a corpus file. Every malicious payload would create a
marker ``/tmp/bastion_pwned_*`` if it ever ran; the markers are checked before and after
each tool and any that appear are printed (and left in place).

Usage: python bench/modelscan_bench.py [--tools bastion,modelscan,picklescan,fickling]
                                       [--repeat 3] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

# bench/ is on sys.path when this file runs as a script.
from venvs import ensure_venv, venv_versions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "modelscan_bench.json"
# The shared data sets sit beside the checkout (../shared/data).
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "modelscan" / "dev"
T = TypeVar("T")
MARKER_GLOB = "/tmp/bastion_pwned_*"
ALL_TOOLS = ("bastion", "modelscan", "picklescan", "fickling")
TIMEOUT_S = 900

# What each competitor's virtualenv gets; the first line is the tool itself.
REQUIREMENTS: dict[str, list[str]] = {
    # numpy<2: modelscan 0.8.8 calls numpy.lib.format._check_version, gone in numpy 2,
    # so every .npy errors without the pin. tensorflow: its .keras scanner refuses to
    # run without it (it only reads config.json). h5py: the .h5 scanner.
    "modelscan": ["modelscan[h5py,tensorflow]==0.8.8", "numpy<2"],
    # picklescan imports numpy for .npy/.npz (without it a folder scan aborts).
    "picklescan": ["picklescan==1.0.5", "numpy"],
    # fickling 0.1.12 imports typing_extensions but does not declare it.
    "fickling": ["fickling==0.1.12", "typing_extensions"],
}
# Packages whose installed versions are reported.
REPORTED_PACKAGES = ("modelscan", "picklescan", "fickling", "numpy", "h5py", "tensorflow")


# --------------------------------------------------------------------------- helpers


@dataclass
class Outcome:
    """What one tool said about one file."""

    flagged: bool = False
    error: str | None = None  # the tool reported an error for this file (or crashed)
    assessed: bool = True  # False: an error or a skip, and no finding
    detail: list[str] = field(default_factory=list)  # findings, short
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "error": self.error,
            "assessed": self.assessed,
            "detail": self.detail[:8],
            **self.extra,
        }


@dataclass
class Proc:
    """A finished subprocess: exit status, output and wall time."""

    rc: int
    stdout: str
    stderr: str
    seconds: float


def _run(cmd: Sequence[str], cwd: Path) -> Proc:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    cp = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT_S,
        check=False,
    )
    return Proc(cp.returncode, cp.stdout, cp.stderr, time.perf_counter() - start)


def _markers() -> list[str]:
    return sorted(glob.glob(MARKER_GLOB))


class MarkerWatch:
    """Checks ``/tmp/bastion_pwned_*`` around each step; never removes anything."""

    def __init__(self) -> None:
        self.initial = _markers()
        self.appeared: dict[str, list[str]] = {}
        if self.initial:
            print(f"!! payload markers present BEFORE any scan: {self.initial}", file=sys.stderr)

    def check(self, step: str, before: list[str]) -> None:
        new = sorted(set(_markers()) - set(before))
        if new:
            self.appeared.setdefault(step, []).extend(new)
            print(
                f"!! PAYLOAD MARKERS APPEARED during {step}: {new} "
                "(something executed a corpus payload; left in place)",
                file=sys.stderr,
            )

    def around(self, step: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, with the markers checked before and after."""
        before = _markers()
        try:
            return fn(*args)
        finally:
            self.check(step, before)


def _name_of(source: str) -> str:
    """``/dir/x.pt:archive/data.pkl`` -> ``x.pt`` (member names follow a colon)."""
    return Path(source.split(":", 1)[0]).name


def _tail(text: str, n: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def _best(runs: list[float]) -> float | None:
    return round(min(runs), 3) if runs else None


# ------------------------------------------------------------------------ virtualenvs


# ------------------------------------------------------------------------ competitors


class Competitor:
    """A scanner with a command line, run from its own virtualenv."""

    name = ""
    folder_mode = True  # one invocation scans a folder
    folder_names_every_result = False  # the folder report attributes everything to files

    def __init__(self, venv: Path) -> None:
        self.venv = venv
        self.bin = venv / "bin" / self.name

    def folder_cmd(self, corpus: Path, work: Path) -> list[str]:
        raise NotImplementedError

    def file_cmd(self, path: Path, work: Path) -> list[str]:
        raise NotImplementedError

    def parse_folder(self, proc: Proc, work: Path, names: Sequence[str]) -> dict[str, Outcome]:
        """Per-file outcomes as far as the folder output attributes them."""
        raise NotImplementedError

    def parse_file(self, proc: Proc, work: Path, name: str) -> Outcome:
        raise NotImplementedError

    def invocation(self) -> str:
        raise NotImplementedError


class ModelScan(Competitor):
    """``modelscan -p PATH -r json -o FILE``; JSON with issues, errors and skipped lists."""

    name = "modelscan"
    folder_names_every_result = True

    def invocation(self) -> str:
        return (
            "folder: one `modelscan scan -p DIR -r json -o OUT.json`; "
            "per file: the same on each file"
        )

    def folder_cmd(self, corpus: Path, work: Path) -> list[str]:
        return [str(self.bin), "scan", "-p", str(corpus), "-r", "json", "-o", str(work / "r.json")]

    def file_cmd(self, path: Path, work: Path) -> list[str]:
        return self.folder_cmd(path, work)

    def _report(self, proc: Proc, work: Path) -> dict[str, Any] | None:
        try:
            report: dict[str, Any] = json.loads((work / "r.json").read_text())
        except (OSError, ValueError):
            return None
        return report

    def parse_folder(self, proc: Proc, work: Path, names: Sequence[str]) -> dict[str, Outcome]:
        report = self._report(proc, work)
        if report is None:
            why = f"no JSON report (exit {proc.rc}): {_tail(proc.stderr or proc.stdout)}"
            return {n: Outcome(error=why, assessed=False) for n in names}
        issues: dict[str, list[str]] = {}
        for issue in report.get("issues", []):
            issues.setdefault(_name_of(issue["source"]), []).append(
                f"{issue.get('severity')}: {issue.get('module')}.{issue.get('operator')}"
            )
        errors: dict[str, list[str]] = {}
        for err in report.get("errors", []):
            errors.setdefault(_name_of(err.get("source", "")), []).append(
                f"{err.get('category')}: {err.get('description')}"
            )
        summary = report.get("summary", {})
        scanned = {_name_of(s) for s in summary.get("scanned", {}).get("scanned_files", [])}
        out = {}
        for n in names:
            flagged = n in issues
            error = "; ".join(errors[n]) if n in errors else None
            out[n] = Outcome(
                flagged=flagged,
                error=error,
                assessed=flagged or (n in scanned and error is None),
                detail=issues.get(n, []),
                extra={} if n in scanned else {"not_scanned": True},
            )
        return out

    def parse_file(self, proc: Proc, work: Path, name: str) -> Outcome:
        # A one-file report names the file itself in every source.
        return self.parse_folder(proc, work, [name])[name]


_PS_FOUND = re.compile(r"^(?P<id>\S+): (?P<level>\w+) import '(?P<glob>[^']*)' FOUND", re.M)
_PS_ERROR = re.compile(r"^ERROR: parsing pickle in (?P<id>\S+): (?P<why>.*)$", re.M)
_PS_NOT_PICKLE = re.compile(r"^WARNING: could not parse (?P<id>\S+) as pickle", re.M)
_PS_GLOBAL = re.compile(r"^  \* (?P<glob>.+) - (?P<level>innocuous|suspicious|dangerous)$", re.M)
_PS_SCANNED = re.compile(r"^Scanned files: (\d+)$", re.M)


class PickleScan(Competitor):
    """``picklescan -p PATH`` prints text only (no JSON); ``-g`` lists every global."""

    name = "picklescan"

    def invocation(self) -> str:
        return (
            "folder: one `picklescan -p DIR`; per file: `picklescan -g -p FILE` "
            "(text output; -g lists every global with its rating)"
        )

    def folder_cmd(self, corpus: Path, work: Path) -> list[str]:
        return [str(self.bin), "-p", str(corpus)]

    def file_cmd(self, path: Path, work: Path) -> list[str]:
        return [str(self.bin), "-g", "-p", str(path)]

    def parse_folder(self, proc: Proc, work: Path, names: Sequence[str]) -> dict[str, Outcome]:
        # Only "dangerous" globals are printed per file in a folder scan; the suspicious
        # ones appear only as a total, and .npy files are never visited (the folder walk
        # keeps only pickle, zip and PyTorch extensions).
        text = proc.stdout + proc.stderr
        out = {n: Outcome() for n in names}
        for m in _PS_FOUND.finditer(text):
            o = out.get(_name_of(m["id"]))
            if o is not None:
                o.flagged = True
                o.detail.append(f"{m['level']}: {m['glob']}")
        for m in _PS_ERROR.finditer(text):
            o = out.get(_name_of(m["id"]))
            if o is not None:
                o.error = m["why"]
        for m in _PS_NOT_PICKLE.finditer(text):
            o = out.get(_name_of(m["id"]))
            if o is not None:
                o.extra["not_a_pickle"] = True
        if "Unhandled exception" in text:
            for o in out.values():
                o.error = o.error or "scan aborted: " + _tail(text)
        for o in out.values():
            o.assessed = o.flagged or (o.error is None and not o.extra.get("not_a_pickle"))
        return out

    def parse_file(self, proc: Proc, work: Path, name: str) -> Outcome:
        text = proc.stdout + proc.stderr
        levels = [(m["glob"], m["level"]) for m in _PS_GLOBAL.finditer(text)]
        found = [f"{lvl}: {g}" for g, lvl in levels if lvl != "innocuous"]
        dangerous = any(lvl == "dangerous" for _, lvl in levels)
        error = None
        if m := _PS_ERROR.search(text):
            error = m["why"]
        elif "Unhandled exception" in text or proc.rc not in (0, 1):
            error = f"exit {proc.rc}: {_tail(text)}"
        scanned = _PS_SCANNED.search(text)
        skipped = bool(_PS_NOT_PICKLE.search(text)) or (scanned is not None and scanned[1] == "0")
        return Outcome(
            flagged=bool(found),
            error=error,
            assessed=bool(found) or (error is None and not skipped),
            detail=found,
            # picklescan's own verdict ("infected") counts dangerous globals only.
            extra={"dangerous": dangerous, **({"skipped": True} if skipped else {})},
        )


class Fickling(Competitor):
    """``fickling --check-safety --json-output OUT FILE``: one pickle file per call."""

    name = "fickling"
    folder_mode = False

    def invocation(self) -> str:
        return (
            "no folder mode: one `fickling --check-safety --json-output OUT.json FILE` per "
            "file (the folder time is the sum of the 103 calls, run one after another)"
        )

    def file_cmd(self, path: Path, work: Path) -> list[str]:
        out = work / f"{path.name}.json"
        return [str(self.bin), "--check-safety", "--json-output", str(out), str(path)]

    def parse_file(self, proc: Proc, work: Path, name: str) -> Outcome:
        # The JSON file gets one object appended per stacked pickle in the file.
        severities: list[str] = []
        analysis: list[str] = []
        path = work / f"{name}.json"
        if path.exists():
            text, pos, dec = path.read_text(), 0, json.JSONDecoder()
            while True:
                while pos < len(text) and text[pos].isspace():
                    pos += 1
                if pos >= len(text):
                    break
                obj, pos = dec.raw_decode(text, pos)
                severities.append(obj.get("severity", "?"))
                analysis.extend(str(obj.get("analysis", "")).splitlines()[:2])
        flagged = any(s != "LIKELY_SAFE" for s in severities)
        error = None
        if "Traceback" in proc.stderr:
            error = "crash: " + proc.stderr.strip().splitlines()[-1]
        elif proc.rc == 2:
            # "Fickling failed to parse this pickle file" (not a pickle, or a zip).
            error = "could not parse: " + proc.stderr.strip().splitlines()[0][:200]
        elif proc.rc not in (0, 1) or (proc.rc == 1 and not flagged):
            error = f"exit {proc.rc}: {_tail(proc.stderr)}"
        return Outcome(
            flagged=flagged,
            error=error,
            assessed=flagged or error is None,
            detail=[f"{'/'.join(severities)}: {a}" for a in analysis[:3]] if flagged else [],
            extra={"exit": proc.rc},
        )


COMPETITORS: dict[str, type[Competitor]] = {
    "modelscan": ModelScan,
    "picklescan": PickleScan,
    "fickling": Fickling,
}


def run_competitor(
    tool: Competitor,
    corpus: Path,
    files: list[Path],
    repeat: int,
    watch: MarkerWatch,
    skip_redundant: bool = False,
) -> dict[str, Any]:
    """Time ``repeat`` folder scans, then scan each file on its own (the figures)."""
    names = [f.name for f in files]

    def per_file_all(parallel: int) -> tuple[dict[str, Outcome], float]:
        def one(path: Path) -> tuple[str, Outcome]:
            with tempfile.TemporaryDirectory(prefix=f"{tool.name}-") as tmp:
                work = Path(tmp)
                proc = _run(tool.file_cmd(path, work), work)
                return path.name, tool.parse_file(proc, work, path.name)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = dict(pool.map(one, files))
        return results, time.perf_counter() - start

    folder_runs: list[float] = []
    folder: dict[str, Outcome] | None = None
    folder_exit: int | None = None
    for _ in range(repeat):
        if tool.folder_mode:
            with tempfile.TemporaryDirectory(prefix=f"{tool.name}-") as tmp:
                work = Path(tmp)
                proc = watch.around(tool.name, _run, tool.folder_cmd(corpus, work), work)
                folder_runs.append(proc.seconds)
                if folder is None:
                    folder, folder_exit = tool.parse_folder(proc, work, names), proc.rc
        else:
            outcomes, seconds = watch.around(tool.name, per_file_all, 1)
            folder_runs.append(seconds)
            folder = folder or outcomes

    assert folder is not None
    per_file_s: float | None
    source = "per-file runs"
    if not tool.folder_mode:
        per_file, per_file_s = folder, min(folder_runs)
    elif skip_redundant and tool.folder_names_every_result:
        per_file, per_file_s, source = folder, None, "the folder report (--skip-redundant)"
    else:
        per_file, per_file_s = watch.around(tool.name, per_file_all, os.cpu_count() or 1)

    return {
        "invocation": tool.invocation(),
        "folder_command": tool.folder_cmd(corpus, Path("WORKDIR")) if tool.folder_mode else None,
        "file_command": tool.file_cmd(Path("FILE"), Path("WORKDIR")),
        "folder_scan_seconds": _best(folder_runs),
        "folder_scan_seconds_runs": [round(s, 3) for s in folder_runs],
        "folder_exit_status": folder_exit,
        "figures_from": source,
        "per_file_wall_seconds": None if per_file_s is None else round(per_file_s, 3),
        "per_file_parallel": (os.cpu_count() or 1) if tool.folder_mode else 1,
        "outcomes": per_file,
        "folder_outcomes": folder if tool.folder_mode else None,
    }


# ---------------------------------------------------------------------------- bastion


def run_bastion(corpus: Path, files: list[Path], repeat: int, watch: MarkerWatch) -> dict[str, Any]:
    """In process through ``scan_paths``, and the ``bastion model scan --json`` CLI."""
    result: dict[str, Any] = {
        "invocation": "in process: scan_paths(<the 103 files>); CLI: bastion model scan --json DIR",
        "folder_command": [".venv/bin/bastion", "model", "scan", "--json", str(corpus)],
    }
    try:
        from bastion.models.scan import scan_paths  # type: ignore[attr-defined,import-not-found,unused-ignore]
    except Exception as exc:  # the module may be half-written
        result["note"] = f"bastion.models.scan.scan_paths unavailable: {type(exc).__name__}: {exc}"
        print(f"note: {result['note']}", file=sys.stderr)
    else:
        runs: list[float] = []
        outcomes: dict[str, Outcome] = {}
        verdicts: dict[str, int] = {}
        try:
            for i in range(repeat):
                before = _markers()
                start = time.perf_counter()
                scanned = scan_paths(files)
                runs.append(time.perf_counter() - start)
                watch.check("bastion", before)
                if i == 0:
                    for r in scanned:
                        verdict = str(r.verdict)
                        verdicts[verdict] = verdicts.get(verdict, 0) + 1
                        is_error = verdict == "error"
                        outcomes[_name_of(r.path)] = Outcome(
                            flagged=bool(r.flagged),
                            error=(r.error or "error") if is_error else None,
                            assessed=not is_error,
                            detail=[
                                f"{f.severity}: {f.global_name or ''} {f.detail}".strip()
                                for f in r.findings
                            ],
                            extra={"verdict": verdict},
                        )
        except Exception as exc:  # report, go on with the others
            result["note"] = f"scan_paths raised {type(exc).__name__}: {exc}"
            print(f"note: {result['note']}", file=sys.stderr)
        if outcomes:
            result.update(
                folder_scan_seconds=_best(runs),
                folder_scan_seconds_runs=[round(s, 3) for s in runs],
                outcomes=outcomes,
                verdicts=verdicts,
            )

    cli = ROOT / ".venv" / "bin" / "bastion"
    cli_runs: list[float] = []
    cli_result: dict[str, Any] = {"command": result["folder_command"]}
    for i in range(repeat):
        proc: Proc = watch.around(
            "bastion-cli", lambda: _run([str(cli), "model", "scan", "--json", str(corpus)], ROOT)
        )
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            cli_result["note"] = (
                f"`bastion model scan --json` gave no JSON (exit {proc.rc}): "
                f"{_tail(proc.stderr or proc.stdout, 200)}"
            )
            print(f"note: {cli_result['note']}", file=sys.stderr)
            break
        cli_runs.append(proc.seconds)
        if i == 0:
            rows = doc if isinstance(doc, list) else doc.get("results", doc.get("files", []))
            cli_outcomes: dict[str, Outcome] = {}
            for row in rows:
                verdict = str(row.get("verdict"))
                cli_outcomes[_name_of(str(row.get("path", "")))] = Outcome(
                    flagged=verdict in ("suspicious", "malicious"),
                    error=(row.get("error") or "error") if verdict == "error" else None,
                    assessed=verdict != "error",
                    extra={"verdict": verdict},
                )
            cli_result["exit_status"] = proc.rc
            cli_result["outcomes"] = cli_outcomes
    if cli_runs:
        cli_result["folder_scan_seconds"] = _best(cli_runs)
        cli_result["folder_scan_seconds_runs"] = [round(s, 3) for s in cli_runs]
    result["cli"] = cli_result
    return result


# ---------------------------------------------------------------------------- scoring


def score(outcomes: dict[str, Outcome], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Figures from per-file outcomes; a file with no outcome counts as not assessed."""
    missing = Outcome(error="no result for this file", assessed=False)
    got = {n: outcomes.get(n, missing) for n in labels}
    mal = sorted(n for n, lab in labels.items() if lab["malicious"])
    ben = sorted(n for n, lab in labels.items() if not lab["malicious"])
    by_format: dict[str, dict[str, int]] = {}
    for n, lab in sorted(labels.items()):
        row = by_format.setdefault(
            lab["format"],
            {"malicious_detected": 0, "malicious": 0, "benign_flagged": 0, "benign": 0},
        )
        if lab["malicious"]:
            row["malicious"] += 1
            row["malicious_detected"] += got[n].flagged
        else:
            row["benign"] += 1
            row["benign_flagged"] += got[n].flagged
    return {
        "malicious_detected": sum(got[n].flagged for n in mal),
        "malicious_total": len(mal),
        "benign_flagged": sum(got[n].flagged for n in ben),
        "benign_total": len(ben),
        "errors": sum(got[n].error is not None for n in labels),
        "unassessed": sum(not got[n].assessed for n in labels),
        # Fail closed: a file the tool flagged or could not assess is refused.
        "refused_if_fail_closed": {
            "malicious": sum(got[n].flagged or not got[n].assessed for n in mal),
            "benign": sum(got[n].flagged or not got[n].assessed for n in ben),
        },
        "by_format": by_format,
        "missed_malicious": [n for n in mal if not got[n].flagged],
        "flagged_benign": [n for n in ben if got[n].flagged],
        "error_files": {n: got[n].error for n in sorted(labels) if got[n].error is not None},
        "unassessed_files": sorted(n for n in labels if not got[n].assessed),
    }


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    keys = ("malicious_detected", "benign_flagged", "errors", "unassessed", "missed_malicious")
    return {k: figures[k] for k in keys}


# ----------------------------------------------------------------------------- output


def _fmt_time(s: float | None) -> str:
    return "-" if s is None else f"{s:.3f}"


def print_table(report: dict[str, Any]) -> None:
    tools: dict[str, dict[str, Any]] = report["tools"]
    print(
        f"\ncorpus {report['corpus']}: {report['malicious']} malicious, {report['benign']} benign"
    )
    head = f"{'tool':<14}{'version':<10}{'detected':>10}{'benign fl':>11}{'errors':>8}"
    print(head + f"{'unassessed':>12}{'folder s':>10}")
    for name, t in tools.items():
        if "figures" not in t:
            print(f"{name:<14}{'-':<10}  unavailable: {t.get('note', '')}")
            continue
        f = t["figures"]
        print(
            f"{name:<14}{t.get('version', '-'):<10}"
            f"{f['malicious_detected']:>7}/{f['malicious_total']:<2}"
            f"{f['benign_flagged']:>8}/{f['benign_total']:<2}"
            f"{f['errors']:>8}{f['unassessed']:>12}{_fmt_time(t.get('folder_scan_seconds')):>10}"
        )
    print("(detected: malicious files flagged at any severity; errors: files the tool reported")
    print(" an error for; unassessed: files with an error or a skip and no finding)")
    for name, t in tools.items():
        print(f"\n{name}: {t.get('invocation', '')}")
        if "versions" in t:
            print("    installed: " + ", ".join(f"{k} {v}" for k, v in t["versions"].items()))
        if "figures" in t:
            fc = t["figures"]["refused_if_fail_closed"]
            print(
                f"    flagged or unassessed (fail closed): {fc['malicious']}/{report['malicious']}"
                f" malicious, {fc['benign']}/{report['benign']} benign"
            )
        for key, label in (
            ("folder_figures", "scored from its folder output alone"),
            ("dangerous_only_figures", "its own 'infected' verdict (dangerous globals only)"),
        ):
            if key in t:
                g = t[key]
                print(
                    f"    {label}: {g['malicious_detected']} malicious detected, "
                    f"{g['benign_flagged']} benign flagged"
                )
        if "folder_scan_seconds_runs" in t:
            print(f"    folder scan runs (s): {t['folder_scan_seconds_runs']}")
        if "cli" in t:
            cli = t["cli"]
            if "figures" in cli:
                g = cli["figures"]
                print(
                    f"    CLI: {g['malicious_detected']} malicious detected, {g['benign_flagged']} "
                    f"benign flagged, {g['errors']} errors, "
                    f"best {_fmt_time(cli.get('folder_scan_seconds'))} s"
                )
            else:
                print(f"    CLI: {cli.get('note', 'no result')}")
    formats = sorted(
        {fmt for t in tools.values() for fmt in t.get("figures", {}).get("by_format", {})}
    )
    print("\nmalicious detected / benign flagged, by format")
    names = [n for n in tools if "figures" in tools[n]]
    print(f"{'format':<17}" + "".join(f"{n:>16}" for n in names))
    for fmt in formats:
        cells = []
        for n in names:
            r = tools[n]["figures"]["by_format"][fmt]
            mal = f"{r['malicious_detected']}/{r['malicious']}" if r["malicious"] else "-"
            ben = f"{r['benign_flagged']}/{r['benign']}" if r["benign"] else "-"
            cells.append(f"{mal + ' | ' + ben:>16}")
        print(f"{fmt:<17}" + "".join(cells))
    for name in names:
        f = tools[name]["figures"]
        print(f"\n{name}: missed malicious ({len(f['missed_malicious'])}):")
        for n in f["missed_malicious"]:
            print(f"    {n}")
        print(f"{name}: flagged benign ({len(f['flagged_benign'])}):")
        for n in f["flagged_benign"]:
            print(f"    {n}")
        print(f"{name}: unassessed ({len(f['unassessed_files'])}):")
        for n in f["unassessed_files"]:
            print(f"    {n}: {f['error_files'].get(n) or 'skipped / not scanned'}"[:140])
    markers = report["payload_markers"]
    print(
        f"\npayload markers: before {markers['before'] or 'none'}, "
        f"appeared {markers['appeared'] or 'none'}, after {markers['after'] or 'none'}"
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Outcome):
        return obj.as_dict()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def _parse_tools(text: str) -> list[str]:
    tools = [t.strip() for t in text.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(ALL_TOOLS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown tools {unknown}; choose from {ALL_TOOLS}")
    return tools


def _corpus_files(corpus: Path, labels: Iterable[str]) -> list[Path]:
    files = [corpus / n for n in sorted(labels)]
    absent = [f.name for f in files if not f.is_file()]
    if absent:
        raise SystemExit(f"labelled files missing from {corpus}: {absent}")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tools", type=_parse_tools, default=list(ALL_TOOLS))
    parser.add_argument("--repeat", type=int, default=3, help="folder scans timed (best of N)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--skip-redundant",
        action="store_true",
        help="no per-file runs for a tool whose folder report names the file of every "
        "result (modelscan: its per-file pass imports TensorFlow 103 times, ~7 min)",
    )
    args = parser.parse_args()
    corpus: Path = args.corpus.resolve()
    labels: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text())
    files = _corpus_files(corpus, labels)

    watch = MarkerWatch()
    report: dict[str, Any] = {
        "benchmark": "modelscan",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "corpus": str(corpus),
        "files": len(labels),
        "malicious": sum(1 for lab in labels.values() if lab["malicious"]),
        "benign": sum(1 for lab in labels.values() if not lab["malicious"]),
        "repeat": args.repeat,
        "flagged_means": "the tool reported anything about the file, at any severity",
        "tools": {},
    }
    for name in args.tools:
        print(f"scanning with {name} ...", file=sys.stderr)
        entry: dict[str, Any]
        if name == "bastion":
            entry = run_bastion(corpus, files, args.repeat, watch)
            try:
                from importlib.metadata import version

                entry["version"] = version("bastion")
            except Exception:
                entry["version"] = "?"
            if "outcomes" in entry:
                entry["figures"] = score(entry["outcomes"], labels)
                if "verdicts" in entry:
                    entry["figures"]["verdicts"] = entry["verdicts"]
            cli = entry["cli"]
            if "outcomes" in cli:
                cli["figures"] = _brief(score(cli["outcomes"], labels))
        else:
            venv = watch.around(f"{name} setup", ensure_venv, name, REQUIREMENTS[name])
            versions = venv_versions(venv, REPORTED_PACKAGES)
            entry = {"version": versions.get(name, "?"), "versions": versions}
            tool = COMPETITORS[name](venv)
            entry.update(
                run_competitor(tool, corpus, files, args.repeat, watch, args.skip_redundant)
            )
            entry["figures"] = score(entry["outcomes"], labels)
            if entry["folder_outcomes"] is not None:
                entry["folder_figures"] = _brief(score(entry["folder_outcomes"], labels))
                entry["folder_figures"]["note"] = (
                    "as far as the folder output names files; a file it does not name counts "
                    "as scanned and clean"
                )
            if name == "picklescan":
                # picklescan's own verdict ("infected") counts dangerous globals only.
                dangerous = {
                    n: Outcome(
                        flagged=bool(o.extra.get("dangerous")), error=o.error, assessed=o.assessed
                    )
                    for n, o in entry["outcomes"].items()
                }
                entry["dangerous_only_figures"] = _brief(score(dangerous, labels))
        report["tools"][name] = entry

    report["payload_markers"] = {
        "before": watch.initial,
        "appeared": watch.appeared,
        "after": _markers(),
    }
    print_table(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    print(f"\nwrote {args.output}")
    if watch.appeared:
        print(f"!! payload markers appeared: {watch.appeared}", file=sys.stderr)


if __name__ == "__main__":
    main()
