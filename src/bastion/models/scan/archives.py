"""Zip archives (PyTorch, NumPy .npz, Keras .keras, plain zip) and compressed streams.

Every member name is checked for path traversal, every member's declared and actual
size for zip-bomb ratios, and every member that holds code-bearing content (pickles,
object arrays, Keras configs, nested archives) is scanned through the engine. Raw
tensor storages (``archive/data/0``) are data and are not parsed.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import struct
import zipfile
import zlib
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "archive"
_TORCH_STORAGE = re.compile(r"(^|/)data/\d+$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def _zip_format(names: list[str], file_name: str) -> str:
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "torch_zip"
    if "config.json" in names and (
        "metadata.json" in names or file_name.lower().endswith(".keras")
    ):
        return "keras"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts


class ZipScanner:
    """Zip-based model formats."""

    name = "zip"

    def detect(self, head: bytes, name: str) -> str | None:
        return "zip" if head.startswith(b"PK\x03\x04") else None

    def scan(self, target: Target) -> list[Finding]:
        limits = target.engine.limits
        try:
            archive = zipfile.ZipFile(_reader(target.data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ScanFailed(f"malformed zip archive: {exc}") from None
        names = [i.filename for i in infos]
        fmt = _zip_format(names, target.name)
        target.format = fmt
        findings: list[Finding] = []

        def flag(severity: Severity, detail: str, member: str | None, offset: int | None) -> None:
            findings.append(Finding(severity, SCANNER, detail, offset, None, member))

        if len(infos) > limits.max_members:
            raise ScanFailed(f"archive has {len(infos)} members (limit {limits.max_members})")
        total = sum(i.file_size for i in infos)
        if total > limits.max_total_uncompressed:
            flag(
                Severity.HIGH,
                f"zip bomb: members expand to {total} bytes",
                None,
                target.base_offset,
            )
        seen: set[str] = set()
        for info in infos:
            offset = target.base_offset + info.header_offset
            if _unsafe_name(info.filename):
                flag(
                    Severity.HIGH,
                    f"path traversal: member name {info.filename!r} escapes the extraction folder",
                    info.filename,
                    offset,
                )
            if info.filename in seen:
                flag(
                    Severity.MEDIUM,
                    f"duplicate member {info.filename!r}: loaders disagree on which one wins",
                    info.filename,
                    offset,
                )
            seen.add(info.filename)
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > (1 << 20) and ratio > limits.max_bomb_ratio:
                flag(
                    Severity.HIGH,
                    f"zip bomb: member {info.filename!r} expands {ratio:.0f}x",
                    info.filename,
                    offset,
                )
                continue
            if info.is_dir() or (fmt == "torch_zip" and _TORCH_STORAGE.search(info.filename)):
                continue
            try:
                findings.extend(self._member(target, archive, info, fmt))
            except ScanFailed as exc:
                raise ScanFailed(
                    f"member {info.filename}: {exc}", findings + exc.findings
                ) from None
        return findings

    def _member(
        self, target: Target, archive: zipfile.ZipFile, info: zipfile.ZipInfo, fmt: str
    ) -> list[Finding]:
        limits = target.engine.limits
        if info.flag_bits & 0x1:
            raise ScanFailed("encrypted member cannot be inspected")
        if info.file_size > limits.max_member_bytes:
            raise ScanFailed(f"member larger than the {limits.max_member_bytes}-byte limit")
        try:
            with archive.open(info) as stream:
                data = stream.read(limits.max_member_bytes + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            zlib.error,
            lzma.LZMAError,
            NotImplementedError,  # unknown method, version, strong encryption, patched data
        ) as exc:
            raise ScanFailed(f"unreadable member: {exc}") from None
        if len(data) > limits.max_member_bytes:
            raise ScanFailed("member expands beyond its declared size")
        if not data:
            return []
        base = 0
        if info.compress_type == zipfile.ZIP_STORED:
            base = _data_offset(target.data, info.header_offset)
        head = data[:64]
        engine = target.engine
        wanted = info.filename.endswith((".pkl", ".npy", ".json", ".zip", ".h5", ".keras"))
        if not wanted and not any(
            s.detect(head, info.filename) not in (None, "text") for s in engine.scanners
        ):
            return []  # raw data (weights, vocabularies): nothing a loader executes
        if fmt == "keras" and info.filename == "config.json":
            from bastion.models.scan.keras import scan_keras_config

            return scan_keras_config(data, info.filename, target.base_offset + base)
        return target.nested(
            data, info.filename, member=info.filename, base_offset=target.base_offset + base
        )


def _data_offset(data: Any, header_offset: int) -> int:
    """Where a stored member's bytes start: after its local header, name and extra field."""
    header = bytes(data[header_offset : header_offset + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size:
        return header_offset
    fields = _LOCAL_HEADER.unpack(header)
    return header_offset + _LOCAL_HEADER.size + int(fields[9]) + int(fields[10])


class _View(io.RawIOBase):
    """A seekable read-only file over a buffer (an mmap or bytes), without copying it."""

    def __init__(self, data: Any) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self._pos : self._pos + len(buffer)]
        n = len(chunk)
        memoryview(buffer).cast("B")[:n] = chunk
        self._pos += n
        return n

    def close(self) -> None:
        self._view.release()
        super().close()


def _reader(data: Any) -> Any:
    return _View(data)


_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"ZF", "zlib"),  # old joblib zlib container: "ZF" + 16-byte length + zlib stream
    (b"\x04\x22\x4d\x18", "lz4"),
)


class CompressedScanner:
    """gzip, bz2, xz/lzma and zlib streams (compressed joblib files), decompressed with a cap."""

    name = "compressed"

    def detect(self, head: bytes, name: str) -> str | None:
        for magic, kind in _COMPRESSED:
            if head.startswith(magic):
                if kind == "zlib" and not name.endswith((".joblib", ".z", ".pkl")):
                    return None
                return kind
        if head[:1] == b"\x78" and head[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
            return "zlib"
        return None

    def scan(self, target: Target) -> list[Finding]:
        head = bytes(target.data[:64])
        kind = self.detect(head, target.name) or "unknown"
        if kind == "lz4":
            raise ScanFailed("lz4-compressed content is not supported")
        data = _decompress(kind, target.data, target.engine.limits.max_member_bytes)
        inner = target.name.rsplit(".", 1)[0] if "." in target.name else target.name
        child = Target(data, inner, target.engine, member=target.member, depth=target.depth + 1)
        if child.depth > target.engine.limits.max_depth:
            raise ScanFailed("compressed content nested too deep")
        _, findings = target.engine.scan_target(child)
        target.format = f"{kind}+{child.format}"
        return findings


def _decompress(kind: str, data: Any, cap: int) -> bytes:
    raw = memoryview(data)
    try:
        if kind == "zlib" and bytes(raw[:2]) == b"ZF":
            raw = raw[18:]
        if kind in ("gzip", "zlib"):
            wbits = 31 if kind == "gzip" else 15
            out = zlib.decompressobj(wbits).decompress(raw, cap + 1)
        elif kind == "bz2":
            out = bz2.BZ2Decompressor().decompress(raw, cap + 1)
        else:
            out = lzma.LZMADecompressor().decompress(raw, cap + 1)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
        raise ScanFailed(f"corrupt {kind} stream: {exc}") from None
    if len(out) > cap:
        raise ScanFailed(
            f"{kind} stream expands beyond the {cap}-byte limit (possible decompression bomb)"
        )
    return out
