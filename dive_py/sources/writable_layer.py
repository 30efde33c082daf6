"""Builds a container's writable layer as ``docker commit`` stores it, from the Engine API's answers.

The container's changes (``GET /containers/{id}/changes``) say which paths the layer holds; the
container's export (``GET /containers/{id}/export``, the whole file system as one tar) gives their
headers and contents. One pass over the export keeps, byte for byte, the members that are changed
paths or their parent folders (an overlay upper folder holds every parent of what it holds, and
commit tars that folder), drops the rest, and adds a whiteout (``.wh.NAME``) per deleted path.
Nothing is written anywhere: the caller scans the tar as it is made and keeps it in the blob cache.
"""

from __future__ import annotations

import posixpath
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dive_py.errors import ImageFormatError
from dive_py.layers.headers import BLOCK, checksum_ok, number, parse_pax
from dive_py.model import OPAQUE_MARKER, WHITEOUT_PREFIX

MODIFIED, ADDED, DELETED = 0, 1, 2
"""``Kind`` of a change in the Engine API's answer."""

CHUNK = 1 << 20
"""Bytes of a member's content passed on at a time."""

WHITEOUT_MODES = {"docker": 0o600, "podman": 0}
"""The mode of a whiteout as each engine's commit writes it: Docker's overlay2 diff turns the character
device into an empty file of mode 0600; containers/storage writes a bare header of mode 0."""

_PRELUDE_TYPES = (b"x", b"L", b"K")
"""PAX extended header and GNU long name / long link: they belong to the member after them."""
_ZERO_BLOCK = bytes(BLOCK)


@dataclass(frozen=True)
class Changes:
    """A container's changes, as the paths its writable layer holds (clean, relative)."""

    kept: frozenset[str]
    """Added and modified paths: the layer carries their members."""
    deleted: frozenset[str]
    """Deleted paths: the layer carries a whiteout for each."""

    @property
    def parents(self) -> frozenset[str]:
        """Every folder above a changed path, which the layer carries too (as an overlay upper folder does)."""
        found = set()
        for path in self.kept | self.deleted:
            parent = posixpath.dirname(path)
            while parent and parent not in found:
                found.add(parent)
                parent = posixpath.dirname(parent)
        return frozenset(found)


def parse_changes(value: object, what: str) -> Changes:
    """Reads the answer of ``GET /containers/{id}/changes`` (``null`` when nothing changed).

    Raises:
        ImageFormatError: the answer is not a list of ``{"Path": str, "Kind": 0|1|2}``.
    """
    if value is None:
        return Changes(frozenset(), frozenset())
    if not isinstance(value, list):
        raise ImageFormatError(f"{what}: the engine's list of changes is not a list")
    kept: set[str] = set()
    deleted: set[str] = set()
    for item in value:
        path = item.get("Path") if isinstance(item, dict) else None
        kind = item.get("Kind") if isinstance(item, dict) else None
        if not isinstance(path, str) or kind not in (MODIFIED, ADDED, DELETED):
            raise ImageFormatError(f"{what}: the engine's list of changes holds {str(item)[:80]!r}")
        clean = posixpath.normpath("/" + path).lstrip("/")
        if clean and not clean.startswith(".."):
            (deleted if kind == DELETED else kept).add(clean)
    return Changes(frozenset(kept), frozenset(deleted - kept))


@dataclass
class LayerFilter:
    """Turns a container's export into its writable layer; tells afterwards what the export lacked."""

    changes: Changes
    what: str
    whiteout_mode: int = WHITEOUT_MODES["docker"]
    seen: set[str] = field(default_factory=set)

    @property
    def missing(self) -> set[str]:
        """Added or modified paths the export did not hold: the container changed in between."""
        return set(self.changes.kept) - self.seen

    def chunks(self, read: Callable[[int], bytes]) -> Iterator[bytes]:
        """The layer tar, piece by piece, from the export's ``read(n)``."""
        wanted = self.changes.kept | self.changes.parents
        reader = _BlockReader(read, self.what)
        for member in _members(reader, self.what):
            if member.name in wanted and member.name not in self.seen:
                self.seen.add(member.name)
                yield member.header
                yield from reader.copy(_padded(member.size))
            else:
                reader.skip(_padded(member.size))
        for path in sorted(self.changes.deleted):
            # A deleted folder that is there again (removed and made anew) hides all below it: opaque.
            yield whiteout_header(path, self.whiteout_mode, opaque=path in self.seen)
        yield _ZERO_BLOCK * 2


def whiteout_header(path: str, mode: int, *, opaque: bool = False) -> bytes:
    """The member that deletes ``path`` in the layers below (or, opaque, what was below the folder ``path``)."""
    parent, name = posixpath.split(path)
    target = posixpath.join(path, OPAQUE_MARKER) if opaque else posixpath.join(parent, WHITEOUT_PREFIX + name)
    info = tarfile.TarInfo(target)
    info.mode = mode
    info.mtime = int(time.time())
    return info.tobuf(tarfile.PAX_FORMAT)


def chunk_reader(chunks: Iterator[bytes]) -> Callable[[int], bytes]:
    """A ``read(n)`` over pieces of bytes made on demand."""
    pending = bytearray()

    def read(n: int = -1) -> bytes:
        while n < 0 or len(pending) < n:
            piece = next(chunks, None)
            if piece is None:
                break
            pending.extend(piece)
        size = len(pending) if n < 0 else min(n, len(pending))
        data = bytes(pending[:size])
        del pending[:size]
        return data

    return read


@dataclass
class _Member:
    name: str
    """Clean relative path; empty for the root folder."""
    header: bytes
    """Every block before the content: PAX or GNU long-name blocks and the header itself."""
    size: int


class _BlockReader:
    """Exact reads over a stream (an HTTP body returns short reads)."""

    def __init__(self, read: Callable[[int], bytes], what: str) -> None:
        self._read = read
        self.what = what

    def take(self, n: int) -> bytes:
        parts, left = [], n
        while left > 0:
            data = self._read(min(left, CHUNK))
            if not data:
                break
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def copy(self, n: int) -> Iterator[bytes]:
        while n > 0:
            data = self.take(min(n, CHUNK))
            if not data:
                raise ImageFormatError(f"{self.what}: the container's export ends inside a file")
            n -= len(data)
            yield data

    def skip(self, n: int) -> None:
        for _ in self.copy(n):
            pass


def _members(reader: _BlockReader, what: str) -> Iterator[_Member]:
    """The export's members with their raw header blocks; the caller copies or skips each content."""
    prelude, pax, long_name = b"", {}, None
    while True:
        block = reader.take(BLOCK)
        if len(block) < BLOCK or block == _ZERO_BLOCK:
            return
        if not checksum_ok(block):
            raise ImageFormatError(f"{what}: the container's export is not a tar (bad header checksum)")
        typeflag, size = block[156:157], number(block[124:136], "size")
        if typeflag in _PRELUDE_TYPES:
            data = reader.take(_padded(size))
            prelude += block + data
            if typeflag == b"x":
                pax.update(parse_pax(data[:size]))
            elif typeflag == b"L":
                long_name = data[:size].rstrip(b"\0")
            continue
        if typeflag == b"g":  # a global header sets defaults for the whole archive: none apply to a layer
            reader.skip(_padded(size))
            continue
        raw = pax.get(b"path") or long_name or _ustar_name(block)
        if b"size" in pax:
            size = int(pax[b"size"])
        if typeflag in (b"1", b"2", b"3", b"4", b"5", b"6"):
            size = 0
        name = posixpath.normpath("/" + raw.decode("utf-8", "surrogateescape")).lstrip("/")
        yield _Member(name, prelude + block, size)
        prelude, pax, long_name = b"", {}, None


def _ustar_name(block: bytes) -> bytes:
    name = block[:100].split(b"\0", 1)[0]
    if block[257:265] == b"ustar\x0000":  # POSIX ustar: long names are split into prefix and name
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            return prefix + b"/" + name
    return name


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK
