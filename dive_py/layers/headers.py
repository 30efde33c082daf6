"""Provides the fields of tar headers (octal and base-256 numbers, checksums, times, PAX) and :class:`TarHeader`.

Shared by the layer scanner (:mod:`dive_py.layers.tarscan`, :mod:`dive_py.layers.scan`) and the sources that
read tars of their own (image archives, streams, a container's export).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from dive_py.errors import ImageFormatError

BLOCK = 512
"""Tar's block: headers are one, contents are padded to whole ones."""

HEADER_ONLY = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))
"""Member types with no content blocks (as Go's archive/tar reads them)."""

EXTENSION_LIMIT = 1 << 20
"""Most bytes of one extended header (PAX, GNU long name or link), of those before one member together, of
the PAX global records kept, and of a sparse map (Go's archive/tar bounds each the same): 40 global headers
of 60 MB once took 2.7 GB."""


def number(field: bytes, what: str) -> int:
    """Parses an octal or base-256 numeric header field."""
    try:
        # Fast path for the usual "0000644\0": int() refuses NULs, base-256 and junk alike,
        # and whatever it accepts the general parse below reads the same way.
        return int(field.rstrip(b"\0 "), 8)
    except ValueError:
        pass
    if field and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] & 0x40:  # negative base-256
            value -= 1 << (8 * (len(field) - 1))
        return value
    text = field.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise ImageFormatError(f"bad {what} field in a tar header: {field[:16]!r}") from None


OWNER_FIELDS_KEPT = 4096
"""Distinct mode, uid and gid fields kept parsed (a layer has a few dozen; a hostile one is bounded)."""


def owner_fields(block: bytes, parsed: dict[bytes, tuple[int, int, int]]) -> tuple[int, int, int]:
    """A header's mode, uid and gid; ``parsed`` keeps each distinct field (they repeat across a layer)."""
    fields = block[100:124]
    found = parsed.get(fields)
    if found is None:
        if len(parsed) >= OWNER_FIELDS_KEPT:
            parsed.clear()
        found = parsed[fields] = (
            number(block[100:108], "mode"),
            number(block[108:116], "uid"),
            number(block[116:124], "gid"),
        )
    return found


def mtime_ns(block: bytes, ext: dict[bytes, bytes]) -> int:
    """The member's modification time in nanoseconds: PAX ``mtime`` (``1700000000.123456789``) if set.

    Lenient: the analysis never needed the time, so a bad one reads as 0 rather than failing the layer.
    """
    try:
        if b"mtime" not in ext:
            return number(block[136:148], "mtime") * 1_000_000_000
        whole, _, fraction = ext[b"mtime"].strip().partition(b".")
        nanos = int(fraction[:9].ljust(9, b"0")) if fraction else 0  # digits, not a float: no rounding
        return int(whole) * 1_000_000_000 + (-nanos if whole.startswith(b"-") else nanos)
    except (ValueError, ImageFormatError):
        return 0


def checksum_ok(block: bytes) -> bool:
    """Whether a tar header block's checksum holds (unsigned or signed sum, as tar accepts)."""
    field = block[148:156]
    try:
        expected = int(field.rstrip(b"\0 "), 8)  # the usual "0012345\0 ", read as the split below reads it
    except ValueError:
        try:
            expected = int(field.split(b"\0", 1)[0].strip(b" \0"), 8)
        except ValueError:
            return False
    # Fast path: Adler-32's low half is 1 + the byte sum mod 65521, computed in C (sum() costs
    # ~1.5 µs a header). A header's sum is below 2 * 65521, so only a sum off by exactly 65521
    # could pass here wrongly; the checksum only tells tar from non-tar, digests guard content.
    if (expected - (zlib.adler32(block) & 0xFFFF) + 1 + sum(field) - 8 * 32) % 65521 == 0:
        return True
    actual = sum(block) - sum(field) + 8 * 32
    # Some old tars computed the sum over signed chars.
    return expected == actual or expected == actual - 2 * sum(b for b in block if b > 127)


def parse_pax(data: bytes) -> dict[bytes, bytes]:
    """Parses PAX records (``"LEN key=value\\n"``)."""
    records: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise ImageFormatError("malformed PAX header record")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ImageFormatError("malformed PAX header record length") from None
        if length <= 0 or pos + length > len(data):
            raise ImageFormatError("malformed PAX header record length")
        record = data[space + 1 : pos + length - 1]
        key, sep, value = record.partition(b"=")
        if not sep:
            raise ImageFormatError("malformed PAX header record")
        if key in _SPARSE_PAIRS:  # GNU sparse 0.0 repeats these, one pair a fragment: kept as 0.1's map
            previous = records.get(b"GNU.sparse.map")
            value = previous + b"," + value if previous else value
            key = b"GNU.sparse.map"
        records[key] = value
        pos += length
    return records


_SPARSE_PAIRS = frozenset((b"GNU.sparse.offset", b"GNU.sparse.numbytes"))


@dataclass(slots=True)
class TarHeader:
    """One member's header, after PAX and GNU extensions have been applied."""

    name: bytes
    type: bytes
    size: int
    mode: int
    uid: int
    gid: int
    linkname: bytes
    offset: int
    """Offset of the member's content in the (uncompressed) stream."""
    block: bytes
    """The member's own header block."""
    ext: dict[bytes, bytes]
    """The PAX records (global and its own) that apply to it."""
    data_size: int = 0
    """Bytes of content the stream holds for the member: ``size`` (0 for links, folders and devices), but a
    PAX sparse file's stored fragments (its holes are not stored; ``size`` is its real size)."""
    sparse: tuple[tuple[int, int], ...] | None = None
    """A PAX sparse file's map (offset, length of each stored fragment), None for other members."""

    @property
    def mtime_ns(self) -> int:
        """Modification time in nanoseconds since the epoch (PAX ``mtime`` when present); read when asked."""
        return mtime_ns(self.block, self.ext)


class ExtendedHeaders:
    """What the extended headers before one member say: its PAX records, GNU long name and link, their bytes.

    Made only for the few members behind such headers (:meth:`dive_py.layers.tarscan.TarReader.next`).
    """

    __slots__ = ("pax", "long_name", "long_link", "size")

    def __init__(self) -> None:
        self.pax: dict[bytes, bytes] = {}
        self.long_name: bytes | None = None
        self.long_link: bytes | None = None
        self.size = 0
