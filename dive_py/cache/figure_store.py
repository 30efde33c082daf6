"""Provides the figures store of the cache: one small checksummed JSON record an image, by key.

The analysis decides what a key is and what a record holds (:mod:`dive_py.analysis.figures_record`); this
module only keeps records safe: written atomically, read back only when their checksum holds.
"""

from __future__ import annotations

import json
import os
from typing import Any

import xxhash

from dive_py.cache.remote import remote_store
from dive_py.cache.store import cache_open, cache_write, default_cache_dir, figures_dir


class FigureStore:
    """Records by key under ``figures-v<version>/``; every failure reads as a miss.

    Args:
        root: the cache folder (default: the user's).
        version: the figures format version (older versions' records are never read).
    """

    def __init__(self, root: str | None, version: int) -> None:
        self.root = root or default_cache_dir()
        self.folder = figures_dir(self.root, version)

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".json")

    def put(self, key: str, record: dict[str, Any]) -> bool:
        """Stores a record; False when it could not (a read-only cache costs nothing but speed)."""
        body = json.dumps(record, separators=(",", ":")).encode("utf-8", "surrogatepass")
        data = body + b"\n" + xxhash.xxh3_64_hexdigest(body).encode("ascii")
        remote = remote_store()
        if remote is not None:
            remote.put_bytes(self._shared_name(key), data)
        return cache_write(self.root, self._path(key), data)

    def _shared_name(self, key: str) -> str:
        return os.path.relpath(self._path(key), self.root)

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or None when missing, corrupt or unreadable."""
        data: bytes | None
        try:
            with cache_open(self.root, self._path(key)) as f:
                data = f.read()
        except OSError:
            remote = remote_store()
            data = remote.get_bytes(self._shared_name(key)) if remote is not None else None
            if data is None:
                return None
            cache_write(self.root, self._path(key), data)
        try:
            body, _, check = data.rpartition(b"\n")
            if xxhash.xxh3_64_hexdigest(body).encode("ascii") != check:
                return None
            record = json.loads(body.decode("utf-8", "surrogatepass"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) else None
