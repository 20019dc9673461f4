"""Vault encryption throughput; prints one JSON document.

Measures, in one run:
  * the baseline: raw AES-256-GCM from ``cryptography`` on 1 MiB buffers, reused
    (``encrypt_into`` / ``decrypt_into``), the limit of this stack; and the same with a
    fresh allocation per call (``encrypt``), to show why buffers are reused;
  * raw SHA-256 (hashlib) on 1 MiB buffers: the bound of any write that digests content;
  * the streaming format (``BSTM``, 1 MiB chunks) encrypting and decrypting in memory,
    without the content digest, as a ratio of the raw AES-GCM speed;
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
from bastion.crypto.stream import decrypt_stream, encrypt_stream
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


def _best(runs: int, fn: Callable[[], float]) -> float:
    return max(fn() for _ in range(runs))


def _raw_aes(total_mib: int) -> dict[str, float]:
    key = AESGCM.generate_key(256)
    aead = AESGCM(key)
    nonce = secrets.token_bytes(12)
    plain = memoryview(bytearray(os.urandom(MIB)))
    sealed = memoryview(bytearray(MIB + 16))
    back = memoryview(bytearray(MIB))
    aead.encrypt_into(nonce, plain, None, sealed)

    def enc_into() -> float:
        start = time.perf_counter()
        for _ in range(total_mib):
            aead.encrypt_into(nonce, plain, None, sealed)
        return total_mib * MIB / (time.perf_counter() - start) / 1e9

    def dec_into() -> float:
        start = time.perf_counter()
        for _ in range(total_mib):
            aead.decrypt_into(nonce, sealed, None, back)
        return total_mib * MIB / (time.perf_counter() - start) / 1e9

    def enc_alloc() -> float:
        data = bytes(plain)
        start = time.perf_counter()
        for _ in range(total_mib // 4):
            aead.encrypt(nonce, data, None)
        return (total_mib // 4) * MIB / (time.perf_counter() - start) / 1e9

    def sha() -> float:
        start = time.perf_counter()
        digest = hashlib.sha256()
        for _ in range(total_mib // 4):
            digest.update(plain)
        return (total_mib // 4) * MIB / (time.perf_counter() - start) / 1e9

    return {
        "raw_aesgcm_encrypt_into_gbps": _best(3, enc_into),
        "raw_aesgcm_decrypt_into_gbps": _best(3, dec_into),
        "raw_aesgcm_encrypt_alloc_per_call_gbps": _best(3, enc_alloc),
        "raw_sha256_gbps": _best(3, sha),
    }


def _stream(total_mib: int) -> dict[str, float]:
    key, key_id = secrets.token_bytes(32), secrets.token_bytes(16)
    data = os.urandom(total_mib * MIB)
    blob = io.BytesIO()
    encrypt_stream(key, key_id, io.BytesIO(data), blob, len(data), hash_plaintext=False)
    sealed = blob.getvalue()

    def enc() -> float:
        start = time.perf_counter()
        encrypt_stream(key, key_id, io.BytesIO(data), _Sink(), len(data), hash_plaintext=False)
        return len(data) / (time.perf_counter() - start) / 1e9

    def dec() -> float:
        start = time.perf_counter()
        decrypt_stream(
            key, key_id, io.BytesIO(sealed), _Sink(), available=len(sealed), hash_plaintext=False
        )
        return len(data) / (time.perf_counter() - start) / 1e9

    return {"stream_encrypt_gbps": _best(3, enc), "stream_decrypt_gbps": _best(3, dec)}


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
    raw = _raw_aes(512)
    stream = _stream(256)
    speeds = {**raw, **stream}
    figures.update({name: round(value, 3) for name, value in speeds.items()})
    figures["stream_encrypt_ratio_of_raw"] = round(
        stream["stream_encrypt_gbps"] / raw["raw_aesgcm_encrypt_into_gbps"], 3
    )
    figures["stream_decrypt_ratio_of_raw"] = round(
        stream["stream_decrypt_gbps"] / raw["raw_aesgcm_decrypt_into_gbps"], 3
    )
    root = Path(tempfile.mkdtemp(prefix="bastion-vault-bench-", dir=args.dir))
    try:
        e2e = _end_to_end(root, args.size_mib)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures.update(e2e)
    # Every byte added is hashed once: SHA-256 speed bounds the end-to-end write.
    figures["e2e_add_ratio_of_sha256_bound"] = round(
        float(str(e2e["e2e_data_add_mbps"])) / (raw["raw_sha256_gbps"] * 1000), 3
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
