"""Provides atomic file writes: a temporary file in the target's folder, renamed over the target when complete.

A reader (another divepy run, a CI step, a text editor) sees the old file or the new one, never a part;
an interrupted or failed write leaves the old file as it was and no temporary file behind.

There is no ``fsync``: none of divepy's files has needed to survive a power cut (reports are written again
by the next run; cache entries are checked when read), and a flush per file would cost cache writes time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from types import TracebackType

from dive_py.errors import DivepyError

STDOUT = "-"
"""The path that means standard output, for the report flags (``--json -``)."""


class AtomicWriter:
    """One file written in chunks to a temporary file beside it; :meth:`commit` renames it over the target.

    Writing errors do not raise: the first one is kept in :attr:`error` and makes :meth:`commit` refuse,
    so a caller streaming a blob into a cache loses the cache entry, not the work it is doing.
    Used as a context manager, a writer not committed by the end of the block is discarded.
    """

    def __init__(
        self,
        target: str,
        *,
        prefix: str = ".tmp-",
        suffix: str = "",
        make_folder: bool = True,
        like_open: bool = False,
    ) -> None:
        """Creates the temporary file.

        Args:
            target: the file to write.
            prefix: the temporary file's name starts so (cache pruning tells such leftovers by it).
            suffix: and ends so.
            make_folder: create the target's folder when missing (caches); reports want an error instead.
            like_open: give the file the permissions ``open()`` would: the replaced file's, or 0o666 less the
                umask. Otherwise it keeps the temporary file's 0o600 (private cache files).

        Raises:
            OSError: the folder or the temporary file cannot be created.
        """
        self.target = target
        self.like_open = like_open
        self.error: OSError | None = None
        self.done = False
        folder = os.path.dirname(os.path.abspath(target))
        if make_folder:
            os.makedirs(folder, exist_ok=True)
        fd, self.temp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> bool:
        """Appends ``data``; False (and nothing written from then on) once a write has failed."""
        if self.error is not None or self.done:
            return False
        try:
            self._file.write(data)
        except OSError as exc:
            self.error = exc  # a full disk costs this file, not the caller's work
            return False
        return True

    def commit(self, target: str | None = None) -> bool:
        """Puts the file in place; False, with the temporary file removed and :attr:`error` set, if it cannot.

        Args:
            target: where to put it instead of the target given at the start, in the same folder (a blob's
                name is its digest, known only once it has been written).
        """
        if self.done:
            return False
        if target is not None:
            self.target = target
        try:
            self._file.close()
            if self.error is None:
                if self.like_open:
                    os.chmod(self.temp, _open_mode(self.target))
                os.replace(self.temp, self.target)
                self.done = True
                return True
        except OSError as exc:
            self.error = self.error or exc
        self.discard()
        return False

    def discard(self) -> None:
        """Drops the temporary file; the target stays as it was. Does nothing after a commit."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.discard()


def write_atomically(path: str, data: bytes, *, prefix: str = ".tmp-") -> bool:
    """Writes a whole file atomically, creating its folder; False on any failure (for caches, which go on without).

    Args:
        path: the file to write.
        data: its bytes.
        prefix: the temporary file's name prefix.
    """
    try:
        writer = AtomicWriter(path, prefix=prefix)
    except OSError:
        return False
    writer.write(data)
    return writer.commit()


def write_text_atomic(path: str, text: str) -> None:
    """Writes a report file whole or not at all (dive leaves stale bytes when the file existed), in UTF-8.

    ``-`` writes to standard output. The file gets the permissions ``open()`` would give it, and the folder
    must exist.

    Raises:
        DivepyError: the folder does not exist or the file cannot be written.
    """
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    data = text.encode("utf-8")
    try:
        writer = AtomicWriter(path, prefix=".divepy-", suffix=".tmp", make_folder=False, like_open=True)
    except OSError as exc:
        raise DivepyError(f"{path}: cannot write ({exc.strerror})") from None
    writer.write(data)
    if not writer.commit():
        strerror = writer.error.strerror if writer.error is not None else None
        raise DivepyError(f"{path}: cannot write ({strerror})") from None


def _open_mode(path: str) -> int:
    """The permissions ``open(path, "w")`` leaves: the existing file's, else 0o666 less the umask.

    Raises:
        OSError: the existing file cannot be examined.
    """
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o777
    return 0o666 & ~_umask()


def _umask() -> int:
    # The only way to read the umask is to set it; it is put back at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask
