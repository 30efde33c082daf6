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
import stat
from typing import BinaryIO

from dive_py.cache.remote import remote_store
from dive_py.cache.store import blobs_dir, cache_open, default_cache_dir, warn_link
from dive_py.errors import ImageFormatError
from dive_py.files import AtomicWriter, LinkRefused

SMALL_BLOB_LIMIT = 4 << 20
"""Largest manifest or config read back whole (the distribution spec suggests 4 MiB for manifests)."""


class BlobCache:
    """Verified blobs by digest on disk; safe for concurrent runs (temp file + ``os.replace``)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        """The cache folder (default: the user's); blobs go under its ``blobs/``."""
        self.cache_root = root or default_cache_dir()
        self.folder = blobs_dir(self.cache_root)

    def path(self, digest: str) -> str:
        """Where the blob of ``digest`` lives (sha256 digests only)."""
        algorithm, _, hexpart = digest.partition(":")
        if not re.fullmatch(r"[0-9a-f]{64}", hexpart) or algorithm != "sha256":
            raise ImageFormatError(f"unsupported digest {digest[:80]!r} (divepy checks sha256 only)")
        return os.path.join(self.folder, algorithm, hexpart)

    def open(self, digest: str, size: int | None = None) -> BinaryIO | None:
        """The cached blob, or None (a file of the wrong size is treated as missing)."""
        f: BinaryIO | None
        try:
            f = cache_open(self.cache_root, self.path(digest))
        except OSError:
            f = self._from_shared(digest)
            if f is None:
                return None
        if size is not None and size >= 0 and os.fstat(f.fileno()).st_size != size:
            f.close()
            return None
        with contextlib.suppress(OSError):
            os.utime(f.fileno())  # recently used: pruned last (cache.prune_cache)
        return f

    def _from_shared(self, digest: str) -> BinaryIO | None:
        """The blob fetched from the shared cache into this one (checked against its digest), opened."""
        remote = remote_store()
        if remote is None:
            return None
        path = self.path(digest)
        try:
            writer = AtomicWriter(path, prefix=".part-", root=self.cache_root)
        except LinkRefused as exc:
            warn_link(str(exc.filename))
            return None
        except OSError:
            return None
        with writer:
            if not remote.get_blob(self.shared_name(digest), digest, writer) or not writer.commit():
                return None
        try:
            return cache_open(self.cache_root, path)
        except OSError:
            return None

    def shared_name(self, digest: str) -> str:
        """The blob's name in the shared cache (as below the local cache folder)."""
        return os.path.relpath(self.path(digest), self.cache_root)

    def writer(self, digest: str | None) -> BlobWriter | None:
        """A temp file beside the final one, or None when the cache folder cannot be written.

        Args:
            digest: the blob's digest, or None when it is known only once the blob has passed
                (then :meth:`BlobWriter.commit_as` names it).
        """
        # Unnamed yet: a placeholder target in the same folder, renamed to the digest on commit_as.
        final = self.path(digest) if digest is not None else os.path.join(self.folder, "sha256", ".unnamed")
        try:
            return BlobWriter(AtomicWriter(final, prefix=".part-", root=self.cache_root), self, digest)
        except LinkRefused as exc:
            warn_link(str(exc.filename))
            return None
        except OSError:
            return None

    def has(self, digest: str) -> bool:
        """Whether the blob is in the store."""
        try:
            return stat.S_ISREG(os.stat(self.path(digest), follow_symlinks=False).st_mode)
        except OSError:
            return False

    def read_small(self, digest: str) -> bytes | None:
        """A small blob's bytes (a config, a manifest), or None when it is not stored."""
        f = self.open(digest)
        if f is None:
            return None
        with f:
            data = f.read(SMALL_BLOB_LIMIT + 1)
        if len(data) > SMALL_BLOB_LIMIT or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None
        return data

    def store_small(self, digest: str, data: bytes) -> None:
        """Keeps a small blob the caller has verified against ``digest``."""
        writer = self.writer(digest)
        if writer is not None:
            writer.write(data)
            writer.commit()


class BlobWriter:
    """A blob being written: chunks go to a temp file beside the store's, which enters it on :meth:`commit`.

    A failed write (a full disk) costs the cache entry, not the scan the blob is streaming through.
    """

    def __init__(self, writer: AtomicWriter, store: BlobCache, digest: str | None = None) -> None:
        self._writer = writer
        self._store = store
        self._digest = digest

    def write(self, data: bytes) -> None:
        """Appends ``data`` to the blob being written."""
        self._writer.write(data)

    def commit(self) -> None:
        """Enters the blob under the digest it was opened with (the caller has verified it)."""
        if self._writer.commit() and self._digest is not None:
            self._share(self._digest)

    def commit_as(self, digest: str) -> None:
        """Enters the blob under ``digest``, the sha256 the caller computed of the bytes written."""
        try:
            final = self._store.path(digest)
        except ImageFormatError:
            self.discard()
            return
        if self._writer.commit(final):
            self._share(digest)

    def _share(self, digest: str) -> None:
        """Uploads the blob just entered to the shared cache, if there is one."""
        remote = remote_store()
        if remote is not None:
            remote.put_file(self._store.shared_name(digest), self._store.path(digest), digest.partition(":")[2])

    def discard(self) -> None:
        """Drops the temp file (a failed download or a blob that did not verify)."""
        self._writer.discard()
