"""The ModelScanner protocol, its registry, and the engine that runs scanners over files.

A scanner recognises a format from a file's first bytes (and its name as a hint) and
returns findings. Archive and container scanners hand their members back to the
engine, so a pickle inside a PyTorch zip inside a gzip is scanned by the same code as
a bare pickle. Third parties register scanners under the entry-point group
``bastion.model_scanners`` (a factory taking no arguments).
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Protocol

from bastion.models.scan.base import (
    Finding,
    ScanFailed,
    ScanResult,
    Severity,
    Verdict,
    verdict_of,
)

ENTRY_POINT_GROUP = "bastion.model_scanners"
Buffer = bytes | memoryview | mmap.mmap
# Given the number of files, returns the callback told of each one scanned.
Progress = Callable[[int], Callable[[int], None]]


@dataclass(frozen=True)
class ScanLimits:
    """Bounds that keep a hostile file from exhausting memory or time."""

    seconds_per_file: float = 60.0
    max_depth: int = 4  # archive in archive in pickle ...
    max_members: int = 10_000
    max_member_bytes: int = 1 << 30  # largest member or decompressed stream read into memory
    max_total_uncompressed: int = 16 << 30
    max_bomb_ratio: int = 200
    max_json_bytes: int = 64 << 20


@dataclass
class Target:
    """Bytes to scan and where they sit (a file, or a member at some depth in it)."""

    data: Buffer
    name: str
    engine: Engine
    path: Path | None = None  # the file on disk, for formats that refer to siblings (ONNX)
    member: str | None = None
    base_offset: int = 0
    depth: int = 0
    format: str = "unknown"  # what detect() said; a scanner may refine it (zip -> torch_zip)

    def nested(
        self, data: Buffer, name: str, *, member: str | None = None, base_offset: int = 0
    ) -> list[Finding]:
        """Scan content found inside this target; raises ScanFailed when it is unreadable."""
        if self.depth + 1 > self.engine.limits.max_depth:
            return [
                Finding(
                    Severity.MEDIUM,
                    "engine",
                    f"content nested deeper than {self.engine.limits.max_depth} levels",
                    base_offset,
                    None,
                    member or self.member,
                )
            ]
        child = Target(
            data,
            name,
            self.engine,
            path=None,
            member=member or self.member,
            base_offset=base_offset,
            depth=self.depth + 1,
        )
        _, findings = self.engine.scan_target(child)
        return findings

    @property
    def deadline(self) -> float:
        return self.engine.deadline


class ModelScanner(Protocol):
    """Recognises one family of formats and reports what is dangerous in it."""

    name: str

    def detect(self, head: bytes, name: str) -> str | None:
        """The format name when these first bytes (and file name) are this scanner's."""
        ...

    def scan(self, target: Target) -> list[Finding]:
        """Findings for the whole target; raise ScanFailed when it cannot be assessed."""
        ...


def builtin_scanners() -> list[ModelScanner]:
    """The built-in scanners, most specific first."""
    from bastion.models.scan.archives import CompressedScanner, ZipScanner
    from bastion.models.scan.keras import Hdf5Scanner
    from bastion.models.scan.numpy_files import NpyScanner
    from bastion.models.scan.onnx_files import OnnxScanner
    from bastion.models.scan.pickles import PickleScanner
    from bastion.models.scan.safetensors_files import SafetensorsScanner
    from bastion.models.scan.text import TextScanner

    return [
        ZipScanner(),
        NpyScanner(),
        Hdf5Scanner(),
        SafetensorsScanner(),
        CompressedScanner(),
        PickleScanner(),
        OnnxScanner(),
        TextScanner(),
    ]


@cache
def _plugin_entry_points() -> tuple[EntryPoint, ...]:
    # Listing entry points reads every installed distribution (~0.1 s): once per process.
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def registered_scanners() -> list[ModelScanner]:
    """Built-ins plus plugins from the ``bastion.model_scanners`` entry points."""
    scanners = builtin_scanners()
    names = {s.name for s in scanners}
    for ep in _plugin_entry_points():
        if ep.name not in names:
            scanners.insert(0, ep.load()())
    return scanners


class Engine:
    """Runs the registered scanners over files, folders and nested content."""

    def __init__(
        self, scanners: Sequence[ModelScanner] | None = None, limits: ScanLimits | None = None
    ) -> None:
        self.scanners = list(scanners) if scanners is not None else registered_scanners()
        self.limits = limits or ScanLimits()
        self.deadline = float("inf")

    def scan_target(self, target: Target) -> tuple[str, list[Finding]]:
        """Detect the format of ``target`` and scan it."""
        if time.monotonic() > self.deadline:
            raise ScanFailed(f"time limit of {self.limits.seconds_per_file:g} s exceeded")
        head = bytes(target.data[:64])
        for scanner in self.scanners:
            fmt = scanner.detect(head, target.name)
            if fmt is not None:
                target.format = fmt
                findings = scanner.scan(target)
                return target.format, findings
        raise ScanFailed("unsupported format: no scanner recognises this file")

    def scan_file(self, path: Path, *, display: str | None = None) -> ScanResult:
        """Scan one file; never raises for bad content (the verdict says ``error``)."""
        shown = display or str(path)
        started = time.monotonic()
        self.deadline = started + self.limits.seconds_per_file
        try:
            info = os.lstat(path)
        except OSError as exc:
            return _error(shown, f"cannot read: {exc.strerror}", started)
        if stat.S_ISLNK(info.st_mode):
            finding = Finding(
                Severity.MEDIUM,
                "engine",
                f"symbolic link to {os.readlink(path)!r}: not followed (a loader might)",
            )
            return ScanResult(shown, verdict_of([finding]), "symlink", (finding,), None, 0)
        if not stat.S_ISREG(info.st_mode):
            return _error(shown, "not a regular file", started)
        if info.st_size == 0:
            return _error(shown, "empty file", started, fmt="empty")
        try:
            with open(path, "rb") as handle, _mapped(handle.fileno()) as data:
                digest = hashlib.sha256(data).hexdigest()
                target = Target(data, path.name, self, path=path)
                return self._run(shown, target, info.st_size, digest, started)
        except OSError as exc:
            return _error(shown, f"cannot read: {exc.strerror}", started)

    def scan_bytes(self, data: Buffer, name: str) -> ScanResult:
        """Scan content held in memory or mapped (a decrypted vault object, a download)."""
        started = time.monotonic()
        self.deadline = started + self.limits.seconds_per_file
        if not data:
            return _error(name, "empty file", started, fmt="empty")
        digest = hashlib.sha256(data).hexdigest()
        return self._run(name, Target(data, name, self), len(data), digest, started)

    def _run(
        self, shown: str, target: Target, size: int, digest: str, started: float
    ) -> ScanResult:
        try:
            _, findings = self.scan_target(target)
            error = None
        except ScanFailed as exc:
            findings, error = _partial(exc), str(exc)
        except (RecursionError, MemoryError) as exc:
            findings, error = [], f"scan aborted: {type(exc).__name__}"
        verdict = verdict_of(findings) if error is None else _error_verdict(findings)
        seconds = time.monotonic() - started
        ordered = tuple(sorted(findings, key=lambda f: (-f.severity, f.offset or 0)))
        return ScanResult(shown, verdict, target.format, ordered, error, size, seconds, digest)

    def scan_paths(
        self, paths: Iterable[Path], *, progress: Progress | None = None, jobs: int = 1
    ) -> list[ScanResult]:
        """Scan files and folders (recursively, in name order), on up to ``jobs`` processes.

        Parsing is pure Python, so cores are used through processes; small batches stay
        in this process, where starting workers would cost more than it saves.
        """
        files = list(expand(paths))
        advance = progress(len(files)) if progress is not None else None
        workers = min(max(jobs, 1), len(files) // PARALLEL_MIN_FILES)
        if workers > 1:
            return self._scan_parallel(files, workers, advance)
        results = []
        for file in files:
            results.append(self.scan_file(file, display=str(file)))
            if advance is not None:
                advance(1)
        return results

    def _scan_parallel(
        self, files: list[Path], workers: int, advance: Callable[[int], None] | None
    ) -> list[ScanResult]:
        # Workers rebuild the engine from its parts; results come back in file order.
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with context.Pool(workers, _init_worker, (self.scanners, self.limits)) as pool:
            results = []
            for result in pool.imap(_scan_in_worker, files, chunksize=8):
                results.append(result)
                if advance is not None:
                    advance(1)
        return results


# Below this many files per worker, one process is faster than several.
PARALLEL_MIN_FILES = 32
_WORKER_ENGINE: Engine | None = None


def _init_worker(scanners: list[ModelScanner], limits: ScanLimits) -> None:
    global _WORKER_ENGINE
    _WORKER_ENGINE = Engine(scanners, limits)


def _scan_in_worker(path: Path) -> ScanResult:
    assert _WORKER_ENGINE is not None
    return _WORKER_ENGINE.scan_file(path, display=str(path))


def _partial(exc: ScanFailed) -> list[Finding]:
    return list(exc.findings)


def _error_verdict(findings: list[Finding]) -> Verdict:
    verdict = verdict_of(findings)
    # What was read before the failure still counts; with nothing found, "error".
    return verdict if verdict is not Verdict.CLEAN else Verdict.ERROR


def _error(shown: str, reason: str, started: float, fmt: str = "unknown") -> ScanResult:
    return ScanResult(shown, Verdict.ERROR, fmt, (), reason, 0, time.monotonic() - started)


class _mapped:
    """A read-only mmap of a file descriptor, closed on exit."""

    def __init__(self, fd: int) -> None:
        self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)

    def __enter__(self) -> mmap.mmap:
        return self._map

    def __exit__(self, *exc: object) -> None:
        self._map.close()


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths; folders are walked without following symlinks."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
                for name in dirs:
                    if (Path(root) / name).is_symlink():
                        yield Path(root) / name
        else:
            yield path


def scan_paths(
    paths: Sequence[Path],
    *,
    limits: ScanLimits | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> list[ScanResult]:
    """Scan files and folders with every registered scanner, on up to ``jobs`` processes."""
    return Engine(limits=limits).scan_paths(paths, progress=progress, jobs=jobs)


def scan_bytes(data: bytes, name: str, *, limits: ScanLimits | None = None) -> ScanResult:
    """Scan in-memory content named ``name``."""
    return Engine(limits=limits).scan_bytes(data, name)
