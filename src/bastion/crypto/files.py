"""Atomic, private file writes: temp file, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 so a crash leaves old or new, never half."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
