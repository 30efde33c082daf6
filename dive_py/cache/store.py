"""Provides the one on-disk cache: where it is, how big it may grow, and what it drops first.

One folder (``$DIVEPY_CACHE_DIR``, else ``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy``) holds three
stores, each named here only: layer scans (``layers-v<N>/``, :mod:`dive_py.cache.scans`), verified blobs by
digest (``blobs/``, :mod:`dive_py.cache.blobs`) and analysis figures (``figures-v<N>/``,
:mod:`dive_py.cache.figures`). :func:`prune_cache` keeps the scans and blobs within a size limit.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

from dive_py.errors import ConfigError
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
            freed += _remove_tree(os.path.join(root, name))  # written by another version of divepy: never read
    entries = []  # (last use, size, path)
    stale = time.time_ns() - 3600 * 10**9
    for top in (layers_dir(root), blobs_dir(root)):
        for folder, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    st = os.stat(path)
                    if name.startswith((".part-", ".tmp-")):
                        if st.st_mtime_ns < stale:  # left by a run that was killed
                            os.unlink(path)
                            freed += st.st_size
                    elif not name.endswith(".where"):
                        entries.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _when, size, _path in entries)
    for _when, size, path in sorted(entries):
        if total <= limit:
            break
        victims = [path, path[: -len(".scan")] + ".where"] if path.endswith(".scan") else [path]
        for victim in victims:
            with contextlib.suppress(OSError):
                os.unlink(victim)
        total -= size
        freed += size
    return freed


def _remove_tree(path: str) -> int:
    freed = 0
    for folder, _dirs, files in os.walk(path, topdown=False):
        for name in files:
            with contextlib.suppress(OSError):
                full = os.path.join(folder, name)
                size = os.lstat(full).st_size
                os.unlink(full)
                freed += size
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    return freed
