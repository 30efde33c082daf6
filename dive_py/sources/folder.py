"""Provides :class:`FolderImage`: an unpacked image folder (an OCI layout, or an extracted ``docker save``)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable

from dive_py.errors import ImageFormatError
from dive_py.sources.base import SMALL_FILE_LIMIT, ImageFiles, region_reader


class FolderImage(ImageFiles):
    """An unpacked image folder (an OCI layout, or an extracted ``docker save``)."""

    def __init__(self, path: str) -> None:
        self.what = path
        self._root = os.path.realpath(path)

    def _local(self, name: str) -> str | None:
        """The file's path on disk, refusing names that leave the folder."""
        clean = posixpath.normpath(name)
        if clean.startswith("..") or clean.startswith("/"):
            return None
        full = os.path.realpath(os.path.join(self._root, clean))
        if full != self._root and not full.startswith(self._root + os.sep):
            return None  # a symlink out of the image folder: never follow it
        return full

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        found = set()
        for dirpath, _dirs, files in os.walk(self._root):
            rel = os.path.relpath(dirpath, self._root)
            for file in files:
                found.add(posixpath.normpath(posixpath.join(rel, file)) if rel != "." else file)
        return found

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        local = self._local(name)
        if local is None or not os.path.isfile(local):
            return None
        return name

    def _file(self, name: str) -> str:
        local = self._local(name)
        if local is None or not os.path.isfile(local):
            raise self._missing(name)
        return local

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        return os.stat(self._file(name)).st_size

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        """See :meth:`dive_py.sources.base.ImageFiles.blob_location`."""
        local = self._file(name)
        return local, 0, os.stat(local).st_size

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """See :meth:`dive_py.sources.base.ImageFiles.open_blob`."""
        local = self._file(name)
        return region_reader(local, 0, os.stat(local).st_size, f"{self.what}: {name!r} shrank while it was read")

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        local = self._file(name)
        if os.stat(local).st_size > SMALL_FILE_LIMIT:
            raise ImageFormatError(f"{self.what}: {name!r} is too large for a JSON file")
        with open(local, "rb") as f:
            return f.read()
