"""Provides the blob store of the cache: blobs by digest, each entered only once its digest checked out.

Registry layers, configs and manifests fetched by digest are kept here, and so are the layer blobs of
images read once from a stream (stdin, an engine's export), so that their files can be read afterwards
(the explorer's file view, ``divepy cat`` and ``extract``). A blob is written to a temp file beside its
final place and renamed there (``os.replace``) only when whole and verified: concurrent runs never
read half a blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any

from dive_py.cache.store import blobs_dir
from dive_py.errors import ImageFormatError

SMALL_BLOB_LIMIT = 4 << 20
"""Largest manifest or config read back whole (the distribution spec suggests 4 MiB for manifests)."""


class BlobCache:
    """Verified blobs by digest on disk; safe for concurrent runs (temp file + ``os.replace``)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        """The cache folder (default: the user's); blobs go under its ``blobs/``."""
        self.folder = blobs_dir(root)

    def path(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if not re.fullmatch(r"[0-9a-f]{64}", hexpart) or algorithm != "sha256":
            raise ImageFormatError(f"unsupported digest {digest[:80]!r} (divepy checks sha256 only)")
        return os.path.join(self.folder, algorithm, hexpart)

    def open(self, digest: str, size: int | None = None):  # noqa: ANN201 - BinaryIO | None
        """The cached blob, or None (a file of the wrong size is treated as missing)."""
        path = self.path(digest)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError:
            return None
        if size is not None and size >= 0 and os.fstat(f.fileno()).st_size != size:
            f.close()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last (cache.prune_cache)
        return f

    def writer(self, digest: str | None) -> BlobWriter | None:
        """A temp file beside the final one, or None when the cache folder cannot be written.

        Args:
            digest: the blob's digest, or None when it is known only once the blob has passed
                (then :meth:`BlobWriter.commit_as` names it).
        """
        final = self.path(digest) if digest is not None else None
        folder = os.path.dirname(final) if final else os.path.join(self.folder, "sha256")
        try:
            os.makedirs(folder, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".part-", dir=folder)
        except OSError:
            return None
        return BlobWriter(os.fdopen(fd, "wb"), temp, final, self)

    def has(self, digest: str) -> bool:
        """Whether the blob is in the store."""
        return os.path.isfile(self.path(digest))

    def read_small(self, digest: str) -> bytes | None:
        f = self.open(digest)
        if f is None:
            return None
        with f:
            data = f.read(SMALL_BLOB_LIMIT + 1)
        if len(data) > SMALL_BLOB_LIMIT or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None
        return data

    def store_small(self, digest: str, data: bytes) -> None:
        writer = self.writer(digest)
        if writer is not None:
            writer.write(data)
            writer.commit()


@dataclass
class BlobWriter:
    """A blob being written: chunks go to a temp file, which enters the store on :meth:`commit`."""

    file: Any
    temp: str
    final: str | None
    store: BlobCache
    failed: bool = False

    def write(self, data: bytes) -> None:
        if self.failed:
            return
        try:
            self.file.write(data)
        except OSError:
            self.failed = True  # a full disk costs the cache, not the analysis

    def commit(self) -> None:
        """Enters the blob under the digest it was opened with (the caller has verified it)."""
        if self.final is None:
            raise ValueError("a blob opened without its digest is committed with commit_as")
        self._enter(self.final)

    def commit_as(self, digest: str) -> None:
        """Enters the blob under ``digest``, the sha256 the caller computed of the bytes written."""
        try:
            final = self.store.path(digest)
        except ImageFormatError:
            self.discard()
            return
        self._enter(final)

    def _enter(self, final: str) -> None:
        try:
            self.file.close()
            if not self.failed:
                os.replace(self.temp, final)
                return
        except OSError:
            pass
        self.discard()

    def discard(self) -> None:
        """Drops the temp file (a failed download or a blob that did not verify)."""
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


