"""Dataset scanner throughput: a full scan of a generated CSV (1 GiB by default).

Generates, once and deterministically (seed 20261122), a CSV of ``--size-mb`` megabytes
with 13 realistic columns: customer ids, names (from short syllable lists), e-mails,
phones (NANP, written several ways), SSNs (valid SSA ranges: area 001-899 but 666,
group 01-99, serial 0001-9999), Luhn-valid card numbers, German IBANs with their mod-97
check digits, IPv4 addresses, birth dates, amounts, timestamps, cities and a short
free-text note in which a value is sometimes embedded. The file is written in chunks of
100,000 rows (never held whole) and cached under ``--workdir`` (default
``bench/results/datascan``).

Then ``bastion.data.scan.scan_file(path, full=True, jobs=--jobs)`` runs in a child
process while this one samples the resident memory of the child's process tree every
0.2 s (``/proc``). Printed as JSON: size, rows, seconds, MB/s, the peak RSS of the tree
(sampled) and the child's and its workers' ``getrusage`` maxima, the detector used, and
the types found per column.

The detector is Bastion's default one when every built-in recognizer imports; while
some are still missing, the ones that import are used and the JSON names those missing.

``--exact`` scans with ``exact=True`` (no trusted-shape shortcut), the baseline the
shortcut is measured against.

Usage: python bench/datascan_bench.py [--size-mb 1024] [--jobs 2] [--workdir DIR]
                                      [--sample] [--exact] [--regenerate]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261122
CHUNK_ROWS = 100_000

_ONSETS = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "pr",
    "r",
    "s",
    "sh",
    "st",
    "t",
    "tr",
    "v",
    "w",
    "z",
]
_VOWELS = ["a", "e", "i", "o", "u", "ia", "ei", "ou", "ae"]
_CODAS = ["", "", "n", "r", "l", "s", "th", "m", "ck", "nd"]
_DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "inbox.example.io"]
_CITIES = [
    "Springfield",
    "Riverton",
    "Lakeside",
    "Fairview",
    "Georgetown",
    "Ashland",
    "Clinton",
    "Madison",
    "Oakridge",
    "Greenville",
    "Salem",
    "Franklin",
    "Bristol",
    "Dover",
    "Milton",
    "Newport",
    "Hudson",
    "Kingston",
    "Marion",
    "Arlington",
]
_AREA_CODES = np.array(
    [
        201,
        202,
        206,
        212,
        213,
        305,
        312,
        404,
        415,
        503,
        512,
        602,
        617,
        646,
        702,
        713,
        718,
        773,
        808,
        818,
        858,
        917,
        919,
        971,
    ]
)
_NOTES_PLAIN = (
    "Customer asked about the invoice",
    "Follow-up scheduled next week",
    "Requested a copy of the contract",
    "Payment received, thanks sent",
    "Address change pending verification",
    "VIP since 2019, handle with care",
    "Complained about delivery delay",
    "Prefers contact in the morning",
)


def _syllable_names(rng: np.random.Generator, n: int, parts: int) -> pl.Series:
    onset = pl.Series(_ONSETS)
    vowel = pl.Series(_VOWELS)
    coda = pl.Series(_CODAS)
    frame = pl.DataFrame(
        {
            f"{kind}{i}": source.gather(rng.integers(0, len(source), n))
            for i in range(parts)
            for kind, source in (("o", onset), ("v", vowel), ("c", coda))
        }
    )
    word = frame.select(pl.concat_str(pl.all())).to_series()
    return word.str.to_titlecase()


def _luhn_cards(rng: np.random.Generator, n: int) -> np.ndarray:
    digits = rng.integers(0, 10, (n, 16))
    digits[:, 0] = 4  # Visa
    mc = rng.random(n) < 0.4
    digits[mc, 0] = 5
    digits[mc, 1] = rng.integers(1, 6, int(mc.sum()))
    payload = digits[:, :15].copy()
    doubled = payload[:, 0::2] * 2  # from the right, every second digit of the payload
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + payload[:, 1::2].sum(axis=1)
    digits[:, 15] = (10 - total % 10) % 10
    return digits


def _ibans(rng: np.random.Generator, n: int) -> pl.Series:
    bban = rng.integers(0, 10, (n, 18))
    bban[:, 0] = rng.integers(1, 9, n)  # bank codes do not start with 0
    # Check digits: 98 - (BBAN + "DE00" as digits ("1314" "00")) mod 97.
    tail = np.array([1, 3, 1, 4, 0, 0])
    remainder = np.zeros(n, dtype=np.int64)
    for column in range(18):
        remainder = (remainder * 10 + bban[:, column]) % 97
    for digit in tail:
        remainder = (remainder * 10 + digit) % 97
    check = 98 - remainder
    text = _digits_to_str(bban)
    return pl.Series([f"DE{c:02d}{t}" for c, t in zip(check.tolist(), text, strict=True)])


def _digits_to_str(digits: np.ndarray) -> list[str]:
    return ["".join(map(str, row)) for row in digits.tolist()]


def generate_chunk(rng: np.random.Generator, start: int, n: int) -> pl.DataFrame:
    first = _syllable_names(rng, n, 2)
    last = _syllable_names(rng, n, 2)
    num = pl.Series(rng.integers(1, 1000, n))
    domain = pl.Series(_DOMAINS).gather(rng.integers(0, len(_DOMAINS), n))
    area = pl.Series(_AREA_CODES[rng.integers(0, len(_AREA_CODES), n)])
    exchange = pl.Series(rng.integers(200, 1000, n))
    line = pl.Series(rng.integers(0, 10000, n)).cast(pl.String).str.zfill(4)
    style = rng.integers(0, 3, n)
    ssn_area = rng.integers(1, 900, n)
    ssn_area = np.where(ssn_area == 666, 667, ssn_area)
    cards = _luhn_cards(rng, n)
    card_text = pl.Series(_digits_to_str(cards))
    dashed = rng.random(n) < 0.3
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n).astype("timedelta64[D]")
    seconds = rng.integers(0, 5 * 365 * 86400, n).astype("timedelta64[s]")
    created = (np.datetime64("2020-01-01T00:00:00") + seconds).astype("datetime64[ms]")
    frame = pl.DataFrame(
        {
            "first": first,
            "last": last,
            "num": num,
            "domain": domain,
            "area": area,
            "exchange": exchange,
            "line": line,
            "style": style,
            "ssn_area": ssn_area,
            "ssn_group": rng.integers(1, 100, n),
            "ssn_serial": rng.integers(1, 10000, n),
            "card": card_text,
            "dashed": dashed,
            "iban": _ibans(rng, n),
            "ip": [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 255, (n, 4)).tolist()],
            "birth": birth,
            "amount": rng.gamma(2.0, 80.0, n).round(2),
            "created": created,
            "city": pl.Series(_CITIES).gather(rng.integers(0, len(_CITIES), n)),
            "note_kind": rng.integers(0, 20, n),
            "note_plain": pl.Series(_NOTES_PLAIN).gather(rng.integers(0, len(_NOTES_PLAIN), n)),
        }
    )
    z = pl.col
    phone = (
        pl.when(z("style") == 0)
        .then(pl.format("({}) {}-{}", z("area"), z("exchange"), z("line")))
        .when(z("style") == 1)
        .then(pl.format("{}-{}-{}", z("area"), z("exchange"), z("line")))
        .otherwise(pl.format("+1 {} {} {}", z("area"), z("exchange"), z("line")))
    )
    card = (
        pl.when(z("dashed"))
        .then(
            pl.format(
                "{}-{}-{}-{}",
                z("card").str.slice(0, 4),
                z("card").str.slice(4, 4),
                z("card").str.slice(8, 4),
                z("card").str.slice(12, 4),
            )
        )
        .otherwise(z("card"))
    )
    email = pl.format("{}.{}{}@{}", z("first"), z("last"), z("num"), z("domain")).str.to_lowercase()
    note = (
        pl.when(z("note_kind") == 0)
        .then(pl.format("Call back on {} about the refund", phone))
        .when(z("note_kind") == 1)
        .then(pl.format("Asked to use {} from now on", email))
        .when(z("note_kind") == 2)
        .then(pl.format("Spoke with {} {} about the order", z("first"), z("last")))
        .otherwise(z("note_plain"))
    )
    return frame.select(
        customer_id=pl.format("C{}", pl.lit(start) + pl.int_range(0, n)),
        full_name=pl.format("{} {}", z("first"), z("last")),
        email=email,
        phone=phone,
        ssn=pl.format(
            "{}-{}-{}",
            z("ssn_area").cast(pl.String).str.zfill(3),
            z("ssn_group").cast(pl.String).str.zfill(2),
            z("ssn_serial").cast(pl.String).str.zfill(4),
        ),
        card_number=card,
        iban=z("iban"),
        ip_address=z("ip"),
        birth_date=z("birth").cast(pl.String),
        amount=z("amount").cast(pl.String),
        created_at=z("created").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        city=z("city"),
        note=note,
    )


def generate(path: Path, size_mb: int) -> int:
    """Write the CSV (streaming, in chunks) and return its row count."""
    target = size_mb * 1_000_000
    rng = np.random.default_rng(SEED)
    rows = 0
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as handle:
        while handle.tell() < target:
            chunk = generate_chunk(rng, rows, CHUNK_ROWS)
            budget = target - handle.tell()
            if rows and budget < CHUNK_ROWS * 120:  # the last chunk: trim to size
                per_row = max(handle.tell() // rows, 1)
                chunk = chunk.head(max(1, budget // per_row))
            chunk.write_csv(handle, include_header=rows == 0)
            rows += chunk.height
    partial.rename(path)
    path.with_suffix(".rows").write_text(str(rows))
    return rows


def _detector() -> tuple[Any, str, list[str]]:
    from bastion.data.detect import Detector
    from bastion.data.detect.registry import _BUILTIN_MODULES

    recognizers, missing = [], []
    for module in _BUILTIN_MODULES:
        try:
            mod = importlib.import_module(f"bastion.data.detect.recognizers.{module}")
        except ImportError:
            missing.append(module)
            continue
        recognizers.extend(mod.RECOGNIZERS)
    if not missing:
        from bastion.data.detect import default_detector

        return default_detector(), "default", []
    return Detector(recognizers), "built-ins that import", missing


def child(path: Path, jobs: int, full: bool, exact: bool) -> None:
    """Run the scan and print its JSON figures (run in a child process)."""
    from bastion.data.scan import scan_file

    detector, which, missing = _detector()
    started = time.monotonic()
    scan = scan_file(path, detector=detector, full=full, jobs=jobs, exact=exact)
    seconds = time.monotonic() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": scan.rows,
                "exact": scan.exact,
                "shortcut_cells": sum(c.shortcut_cells for c in scan.columns),
                "verified": sum(c.verified for c in scan.columns),
                "disagreed": sum(c.disagreed for c in scan.columns),
                "detector": which,
                "recognizers": [r.name for r in detector.recognizers],
                "missing_modules": missing,
                "maxrss_self_mib": me.ru_maxrss / 1024,
                "maxrss_largest_worker_mib": kids.ru_maxrss / 1024,
                "cpu_user_s": me.ru_utime + kids.ru_utime,
                "cpu_sys_s": me.ru_stime + kids.ru_stime,
                "columns": {c.name: {t.type: t.cells for t in c.types} for c in scan.columns},
                "typed_columns": {c.name: c.typed_as for c in scan.columns if c.typed_as},
                "distinct_scanned": {c.name: c.distinct_scanned for c in scan.columns},
            }
        )
    )


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child_pid, parent in parents.items():
            if parent == pid and child_pid not in tree:
                tree.add(child_pid)
                frontier.append(child_pid)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "results" / "datascan")
    parser.add_argument("--sample", action="store_true", help="sample mode instead of full")
    parser.add_argument("--exact", action="store_true", help="no trusted-shape shortcut")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.jobs, not args.sample, args.exact)
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"customers_{args.size_mb}mb.csv"
    generated_s = None
    if args.regenerate or not path.exists():
        started = time.monotonic()
        generate(path, args.size_mb)
        generated_s = time.monotonic() - started
    rows_written = int(path.with_suffix(".rows").read_text())

    command = [sys.executable, __file__, "--child", str(path), "--jobs", str(args.jobs)]
    if args.sample:
        command.append("--sample")
    if args.exact:
        command.append("--exact")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(process.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"scan failed with exit code {process.returncode}")
    figures = json.loads(out)
    size = path.stat().st_size
    report = {
        "file": str(path),
        "size_bytes": size,
        "size_mib": round(size / (1 << 20), 1),
        "rows": figures["rows"],
        "rows_written": rows_written,
        "mode": ("sample" if args.sample else "full") + (" exact" if args.exact else ""),
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "seconds": round(figures["seconds"], 2),
        "mb_per_s": round(size / 1e6 / figures["seconds"], 2),
        "peak_rss_tree_mib_sampled": round(peak / (1 << 20), 1),
        "generated_s": None if generated_s is None else round(generated_s, 1),
        **{k: v for k, v in figures.items() if k not in ("seconds", "rows")},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
