"""Vault encryption throughput; prints one JSON document.

Measures, in one run:
  * the baseline: raw AES-256-GCM from ``cryptography`` on 1 MiB buffers, reused
    (``encrypt_into`` / ``decrypt_into``), the limit of this stack; and the same with a
    fresh allocation per call (``encrypt``), to show why buffers are reused;
  * raw SHA-256 (hashlib) on 1 MiB buffers: the bound of any write that digests content;
  * the streaming format (``BSTM``, 1 MiB chunks, reused buffers) encrypting and
    decrypting 256 MiB held in memory (chunks sliced from the buffer, no copy) into a
    sink, and the same through a file-like reader (one copy per chunk into the reused
    buffer), without the content digest, each as a ratio of the raw AES-GCM speed (five
    rounds, raw and format alternating; median ratios);
  * end to end, ``data add`` and ``data get`` of a file through the vault service
    (read, SHA-256, encrypt, write, fsync; and back), with the process's peak memory
    after a small file and after the large one.
Goals from the vault issue: the streaming format >= 70% of raw AES-GCM; end to end
>= 500 MB/s each way; memory that does not grow with the file size.

Usage: python bench/vault_bench.py [--size-mib 1024] [--dir PATH]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import platform
import resource
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.bootstrap import initialize
from bastion.config import Secret, Settings
from bastion.context import ANONYMOUS, Context
from bastion.crypto.keyring import generate_master_key
from bastion.crypto.stream import decrypt_stream, encrypt_bytes, encrypt_stream
from bastion.identity import credentials, sessions
from bastion.vault import objects
from bastion.vault.objects import Kind
from bastion.workspace import Workspace

MIB = 1 << 20


class _Sink(io.RawIOBase):
    """Discards what is written: measures the format, not a device."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
        return len(data)


def _speed(nbytes: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return nbytes / (time.perf_counter() - start) / 1e9


def _ratio(measured: list[float], baseline: list[float]) -> float:
    return statistics.median(m / b for m, b in zip(measured, baseline, strict=True))


def _format_against_raw(total_mib: int, rounds: int) -> dict[str, float]:
    """Raw AES-GCM and the streaming format measured in alternation, ``rounds`` times.

    On a shared machine the speed drifts between measurements; pairing each format run
    with a raw run just before it and taking the median ratio cancels most of that.
    """
    key, key_id = secrets.token_bytes(32), secrets.token_bytes(16)
    aead = AESGCM(key)
    nonce = secrets.token_bytes(12)
    plain = memoryview(bytearray(os.urandom(MIB)))
    sealed = memoryview(bytearray(MIB + 16))
    back = memoryview(bytearray(MIB))
    aead.encrypt_into(nonce, plain, None, sealed)
    nbytes = total_mib * MIB
    data = os.urandom(nbytes)
    stored = encrypt_bytes(key, key_id, data)
    data_view, stored_view = memoryview(data), memoryview(stored)

    def raw_enc() -> None:
        for _ in range(total_mib):
            aead.encrypt_into(nonce, plain, None, sealed)

    def raw_dec() -> None:
        for _ in range(total_mib):
            aead.decrypt_into(nonce, sealed, None, back)

    def raw_alloc() -> None:
        one = bytes(plain)
        for _ in range(total_mib):
            aead.encrypt(nonce, one, None)

    def sha() -> None:
        digest = hashlib.sha256()
        for _ in range(total_mib // 4):
            digest.update(plain)

    def fmt_enc() -> None:
        encrypt_stream(key, key_id, data_view, _Sink(), nbytes, hash_plaintext=False)

    def fmt_dec() -> None:
        decrypt_stream(
            key, key_id, stored_view, _Sink(), available=len(stored), hash_plaintext=False
        )

    def stream_enc() -> None:
        encrypt_stream(key, key_id, io.BytesIO(data), _Sink(), nbytes, hash_plaintext=False)

    def stream_dec() -> None:
        decrypt_stream(
            key, key_id, io.BytesIO(stored), _Sink(), available=len(stored), hash_plaintext=False
        )

    names = ("re", "rd", "fe", "fd", "se", "sd", "ra", "sha")
    runs: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        runs["re"].append(_speed(nbytes, raw_enc))
        runs["fe"].append(_speed(nbytes, fmt_enc))
        runs["rd"].append(_speed(nbytes, raw_dec))
        runs["fd"].append(_speed(nbytes, fmt_dec))
        runs["se"].append(_speed(nbytes, stream_enc))
        runs["sd"].append(_speed(nbytes, stream_dec))
        runs["ra"].append(_speed(nbytes, raw_alloc))
        runs["sha"].append(_speed(nbytes // 4, sha))
    med = statistics.median
    return {
        "raw_aesgcm_encrypt_into_gbps": med(runs["re"]),
        "raw_aesgcm_decrypt_into_gbps": med(runs["rd"]),
        "raw_aesgcm_encrypt_alloc_per_call_gbps": med(runs["ra"]),
        "raw_sha256_gbps": med(runs["sha"]),
        "format_in_memory_encrypt_gbps": med(runs["fe"]),
        "format_in_memory_decrypt_gbps": med(runs["fd"]),
        "format_in_memory_encrypt_ratio_of_raw": _ratio(runs["fe"], runs["re"]),
        "format_in_memory_decrypt_ratio_of_raw": _ratio(runs["fd"], runs["rd"]),
        "format_file_like_encrypt_gbps": med(runs["se"]),
        "format_file_like_decrypt_gbps": med(runs["sd"]),
        "format_file_like_encrypt_ratio_of_raw": _ratio(runs["se"], runs["re"]),
        "format_file_like_decrypt_ratio_of_raw": _ratio(runs["sd"], runs["rd"]),
    }


def _admin(ws_settings: Settings) -> tuple[Workspace, Context]:
    result = initialize(ws_settings, source="bench")
    assert result.admin.password and result.admin.totp_secret
    seed = base64.b32decode(result.admin.totp_secret + "=" * (-len(result.admin.totp_secret) % 8))
    ws = result.workspace
    anon = Context(principal=ANONYMOUS, source="bench", clock=ws.clock)
    grant = sessions.login(
        ws, anon, "admin", result.admin.password, credentials.totp_code(seed, time.time())
    )
    return ws, anon.as_(sessions.authenticate_session(ws, anon, grant.token))


def _write_file(path: Path, size_mib: int) -> None:
    with path.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))
        handle.flush()
        os.fsync(handle.fileno())


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _end_to_end(root: Path, size_mib: int) -> dict[str, object]:
    settings = Settings(
        workspace=root / "ws",
        master_key=Secret(generate_master_key()),
        state_dir=root / "state",
    )
    ws, admin = _admin(settings)
    small, large = root / "small.bin", root / "large.bin"
    _write_file(small, 64)
    _write_file(large, size_mib)
    try:
        objects.add(ws, admin, Kind.DATASET, small, "small")
        objects.get(ws, admin, Kind.DATASET, "small", root / "small.out")
        rss_small = _peak_rss_mib()
        adds, gets = [], []
        for run in range(2):
            out = root / f"large.{run}.out"
            start = time.perf_counter()
            objects.add(ws, admin, Kind.DATASET, large, "large")
            adds.append(size_mib * MIB / (time.perf_counter() - start) / 1e6)
            start = time.perf_counter()
            objects.get(ws, admin, Kind.DATASET, "large", out)
            gets.append(size_mib * MIB / (time.perf_counter() - start) / 1e6)
            out.unlink()
        rss_large = _peak_rss_mib()
    finally:
        ws.close()
    return {
        "e2e_data_add_mbps": round(statistics.median(adds), 1),
        "e2e_data_get_mbps": round(statistics.median(gets), 1),
        "e2e_data_add_runs_mbps": [round(x, 1) for x in adds],
        "e2e_data_get_runs_mbps": [round(x, 1) for x in gets],
        "peak_rss_mib_after_64_mib_file": round(rss_small, 1),
        f"peak_rss_mib_after_{size_mib}_mib_file": round(rss_large, 1),
    }


def main() -> None:
    """Run every measurement and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="end-to-end file size")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the workspace")
    args = parser.parse_args()

    figures: dict[str, object] = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    # End to end first, so that peak memory is not the in-memory benchmarks' buffers.
    figures["peak_rss_mib_at_start"] = round(_peak_rss_mib(), 1)
    root = Path(tempfile.mkdtemp(prefix="bastion-vault-bench-", dir=args.dir))
    try:
        e2e = _end_to_end(root, args.size_mib)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    raw = _format_against_raw(256, rounds=5)
    figures.update({name: round(value, 3) for name, value in raw.items()})
    figures.update(e2e)
    # Every byte added is hashed once: SHA-256 speed bounds the end-to-end write.
    figures["e2e_add_ratio_of_sha256_bound"] = round(
        float(str(e2e["e2e_data_add_mbps"])) / (raw["raw_sha256_gbps"] * 1000), 3
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
