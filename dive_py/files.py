"""Provides divepy's file writes: atomic ones (a temporary file beside the target, renamed over it when
complete) for files, and writes in place for everything that is not a file.

A reader (another divepy run, a CI step, a text editor) sees the old file or the new one, never a part;
an interrupted or failed write leaves the old file as it was and no temporary file behind.

Only a regular file, or a path where nothing is yet, is replaced that way (:func:`write_text_atomic`):
a device, a FIFO, a socket or a descriptor (``/dev/stdout``, ``/dev/fd/N``, bash's ``>(…)``) is written
into, as ``>`` would, and a link is followed, its target replaced in the target's folder: ``--json
/dev/null`` never turns ``/dev/null`` into a file, even as root. The cache's writes (``root=``) follow no
link below the cache folder (folders made 0o700), so a link planted there never sends a write elsewhere.

No ``fsync``: reports are written again by the next run, cache entries are checked when read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

from dive_py.errors import DivepyError

STDOUT = "-"
"""The path that means standard output, for the report flags (``--json -``)."""

PRIVATE_FOLDER_MODE = 0o700
"""Cache folders are the user's alone."""

# O_PATH: a folder that can be written but not listed still takes the temporary file.
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_MAX_LINKS = 40  # as the kernel's own limit on links followed in one lookup
_OWN_FD = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd/(\d+)")


class LinkRefused(OSError):
    """A folder of the cache is a symbolic link (or not a folder): nothing is written or pruned through it."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.ELOOP, "a symbolic link, not followed", path)


class AtomicWriter:
    """One file written in chunks to a temporary file beside it; :meth:`commit` renames it over the target.

    Writing errors do not raise: the first one is kept in :attr:`error` and makes :meth:`commit` refuse,
    so a caller streaming a blob into a cache loses the cache entry, not the work it is doing.
    Used as a context manager, a writer not committed by the end of the block is discarded.
    The folder is held open from the start, so the rename lands where the temporary file is, whatever
    becomes of the folder's path meanwhile.
    """

    def __init__(
        self,
        target: str,
        *,
        prefix: str = ".tmp-",
        suffix: str = "",
        make_folder: bool = True,
        like_open: bool = False,
        root: str | None = None,
    ) -> None:
        """Creates the temporary file.

        Args:
            target: the file to write (replaced as it is: a link there is replaced, not followed; see
                :func:`write_text_atomic` for reports, which follow it).
            prefix: the temporary file's name starts so (cache pruning tells such leftovers by it).
            suffix: and ends so.
            make_folder: create the target's folder when missing (caches); reports want an error instead.
            like_open: give the file the permissions ``open()`` would: the replaced file's, or 0o666 less the
                umask. Otherwise it keeps the temporary file's 0o600 (private cache files).
            root: the cache folder the target is in: no folder below it is followed if it is a link
                (:class:`LinkRefused`), and the missing ones are created 0o700.

        Raises:
            OSError: the folder or the temporary file cannot be created (:class:`LinkRefused`: a link).
        """
        self.target = target
        self.like_open = like_open
        self.error: OSError | None = None
        self.done = False
        folder = os.path.dirname(os.path.abspath(target))
        if root is not None:
            self._folder_fd = open_private_folder(root, os.path.relpath(folder, os.path.abspath(root)), make_folder)
        else:
            if make_folder:
                os.makedirs(folder, exist_ok=True)
            self._folder_fd = os.open(folder, _DIR_FLAGS)
        try:
            self._temp_name, fd = _new_temp(self._folder_fd, prefix, suffix)
        except OSError:
            os.close(self._folder_fd)
            raise
        self.temp = os.path.join(folder, self._temp_name)
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
        name = os.path.basename(self.target)
        try:
            if self.error is None and self.like_open:
                _give_open_mode(self._file.fileno(), name, self._folder_fd)
            self._file.close()
            if self.error is None:
                os.replace(self._temp_name, name, src_dir_fd=self._folder_fd, dst_dir_fd=self._folder_fd)
                self.done = True
                os.close(self._folder_fd)
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
            os.unlink(self._temp_name, dir_fd=self._folder_fd)
        os.close(self._folder_fd)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.discard()


def open_private_folder(root: str, relative: str, create: bool = True) -> int:
    """A descriptor of ``root/relative``, reached without following any link below ``root``.

    ``root`` itself may be a link (the user chose it); each folder below is opened with ``O_NOFOLLOW``,
    and made 0o700 when missing and ``create``.

    Raises:
        LinkRefused: a folder on the way is a link or not a folder.
        OSError: a folder is missing (without ``create``) or cannot be made or opened.
    """
    parts = [] if relative in ("", ".") else relative.split(os.sep)
    if ".." in parts:  # never, as callers build paths from the root; an OSError all the same, as callers expect
        raise OSError(errno.EXDEV, "not below the cache folder", relative)
    if create:
        os.makedirs(root, mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    fd = os.open(root, _DIR_FLAGS)
    for at, part in enumerate(parts):
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, PRIVATE_FOLDER_MODE, dir_fd=fd)
            inner = _open_folder_below(fd, part, os.path.join(root, *parts[: at + 1]))
        finally:
            os.close(fd)
        fd = inner
    return fd


def open_below(root: str, path: str) -> BinaryIO:
    """Opens the regular file ``path`` (below ``root``) for reading without following any link below ``root``.

    A link, a FIFO or a device planted in the cache is never read (``/dev/zero`` would never end).

    Raises:
        OSError: missing, not a regular file, or reached through a link (:class:`LinkRefused`).
    """
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    folder_fd = open_private_folder(root, os.path.dirname(relative), create=False)
    try:
        fd = os.open(os.path.basename(relative), _READ_FLAGS, dir_fd=folder_fd)
    finally:
        os.close(folder_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return os.fdopen(fd, "rb")


def _open_folder_below(fd: int, name: str, path: str) -> int:
    # A link with O_DIRECTORY | O_NOFOLLOW fails with ENOTDIR (ELOOP without O_DIRECTORY).
    try:
        return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            raise LinkRefused(path) from None
        raise


def _new_temp(folder_fd: int, prefix: str, suffix: str) -> tuple[str, int]:
    """A new file, 0o600, under a random name in the folder (as ``tempfile.mkstemp``, relative to a descriptor)."""
    for _attempt in range(100):
        name = f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return name, os.open(name, _NEW_FLAGS, 0o600, dir_fd=folder_fd)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name")


def write_atomically(path: str, data: bytes, *, prefix: str = ".tmp-", root: str | None = None) -> bool:
    """Writes a whole file atomically, creating its folder; False on any failure (for caches, which go on without).

    ``prefix`` names the temporary file; ``root`` is the cache folder, as for :class:`AtomicWriter`.
    """
    try:
        writer = AtomicWriter(path, prefix=prefix, root=root)
    except OSError:
        return False
    writer.write(data)
    return writer.commit()


@dataclass(frozen=True)
class Output:
    """Where a report goes and how (:func:`output_for`)."""

    how: str
    """``stdout``, ``fd`` (ours), ``in place`` (a device, FIFO, socket), ``replace`` (a file or nothing yet)."""
    path: str
    """The path to write (a link's final target, for ``replace``)."""
    fd: int = -1


def output_for(path: str) -> Output:
    """How ``path`` is written: links are followed one at a time to what they name.

    Raises:
        DivepyError: a folder, or a link that goes round.
    """
    if path == STDOUT:
        return Output("stdout", path)
    current = os.path.abspath(path)
    for _hop in range(_MAX_LINKS):
        # Folders resolved as the kernel would; the last part looked at without following it.
        current = os.path.join(os.path.realpath(os.path.dirname(current)), os.path.basename(current))
        own = _OWN_FD.fullmatch(current)
        if own and int(own[1]) == os.getpid():  # /dev/stdout, /dev/fd/N, /proc/self/fd/N, bash's >(…)
            return Output("fd", current, int(own[2]))
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return Output("replace", current)
        except OSError as exc:
            raise DivepyError(f"{path}: cannot write ({exc.strerror})") from None
        if stat.S_ISLNK(st.st_mode) and not current.startswith("/proc/"):
            current = os.path.join(os.path.dirname(current), os.readlink(current))
            continue
        if stat.S_ISDIR(st.st_mode):
            raise DivepyError(f"{path}: cannot write (a folder: name a file)")
        return Output("replace" if stat.S_ISREG(st.st_mode) else "in place", current)
    raise DivepyError(f"{path}: cannot write (too many levels of symbolic links)")


def replaces_file(path: str) -> bool:
    """Whether writing ``path`` replaces a file (so appending to it means reading it first)."""
    try:
        return output_for(path).how == "replace"
    except DivepyError:
        return False


def is_stdout(path: str) -> bool:
    """Whether ``path`` is standard output (``-``, ``/dev/stdout``, ``/dev/fd/1``): text reports then go to stderr."""
    try:
        target = output_for(path)
    except DivepyError:
        return False
    return target.how == "stdout" or target.fd == 1


def write_text_atomic(path: str, text: str) -> None:
    """Writes a report (``--json``, ``--junit``, ``--markdown``, and the formats to come) in UTF-8.

    A file is replaced whole or not at all (dive leaves stale bytes when the file existed), keeping its
    permissions (a new one gets those ``open()`` would give it); the folder must exist. A link is followed
    and its target replaced. ``-`` is standard output; a descriptor, a device, a FIFO or a socket is
    written into. A file in a folder where no temporary file can be made, but which can itself be
    written, is written in place.

    Raises:
        DivepyError: the path is a folder, or cannot be written (one line: the CLI exits 2).
    """
    target = output_for(path)
    if target.how == "stdout":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    data = text.encode("utf-8")
    try:
        if target.how == "replace":
            _replace(target.path, data)
        elif target.how == "fd":
            _write_descriptor(target.fd, data)
        else:
            _write_in_place(target.path, data)
    except OSError as exc:
        raise DivepyError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _replace(path: str, data: bytes) -> None:
    try:
        writer = AtomicWriter(path, prefix=".divepy-", suffix=".tmp", make_folder=False, like_open=True)
    except PermissionError:
        if not (os.path.isfile(path) and os.access(path, os.W_OK)):
            raise
        _write_in_place(path, data)  # the folder is not ours, the file is: as `>` would
        return
    writer.write(data)
    if not writer.commit():
        raise writer.error or OSError(errno.EIO, "cannot write")


def _write_descriptor(fd: int, data: bytes) -> None:
    """Writes through a copy of the descriptor, at its offset, in its mode (append stays append)."""
    for stream in (sys.stdout, sys.stderr):  # what divepy printed before comes first
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    copy = os.dup(fd)
    try:
        with os.fdopen(copy, "wb", closefd=False) as f:
            f.write(data)
    finally:
        os.close(copy)


def _write_in_place(path: str, data: bytes) -> None:
    """Opens what is there (a FIFO waits for its reader) and writes into it; a socket is connected to."""
    if stat.S_ISSOCK(os.stat(path).st_mode):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
            peer.connect(path)
            peer.sendall(data)
        return
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)  # a file reached in place: its old bytes go, as with `>`
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
    finally:
        os.close(fd)


def _give_open_mode(fd: int, name: str, folder_fd: int) -> None:
    """The permissions (and, as root, the owner) ``open(path, "w")`` would leave: the replaced file's, else
    0o666 less the umask.

    Raises:
        OSError: the existing file cannot be examined.
    """
    try:
        st = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):  # nothing there (or a link put there since): a new file
        os.fchmod(fd, 0o666 & ~_umask())
        return
    if os.geteuid() == 0:
        os.fchown(fd, st.st_uid, st.st_gid)  # root rewriting a user's report leaves it the user's
    os.fchmod(fd, st.st_mode & 0o777)


def _umask() -> int:
    # The only way to read the umask is to set it; it is put back at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask
