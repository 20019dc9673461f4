"""Plaintext output files that appear whole or not at all.

``data get`` decrypts into an *unnamed* file in the destination folder (Linux
``O_TMPFILE``) and gives it its name only after every chunk and the digest verified, so
a crash, a kill or a power loss part-way leaves no plaintext behind under any name.
Where the filesystem cannot make unnamed files, a hidden 0600 ``.NAME.<random>.part``
is used instead and removed on any error.
"""

from __future__ import annotations

import errno
import os
import secrets
from io import FileIO
from pathlib import Path
from types import TracebackType

from bastion.errors import Conflict, InvalidInput

_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


class PendingFile:
    """Write, then :meth:`publish`; leaving the block without publishing discards it."""

    def __init__(self, target: Path, *, overwrite: bool):
        self.target = target
        self.overwrite = overwrite
        self._named: Path | None = None
        self._handle: FileIO | None = None

    def __enter__(self) -> FileIO:
        folder = self.target.parent
        tmpfile = getattr(os, "O_TMPFILE", 0)
        fd = -1
        if tmpfile:
            try:
                fd = os.open(folder, tmpfile | os.O_WRONLY | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                if exc.errno not in _NO_TMPFILE:
                    raise self._unwritable(exc) from None
        if fd < 0:
            self._named = folder / f".{self.target.name}.{secrets.token_hex(6)}.part"
            try:
                fd = os.open(
                    self._named, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
                )
            except OSError as exc:
                self._named = None
                raise self._unwritable(exc) from None
        self._handle = FileIO(fd, "wb", closefd=True)
        return self._handle

    def _unwritable(self, exc: OSError) -> InvalidInput:
        return InvalidInput(
            f"cannot write into {self.target.parent}: {exc.strerror}", code="vault.unwritable"
        )

    def publish(self) -> None:
        """fsync, then give the file its name (never replacing one unless ``overwrite``)."""
        assert self._handle is not None
        os.fsync(self._handle.fileno())
        if self.overwrite:
            staged = self.target.with_name(f".{self.target.name}.{secrets.token_hex(6)}.new")
            self._link(staged)
            os.replace(staged, self.target)
        else:
            # link() refuses an existing name: a file that appeared at the target since
            # the caller checked is never clobbered.
            try:
                self._link(self.target)
            except FileExistsError:
                raise Conflict(
                    f"{self.target} already exists", code="vault.output_exists"
                ) from None
        if self._named is not None:
            self._named.unlink()
            self._named = None
        dir_fd = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _link(self, name: Path) -> None:
        assert self._handle is not None
        if self._named is not None:
            os.link(self._named, name)
            return
        # An unnamed file gets its name through /proc/self/fd with linkat(AT_SYMLINK_FOLLOW);
        # CPython only uses linkat (and so honours follow_symlinks) when a dir_fd is given.
        proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.link(str(self._handle.fileno()), name, src_dir_fd=proc, follow_symlinks=True)
        finally:
            os.close(proc)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._named is not None:
            self._named.unlink(missing_ok=True)
