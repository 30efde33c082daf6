"""Provides :class:`PassingLayers`: the loader's side of a one-pass source, scanning each blob as it passes.

A stream (stdin, ``docker save``, ``podman save``, a compressed archive) and a container's export hand each
layer blob down once, in order (:class:`~dive_py.sources.base.LayerSink`). Here it is scanned, hashed, and
written to the blob store on the way (unless ``--no-cache``), entering the store under the sha256 of exactly
the bytes written, so that file contents can be read afterwards without the stream.
"""

from __future__ import annotations

from collections.abc import Callable

from dive_py.cache.blobs import BlobCache
from dive_py.errors import DigestMismatchError, ImageFormatError
from dive_py.layers.compression import HashingReader
from dive_py.layers.scan import scan_layer
from dive_py.model import LayerScan, Read


class PassingLayers:
    """Scans of the layer blobs a one-pass source handed down, by the name it gave each."""

    def __init__(self, store: BlobCache | None) -> None:
        """Args:
        store: where to keep each blob as it passes; None (``--no-cache``) keeps none.
        """
        self.store = store
        self.keeps = store is not None
        self.added = False
        """Whether a blob entered the store (the loader then keeps the store within its limit)."""
        self._scans: dict[str, tuple[LayerScan, str, bool]] = {}  # name -> (scan, sha256, renamed later)
        self._errors: dict[str, ImageFormatError] = {}

    def take(self, name: str, read: Read, what: str | None = None, *, keep: bool = True) -> str:
        """Scans blob ``name`` as it passes, keeping it in the store; see :class:`~dive_py.sources.base.LayerSink`."""
        writer = self.store.writer(None) if self.store is not None and keep else None
        if writer is not None:
            read = teed(read, writer.write)
        hashed = HashingReader(read, None, name)
        try:
            scan = scan_layer(hashed.read, what or name, expected_digest=None, expected_diff_id=None)
        except ImageFormatError as exc:
            self._errors[name] = exc
            if writer is not None:
                writer.discard()
            raise
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        self._scans[name] = (scan, hashed.digest, what is None)
        if writer is not None:
            writer.commit_as(hashed.digest)  # named by the sha256 of exactly the bytes written
            self.added = True
        return hashed.digest

    def digest_of(self, name: str) -> str | None:
        """The digest of a blob scanned as it passed, or None."""
        found = self._scans.get(name)
        return found[1] if found is not None else None

    def holds(self, name: str) -> bool:
        """Whether blob ``name`` was handed down (scanned, or refused as no layer)."""
        return name in self._scans or name in self._errors

    def scan(self, name: str, what: str, expected_digest: str | None, expected_diff_id: str | None) -> LayerScan:
        """The scan of blob ``name``, checked against the digests the plan states, named as layer ``what``.

        Raises:
            ImageFormatError: the blob is no layer, or does not match a digest.
        """
        if name in self._errors:
            exc = self._errors[name]
            raise type(exc)(_renamed(exc.message, name, what)) from None
        scan, digest, renamed = self._scans[name]
        checks = ((expected_digest, digest, "digest"), (expected_diff_id, scan.diff_id, "diff_id"))
        for expected, actual, label in checks:
            if expected and expected.startswith("sha256:") and actual and expected != actual:
                raise DigestMismatchError(
                    f"{what}: content does not match its {label} (expected {expected[:19]}…, got {actual[:19]}…)"
                )
        if renamed:
            scan.warnings = [_renamed(text, name, what) for text in scan.warnings]
        return scan


def _renamed(text: str, name: str, what: str) -> str:
    """A message about member ``name`` (as scanned in one pass) reworded to name the layer as ``what``."""
    return what + text[len(name) :] if text.startswith(name) else f"{what}: {text}"


def teed(read: Read, write: Callable[[bytes], None]) -> Read:
    """A ``read(n)`` that also hands every chunk to ``write``."""

    def teed(n: int = -1) -> bytes:
        data = read(n)
        if data:
            write(data)
        return data

    return teed
