"""The blob store: encrypted objects as files, written atomically.

``blobs/<id[:2]>/<id>.bstm`` holds one encrypted object. A writer streams into
``blobs/tmp/`` and publishes with fsync + rename + folder fsync, so a crash leaves
either nothing or a complete file, never a partial one under a final name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from io import FileIO
from pathlib import Path

from bastion.errors import EncryptedObjectError

SUFFIX = ".bstm"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Encrypted files under one root folder (mode 0700, files 0600)."""

    def __init__(self, root: Path):
        self.root = root

    def path_for(self, object_id: str) -> Path:
        """Final location of an object's blob."""
        return self.root / object_id[:2] / f"{object_id}{SUFFIX}"

    @contextmanager
    def writer(self, object_id: str) -> Iterator[FileIO]:
        """Stream a new blob; it appears under its final name only if the block succeeds."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = tmp_dir / f"{object_id}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as handle:
                yield handle
                os.fsync(handle.fileno())
            final = self.path_for(object_id)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @contextmanager
    def reader(self, object_id: str) -> Iterator[tuple[FileIO, int]]:
        """Open a blob for reading; yields the handle and the stored size."""
        try:
            handle = open(self.path_for(object_id), "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            raise EncryptedObjectError(
                "the encrypted object is missing from the blob store",
                code="vault.blob_missing",
                hint="Restore the blob folder from a backup.",
            ) from None
        with handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise EncryptedObjectError("blob is not a regular file", code="vault.corrupt")
            yield handle, info.st_size

    def delete(self, object_id: str) -> None:
        """Remove a blob (its data key is already shredded, so this is housekeeping)."""
        path = self.path_for(object_id)
        if path.exists():
            path.unlink()
            _fsync_dir(path.parent)

    def candidates(self, cutoff: float) -> Iterator[tuple[str, Path]]:
        """Every blob and leftover ``.part`` file last modified before ``cutoff``.

        Yields ``(object id, path)``. The age limit keeps files that a running ``add``
        is still writing, or has published but not yet committed, out of reach.
        """
        for path in sorted(self.root.glob(f"*/*{SUFFIX}")) + sorted(
            (self.root / "tmp").glob("*.part")
        ):
            try:
                if path.stat().st_mtime < cutoff:
                    yield path.name.split(".", 1)[0], path
            except FileNotFoundError:
                continue
