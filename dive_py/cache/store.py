"""Provides the one on-disk cache: where it is, how big it may grow, and what it drops first.

One folder (``$DIVEPY_CACHE_DIR``, else ``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy``) holds three
stores, each named here only: layer scans (``layers-v<N>/``, :mod:`dive_py.cache.scans`), verified blobs by
digest (``blobs/``, :mod:`dive_py.cache.blobs`) and analysis figures (``figures-v<N>/``,
:mod:`dive_py.cache.figure_store`). :func:`prune_cache` keeps the scans and blobs within a size limit.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

from dive_py.errors import ConfigError
from dive_py.files import AtomicWriter, LinkRefused, open_below, open_private_folder
from dive_py.units import parse_bytes

CACHE_VERSION = 4
"""Bump whenever a scan's content or its encoding changes: old entries are then never read."""


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy`` (``$DIVEPY_CACHE_DIR`` overrides both)."""
    explicit = os.environ.get("DIVEPY_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "divepy")


def layers_dir(root: str | None = None) -> str:
    """The folder of layer scans of this format version."""
    return os.path.join(root or default_cache_dir(), f"layers-v{CACHE_VERSION}")


def blobs_dir(root: str | None = None) -> str:
    """The folder of verified blobs (``sha256/<hex>``)."""
    return os.path.join(root or default_cache_dir(), "blobs")


def figures_dir(root: str | None, version: int) -> str:
    """The folder of cached analysis figures of one figures version."""
    return os.path.join(root or default_cache_dir(), f"figures-v{version}")


CACHE_LIMIT_BYTES = 4 << 30
"""Default size of the layer cache (``$DIVEPY_CACHE_LIMIT``, e.g. ``500MB``, overrides it)."""

_VERSIONED = re.compile(r"layers-v\d+")


def cache_limit() -> int:
    """The layer cache's size limit in bytes: ``$DIVEPY_CACHE_LIMIT`` (a size such as ``2GB``) or the default."""
    text = os.environ.get("DIVEPY_CACHE_LIMIT", "").strip()
    if text:
        try:
            return max(parse_bytes(text), 0)
        except (ConfigError, ValueError):
            pass  # a bad value does not stop an analysis: the default applies
    return CACHE_LIMIT_BYTES


def prune_cache(root: str | None = None, limit: int | None = None) -> int:
    """Keeps the cache within ``limit`` bytes: drops the layer folders of other format versions and
    downloads that never finished, then the least recently used layer entries (their ``.where`` files
    with them) and registry blobs. Safe beside other runs: a reader that finds a file gone reads it as
    a miss. (Figures are a few kB an image: kept.)

    No link is followed: a link in the cache (planted at ``blobs``, say) is skipped, with a warning,
    and what it points to is never looked at, let alone deleted.

    Returns:
        Bytes freed.
    """
    root = root or default_cache_dir()
    limit = cache_limit() if limit is None else limit
    freed = 0
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        if _VERSIONED.fullmatch(name) and name != f"layers-v{CACHE_VERSION}":
            freed += _remove_tree(root, name)  # written by another version of divepy: never read
    entries = []  # (last use, size, folder below root, name)
    stale = time.time_ns() - 3600 * 10**9
    for top in (os.path.basename(layers_dir(root)), os.path.basename(blobs_dir(root))):
        for folder, name, st, dir_fd in _files_below(root, top):
            if name.startswith((".part-", ".tmp-")):
                if st.st_mtime_ns < stale:  # left by a run that was killed
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dir_fd)
                        freed += st.st_size
            elif not name.endswith(".where"):
                entries.append((st.st_mtime_ns, st.st_size, folder, name))
    total = sum(entry[1] for entry in entries)
    for _when, size, folder, name in sorted(entries):
        if total <= limit:
            break
        victims = [name, name[: -len(".scan")] + ".where"] if name.endswith(".scan") else [name]
        _unlink_below(root, folder, victims)
        total -= size
        freed += size
    return freed


def warn_link(path: str) -> None:
    """Says once per run (not from worker processes) that a link in the cache is not followed."""
    if path in _WARNED or multiprocessing.parent_process() is not None:
        return
    _WARNED.add(path)
    # repr: a name planted in the cache folder is hostile text too (control characters shown escaped).
    message = f"divepy: warning: cache: {path!r} is a link or not what the cache writes: skipped, not followed"
    print(message, file=sys.stderr)


_WARNED: set[str] = set()


@contextlib.contextmanager
def layer_lock(root: str | None, digest: str) -> Iterator[bool]:
    """Holds a lock on one layer while it is read and scanned, so that concurrent runs of one cache
    (``divepy audit``'s workers) read a layer shared by their images once.

    The lock is ``layers-v<N>/.tmp-lock-<hex>`` (``flock``: released by the kernel if the process dies),
    removed by its holder when done; a run that locked a file removed meanwhile locks the new one instead.
    Pruning takes a ``.tmp-`` file for a leftover only after an hour.

    Yields:
        Whether another run held it first (then the cache likely has the layer now: look again).
        Without a lock (a folder that cannot be made, a link planted there) False: at worst a layer is read twice.
    """
    name = ".tmp-lock-" + digest.partition(":")[2]
    try:
        folder = open_private_folder(root or default_cache_dir(), os.path.basename(layers_dir(root)))
    except OSError:
        yield False
        return
    fd, waited = -1, False
    try:
        fd, waited = _lock_file(folder, name)
    except OSError:
        fd = -1
    try:
        yield waited
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=folder)  # before the unlock: a waiter then sees its file is gone
            os.close(fd)
        os.close(folder)


def _lock_file(folder: int, name: str) -> tuple[int, bool]:
    """Opens and locks ``name`` in ``folder``: (descriptor, whether it had to wait)."""
    waited = False
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fcntl.flock(fd, fcntl.LOCK_EX)  # another run is reading this layer: wait for it
                waited = True
            held = os.fstat(fd)
            now = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                return fd, waited
        except FileNotFoundError:
            pass  # the holder removed it as it finished: lock the next one
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def cache_write(root: str | None, path: str, data: bytes) -> bool:
    """Writes a cache file atomically, following no link below the cache folder; False when it cannot."""
    try:
        writer = AtomicWriter(path, root=root or default_cache_dir())
    except LinkRefused as exc:
        warn_link(str(exc.filename))
        return False
    except OSError:
        return False
    writer.write(data)
    return writer.commit()


def cache_open(root: str | None, path: str) -> BinaryIO:
    """Opens a cache file for reading, following no link below the cache folder (one met is warned about).

    Raises:
        OSError: missing, not a regular file, or behind a link.
    """
    try:
        return open_below(root or default_cache_dir(), path)
    except LinkRefused as exc:
        warn_link(str(exc.filename))
        raise


def _files_below(root: str, top: str) -> Iterator[tuple[str, str, os.stat_result, int]]:
    """(folder below root, name, lstat, folder descriptor) of the files under ``root/top``; links skipped."""
    path = os.path.join(root, top)
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        warn_link(path)
        return
    for folder, dirs, files, dir_fd in os.fwalk(path):  # never follows a link, checks what it opens
        for name in dirs:
            if _lstat_mode(name, dir_fd) != stat.S_IFDIR:
                warn_link(os.path.join(folder, name))  # listed, never entered
        for name in files:
            with contextlib.suppress(OSError):
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    yield os.path.relpath(folder, root), name, st, dir_fd
                else:
                    warn_link(os.path.join(folder, name))


def _lstat_mode(name: str, dir_fd: int) -> int:
    try:
        return stat.S_IFMT(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return 0


def _unlink_below(root: str, folder: str, names: list[str]) -> None:
    """Removes files of ``root/folder``, reached without following links (the folder may have changed)."""
    try:
        dir_fd = open_private_folder(root, folder, create=False)
    except OSError:
        return
    try:
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _remove_tree(root: str, top: str) -> int:
    freed = 0
    path = os.path.join(root, top)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            warn_link(path)
            return 0
    except OSError:
        return 0
    for _folder, dirs, files, dir_fd in os.fwalk(path, topdown=False):
        for name in files:
            with contextlib.suppress(OSError):
                size = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_size
                os.unlink(name, dir_fd=dir_fd)  # a link in there goes, what it names stays
                freed += size
        for name in dirs:
            with contextlib.suppress(OSError):
                if _lstat_mode(name, dir_fd) == stat.S_IFDIR:
                    os.rmdir(name, dir_fd=dir_fd)
                else:
                    os.unlink(name, dir_fd=dir_fd)  # a link: it goes, the folder it names stays
    with contextlib.suppress(OSError):
        os.rmdir(path)
    return freed
