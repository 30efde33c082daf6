"""Provides :class:`LayerBlobs`: the loader's side of a source's blobs, scanning them and reading them back.

A source hands down only what it has (:class:`~dive_py.sources.base.ImageFiles`: an opener of blobs); here
they are scanned, and kept in or read from the blob store where the source cannot read them again cheaply:

- a one-pass source (a stream, a container) handed its layer blobs to :class:`PassingLayers` as they passed;
  their scans come from there, their bytes back from the blob store (or, for a compressed archive file,
  from a new pass over the file, copied into the store the first time);
- a registry's blob is streamed into the scanner while it is written to the store, where it enters only
  once its digest checked out; it is read back from there, else downloaded again and checked at its end;
- any other source's blob is scanned and read where it lies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from dive_py.cache.blobs import BlobCache
from dive_py.cache.scans import CacheKey, LayerCache, encode_scan
from dive_py.cache.store import layer_lock, prune_cache
from dive_py.errors import ImageFormatError
from dive_py.layers.compression import HashingReader
from dive_py.layers.scan import scan_layer
from dive_py.load.passing import PassingLayers, teed
from dive_py.model import LayerScan, Read
from dive_py.sources.base import ImageFiles, closing_reader
from dive_py.sources.plan import LayerRef


class LayerBlobs:
    """The blobs of one opened source: scanned, kept and read back as the source allows."""

    def __init__(
        self,
        files: ImageFiles,
        store: BlobCache | None,
        passed: PassingLayers | None = None,
        scans: LayerCache | None = None,
    ) -> None:
        """Args:
        files: the source's blobs.
        store: the blob store; None with ``--no-cache``.
        passed: what a one-pass source handed down as it was read.
        scans: the layer-scan cache for a registry's layers (keyed by blob digest): a layer scanned
            before, here or by a run sharing the cache, is not downloaded again.
        """
        self.files = files
        self.store = store
        self.passed = passed
        self.scans = scans
        self.added = False
        """Whether a blob entered the store here (see :meth:`close`)."""

    def scan(self, ref: LayerRef, what: str, progress: Callable[[int], None] | None = None) -> LayerScan:
        """Scans the layer blob ``ref`` names, checked against the digests the plan states for it.

        Raises:
            ImageFormatError: the blob is not a layer, is missing, or fails a digest.
        """
        files = self.files
        if files.passes_once:
            resolved = files.resolve(ref.blob)
            if resolved is None or self.passed is None or not self.passed.holds(resolved):
                raise files.missing(ref.blob)
            return self.passed.scan(resolved, what, ref.expected_digest, ref.expected_diff_id)
        if files.remote:
            return self._scan_download(ref, what, progress)
        return scan_layer(
            files.open_blob(ref.blob),
            what,
            expected_digest=ref.expected_digest,
            expected_diff_id=ref.expected_diff_id,
            progress=progress,
        )

    def _scan_download(self, ref: LayerRef, what: str, progress: Callable[[int], None] | None) -> LayerScan:
        """A registry's layer: from the scan cache, else scanned from the store or the download."""
        digest = "sha256:" + ref.blob.rsplit("/", 1)[-1]
        if self.scans is None:
            return self._scan_blob(ref, digest, what, progress)
        # Keyed by the blob's digest, which the registry's blob was verified against when the scan was made.
        size = self._size(ref.blob)
        key = CacheKey(digest, "digest", size if size is not None else -1)
        root = self.store.cache_root if self.store is not None else self.scans.cache_root
        with layer_lock(root, digest):  # concurrent runs of this cache read a shared layer once
            found = self.scans.get(key, what)
            if found is not None and (not ref.expected_diff_id or found.diff_id == ref.expected_diff_id):
                return found
            scan = self._scan_blob(ref, digest, what, progress)
            self.scans.put(key, encode_scan(scan, what))
            return scan

    def _scan_blob(self, ref: LayerRef, digest: str, what: str, progress: Callable[[int], None] | None) -> LayerScan:
        """A registry's blob: from the store, else downloaded into the scanner and the store at once."""
        size = self._size(ref.blob)
        cached = self.store.open(digest, size) if self.store is not None else None

        def checked_scan(read: Read) -> LayerScan:
            expected_diff_id = ref.expected_diff_id
            return scan_layer(read, what, expected_digest=digest, expected_diff_id=expected_diff_id, progress=progress)

        if cached is not None:
            with cached:
                return checked_scan(cached.read)
        read = self.files.open_blob(ref.blob, what)
        writer = self.store.writer(digest) if self.store is not None else None
        try:
            scan = checked_scan(teed(read, writer.write) if writer is not None else read)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if writer is not None:
            writer.commit()  # the scan checked the digest: only verified bytes enter the store
            self.added = True
        return scan

    def open(self, name: str) -> Read:
        """A ``read(n)`` over blob ``name``'s stored bytes, from the store where the source kept it there.

        Raises:
            DivepyError: the blob cannot be read again (the message says why and what to do).
        """
        files, store = self.files, self.store
        if files.remote:
            named = "sha256:" + name.rsplit("/", 1)[-1]
            blob = store.open(named, self._size(name)) if store is not None else None
            if blob is not None:
                return closing_reader(blob)
            return _checked_at_end(files.open_blob(name), named, f"{files.what}: layer blob {named[:19]}…")
        resolved = files.resolve(name) if files.passes_once else None
        digest = self.passed.digest_of(resolved) if self.passed is not None and resolved is not None else None
        if digest is None:
            return files.open_blob(name)
        if store is not None and (handle := store.open(digest)) is not None:
            return closing_reader(handle)
        read = files.open_blob(name)  # a stream raises here, saying why its blob is not at hand
        if store is None:
            return read
        return self._keep(read, name, digest) or files.open_blob(name)

    def _keep(self, read: Read, name: str, digest: str) -> Read | None:
        """Copies a blob read again into the store (checked against ``digest``) and opens it there; None
        when the store cannot be written."""
        store = self.store
        writer = store.writer(digest) if store is not None else None
        if store is None or writer is None:
            return None
        hasher = hashlib.sha256()
        try:
            while data := read(1 << 20):
                hasher.update(data)
                writer.write(data)
        except BaseException:
            writer.discard()
            raise
        if "sha256:" + hasher.hexdigest() != digest:
            writer.discard()
            raise ImageFormatError(f"{self.files.what} changed since it was read: {name!r} has other bytes")
        writer.commit()
        self.added = True  # the store is kept within its limit once, at close
        handle = store.open(digest)
        return closing_reader(handle) if handle is not None else None

    def _size(self, name: str) -> int | None:
        try:
            return self.files.size_of(name)
        except ImageFormatError:
            return None

    def close(self) -> None:
        """Closes the source's files; keeps the store within its limit when blobs were added to it."""
        self.files.close()
        added = self.added or (self.passed is not None and self.passed.added)
        if added and self.store is not None:
            prune_cache(self.store.root)
            self.added = False
            if self.passed is not None:
                self.passed.added = False


def _checked_at_end(read: Read, digest: str, what: str) -> Read:
    """A downloaded blob's ``read(n)``, checked against its digest at its end."""
    hashed = HashingReader(read, digest, what)

    def reading(n: int = -1) -> bytes:
        data = hashed.read(n)
        if not data:
            hashed.verify()
        return data

    return reading
