"""Provides :class:`ImageFiles`: the files of a saved image by clean relative name, whatever holds them.

Every source hands one of these down: a tar file, an OCI folder, a one-pass stream, a registry. It lists
names, reads small files (JSON) for the plan, and opens a layer blob (:meth:`ImageFiles.open_blob`), which
is how layers are scanned and file contents read back. Scanning and the blob store belong to
:mod:`dive_py.load`: a source never scans. A source that sees its layer blobs only once (a stream, a
container's export) hands each down as it passes to a :class:`LayerSink` it is given; one that keeps small
blobs of its own (a registry's manifests) is given a :class:`SmallBlobStore`.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Protocol

from dive_py.errors import ImageFormatError

SMALL_FILE_LIMIT = 64 << 20
"""Largest manifest, index or config read into memory; larger is hostile or not JSON."""

SMALL_FILES_TOTAL_LIMIT = 256 << 20
"""Most bytes of non-layer files a one-pass read keeps in memory (it cannot know yet which it needs)."""

Progress = Callable[[int], None]


@dataclass(slots=True)
class Member:
    """A file of the outer archive."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    size: int = 0
    offset: int = 0
    link: str = ""


class ImageFiles(ABC):
    """The files of a saved image, by clean relative name: read by the layouts to plan the image, then
    handed down as the opener of its blobs (:meth:`open_blob`); the loader needs nothing else of a source."""

    what: str = "image"
    """How to name the archive in errors."""
    origin: str = ""
    """What served the archive when it is not a file or folder, e.g. ``docker engine``: names the source."""
    passes_once: bool = False
    """Its layer blobs were handed to a :class:`LayerSink` as they passed; only those are its layers."""
    remote: bool = False
    """Its blobs are downloaded (a registry): :meth:`open_blob` hands down the bytes as sent, unverified,
    and the loader keeps them in the blob store by digest, checked, and reads them back from there."""

    @abstractmethod
    def names(self) -> set[str]:
        """Every member's name."""

    def has(self, name: str) -> bool:
        """Whether blob ``name`` is in the source."""
        return self.resolve(name) is not None

    @abstractmethod
    def resolve(self, name: str) -> str | None:
        """Follows symbolic and hard links between members; None when missing."""

    @abstractmethod
    def read_bytes(self, name: str) -> bytes:
        """A small member (JSON) whole."""

    @abstractmethod
    def size_of(self, name: str) -> int:
        """A member's size in bytes as stored."""

    @abstractmethod
    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """A ``read(n)`` over a blob's stored bytes (maybe compressed), usable after :meth:`close`.

        ``what`` names the blob in the errors of a download (a registry's); others name it themselves.

        A one-pass source (:attr:`passes_once`) raises here, saying why its blob is not at hand, when the
        blob store the loader kept it in cannot serve it.

        Raises:
            DivepyError: the blob cannot be read again (the message says why and what to do).
        """

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        """Where a blob's bytes sit in a file, ``(path, offset, size)``; None when not in one.

        Lets layers be scanned by other processes, and looked up in the layer cache.
        """
        return None

    def close(self) -> None:  # noqa: B027 - most sources hold no open file
        """Releases open files."""

    def missing(self, name: str) -> ImageFormatError:
        """The error for a blob the image names and the archive does not hold."""
        return self._missing(name)

    def _missing(self, name: str) -> ImageFormatError:
        return ImageFormatError(f"{self.what}: the image names {name!r}, which the archive does not hold")


class LayerSink(Protocol):
    """Where a one-pass source hands down each layer blob as it passes (the loader scans and keeps it)."""

    keeps: bool
    """Whether the blobs taken are kept (in the blob store) to be read again; False with ``--no-cache``."""

    def take(self, name: str, read: Callable[[int], bytes], what: str | None = None, *, keep: bool = True) -> str:
        """Reads blob ``name`` to its end, once; returns its sha256 digest.

        Args:
            what: how to name the layer in its errors and warnings; None names it by ``name`` until
                the plan says which layer it is.
            keep: keep the blob to be read again (False when the source can read it again itself).

        Raises:
            ImageFormatError: the blob is no layer (the sink remembers it and raises it again when
                the plan names the blob).
        """
        ...

    def digest_of(self, name: str) -> str | None:
        """The sha256 of the blob taken as ``name``; None when none was."""
        ...


class SmallBlobStore(Protocol):
    """The part of divepy's blob store a source keeps small blobs in (a registry's manifests and config)."""

    def read_small(self, digest: str) -> bytes | None:
        """The blob, checked against its digest; None when not kept."""
        ...

    def store_small(self, digest: str, data: bytes) -> None:
        """Keeps ``data`` (already checked against ``digest``)."""
        ...


def resolve_links(members: dict[str, Member], name: str) -> str | None:
    """Follows link members (relative to their folder, or to the archive root for hard links)."""
    seen = set()
    current = name
    while current not in seen:
        seen.add(current)
        member = members.get(current)
        if member is None:
            return None
        if member.kind == "symlink":
            target = member.link
            base = posixpath.dirname(current)
            joined = posixpath.normpath(posixpath.join(base, target)) if not target.startswith("/") else target
            current = joined.lstrip("/")
        elif member.kind == "hardlink":
            current = posixpath.normpath(member.link).lstrip("/")
        else:
            return current
    return None  # a loop of links


MEMBER_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink"}


def region_reader(path: str, offset: int, size: int, truncated: str) -> Callable[[int], bytes]:
    """A ``read(n)`` over ``size`` bytes of a file from ``offset``, on its own handle.

    Args:
        truncated: the error message when the file ends before the region does.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed at the end of the region
        handle.seek(offset)
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    left = [size]

    def read(n: int = -1) -> bytes:
        if left[0] <= 0:
            handle.close()
            return b""
        want = left[0] if n < 0 else min(n, left[0])
        data = handle.read(want)
        if not data:
            handle.close()
            raise ImageFormatError(truncated)
        left[0] -= len(data)
        return data

    return read


def closing_reader(handle: IO[bytes]) -> Callable[[int], bytes]:
    """``handle.read`` that closes the file at its end (a blob handed out to be read once)."""

    def read(n: int = -1) -> bytes:
        data = handle.read(n)
        if not data:
            handle.close()
        return data

    return read
