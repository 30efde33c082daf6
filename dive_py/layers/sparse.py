"""Provides GNU sparse files in PAX form (formats 0.0, 0.1 and 1.0), read as Go's archive/tar reads them.

GNU tar stores such a member under a placeholder name (``./GNUSparseFile.1234/name``) with PAX records
giving its real name (``GNU.sparse.name``), its real size (``GNU.sparse.realsize`` or ``GNU.sparse.size``)
and its map of stored fragments: in the records (0.0, 0.1) or as decimal lines at the start of its data
(1.0). tar, Python and Go (so docker) extract it under its real name, so divepy shows it so, with its real
size; its content reads as the fragments with zeros in the holes. Its hash covers the stored fragments
only (as an old-GNU ``S`` member's does): hashing the holes would let a tiny layer cost hours of zeros.
"""

from __future__ import annotations

from typing import Protocol

from dive_py.errors import ImageFormatError
from dive_py.layers.headers import BLOCK, EXTENSION_LIMIT, HEADER_ONLY

HOLE_CHUNK = 1 << 20
"""Most zeros a read of a hole returns at once."""

_INT64 = 1 << 63

SparseMap = tuple[tuple[int, int], ...]


class Readable(Protocol):
    """A member's stream, read and finished (:class:`dive_py.layers.tarscan._MemberStream`)."""

    def read(self, n: int = -1, /) -> bytes:
        """Reads up to ``n`` bytes of the member's stored data."""

    def finish(self) -> None:
        """Skips what the consumer did not read, and the padding."""
        ...


class Blocks(Protocol):
    """What reading a 1.0 map needs of :class:`dive_py.layers.tarscan.TarReader`."""

    what: str

    def take_block(self, what: str) -> bytes:
        """The next 512-byte block of the archive; ``what`` names it in errors."""


def read_pax_sparse(
    reader: Blocks, pax: dict[bytes, bytes], typ: bytes, name: bytes, stored: int
) -> tuple[bytes, int, SparseMap, int]:
    """The real name, real size and map of a PAX sparse member, and the bytes of map read from its data.

    Raises:
        ImageFormatError: an unknown sparse format, a sparse link, folder or device, a malformed map or
            one that does not match the stored data.
    """
    what = reader.what
    major, minor = pax.get(b"GNU.sparse.major"), pax.get(b"GNU.sparse.minor")
    if (major, minor) == (b"1", b"0"):
        version_1 = True
    elif (major == b"0" and minor in (b"0", b"1")) or (major is None and minor is None):
        version_1 = False  # 0.0 and 0.1 name no version: a map in the records says which
    else:
        raise ImageFormatError(f"{what}: GNU sparse format {_text(major)}.{_text(minor)} is not supported")
    if typ in HEADER_ONLY:
        raise ImageFormatError(f"{what}: a sparse map on a member that is not a regular file ({_text(name)})")
    real_name = pax.get(b"GNU.sparse.name") or name
    real_size = pax.get(b"GNU.sparse.size") or pax.get(b"GNU.sparse.realsize")
    size = _decimal(real_size, what, "sparse file size") if real_size is not None else stored
    if version_1:
        fragments, map_bytes = _map_from_data(reader, stored)
    else:
        fragments, map_bytes = _map_from_records(pax.get(b"GNU.sparse.map", b""), what), 0
    _check_map(fragments, size, stored - map_bytes, f"{what}: sparse file {_text(real_name)}")
    return real_name, size, fragments, map_bytes


def _text(value: bytes | None) -> str:
    return repr(value.decode("utf-8", "replace")[:80]) if value is not None else "?"


def _decimal(text: bytes, what: str, field: str) -> int:
    """A plain decimal number below 2**63 (the columns are 64-bit)."""
    if not text.isdigit() or len(text) > 19 or int(text) >= _INT64:
        raise ImageFormatError(f"{what}: bad {field} in a sparse file's header ({_text(text)})")
    return int(text)


def _map_from_records(text: bytes, what: str) -> SparseMap:
    """0.0 and 0.1: ``offset,length,offset,length...`` in the ``GNU.sparse.map`` record."""
    numbers = [_decimal(part, what, "sparse map") for part in text.split(b",")] if text else []
    if len(numbers) % 2:
        raise ImageFormatError(f"{what}: a sparse map with an odd count of numbers")
    return tuple(zip(numbers[::2], numbers[1::2], strict=True))


def _map_from_data(reader: Blocks, stored: int) -> tuple[SparseMap, int]:
    """1.0: the count, then offset and length of each fragment, a line each, in whole blocks before the data."""
    what = reader.what
    text = bytearray()
    newlines, needed = 0, 1
    count = None
    while True:
        if newlines >= needed:
            lines = bytes(text).split(b"\n")
            if count is None:
                count = _decimal(lines[0], what, "sparse map count")
                needed = 1 + 2 * count
                if newlines >= needed:
                    continue
            else:
                numbers = [_decimal(line, what, "sparse map") for line in lines[1:needed]]
                return tuple(zip(numbers[::2], numbers[1::2], strict=True)), len(text)
        if len(text) + BLOCK > min(stored, EXTENSION_LIMIT):
            raise ImageFormatError(f"{what}: a sparse map runs past its member's data or {EXTENSION_LIMIT >> 20} MiB")
        block = reader.take_block("a sparse map")
        text += block
        newlines += block.count(b"\n")


def _check_map(fragments: SparseMap, size: int, data: int, what: str) -> None:
    """Fragments in order, apart, inside the real size, and exactly as long as the stored data (as Go checks)."""
    end = total = 0
    for offset, length in fragments:
        if offset < end or offset + length > size:
            raise ImageFormatError(f"{what}: its sparse map is out of order or past its size")
        end = offset + length
        total += length
    if total != data:
        raise ImageFormatError(f"{what}: its sparse map names {total} stored bytes, its data holds {data}")


class SparseStream:
    """Reads a sparse member as its real content: the stored fragments, zeros in the holes, ``size`` bytes."""

    def __init__(self, inner: Readable, fragments: SparseMap, size: int) -> None:
        self._inner = inner
        self._fragments = fragments
        self._index = 0
        self._at = 0
        self._size = size

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (fewer at a fragment's edge; a hole comes at most :data:`HOLE_CHUNK` at a time)."""
        left = self._size - self._at
        if left <= 0:
            return b""
        n = left if n is None or n < 0 or n > left else n
        fragments, at = self._fragments, self._at
        while self._index < len(fragments) and sum(fragments[self._index]) <= at:
            self._index += 1
        if self._index < len(fragments) and fragments[self._index][0] <= at:
            offset, length = fragments[self._index]
            data = self._inner.read(min(n, offset + length - at))
        else:
            hole_end = fragments[self._index][0] if self._index < len(fragments) else self._size
            data = bytes(min(n, hole_end - at, HOLE_CHUNK))
        self._at += len(data)
        return data

    def skip_hole(self) -> int:
        """Skips the hole at the current position, if any; returns its length (0 inside a fragment or at the end).

        For a consumer that can make holes itself (extraction seeks): reading terabytes of zeros is no option.
        """
        fragments, at = self._fragments, self._at
        while self._index < len(fragments) and sum(fragments[self._index]) <= at:
            self._index += 1
        end = fragments[self._index][0] if self._index < len(fragments) else self._size
        gap = max(0, min(end, self._size) - at)
        self._at += gap
        return gap

    def finish(self) -> None:
        """Skips what the consumer did not read, and the padding."""
        self._inner.finish()
