"""Provides a lean streaming tar reader: headers parsed by hand, content hashed in place.

stdlib ``tarfile`` costs ~35 µs a member; this reader parses a header in a few µs
(``../shared/PERF-NOTES.md``), which is what makes 100k-file layers quick. It reads
ustar, POSIX (PAX, incl. global headers and GNU sparse files, :mod:`dive_py.layers.sparse`) and GNU
(long names and links, base-256 numbers) archives from any object with ``read(n)``, never seeking and
never holding a whole member in memory; extended headers are bounded (``headers.EXTENSION_LIMIT``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeAlias

import xxhash

from dive_py.errors import ImageFormatError
from dive_py.layers.headers import (
    BLOCK,
    EXTENSION_LIMIT,
    HEADER_ONLY,
    ExtendedHeaders,
    TarHeader,
    checksum_ok,
    number,
    owner_fields,
    parse_pax,
)
from dive_py.layers.sparse import SparseStream, read_pax_sparse

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

CHUNK = 1 << 20
"""Read size: large reads amortise the per-call cost of decompressors and files."""

MemberRun: TypeAlias = (  # the C loop over plain members (dive_py.layers._tarfast.scan_run)
    "Callable[[ReadableBuffer, int, Callable[[ReadableBuffer], int], list[bytes], dict[int, str]],"
    " tuple[int, int, bytes, bytes, bytes, bytes, bytes, bytes]]"
)

_ZERO_BLOCK = bytes(BLOCK)
_EXTENSIONS = frozenset((b"x", b"L", b"K"))
"""Extended headers that apply to the next member."""
_HEADERS = _EXTENSIONS | {b"g"}
"""Headers that are no member: extended headers, and PAX global ones."""


class TarReader:
    """Iterates the members of a tar stream; the caller reads, hashes or skips each content.

    Args:
        read: the stream's ``read(n)``.
        what: how to name the stream in errors (e.g. ``layer 3``).
        seek: the stream's absolute ``seek``, to skip large contents without reading them.
        chunk: read size; small when seeking (indexing an outer archive), large otherwise.
    """

    def __init__(
        self,
        read: Callable[[int], bytes],
        what: str = "tar stream",
        *,
        seek: Callable[[int], object] | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self._read = read
        self._seek = seek
        self._chunk = chunk
        self._buf = b""
        self._pos = 0
        self._offset = 0  # stream offset of self._buf[0]
        self._pending = 0  # content + padding bytes of the current member not yet consumed
        self._global: dict[bytes, bytes] = {}
        self._sparse: tuple[tuple[int, int], ...] | None = None  # the current member's sparse map
        self._global_bytes = 0  # of the PAX global records kept (bounded: each header may add more)
        self._attributes: dict[bytes, tuple[int, int, int]] = {}  # mode, uid and gid fields, parsed
        self.what = what
        self.unterminated = False
        """True when the stream ended at a header boundary without end-of-archive blocks."""
        self.member_count = 0

    # -- buffer management -------------------------------------------------
    def _fill(self, need: int) -> bool:
        """Makes ``need`` bytes available at ``_pos``; False at a clean end of stream.

        At a chunk boundary the next chunk becomes the buffer as it is; a header split between
        two chunks is completed with a read of just its missing bytes. Joining the rest of a
        buffer with a whole new chunk copied every byte of a layer once more (~0.1 s a GB).
        """
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have >= need:
            return True
        if have == 0:
            chunk = self._read(max(self._chunk, need))
            self._offset += pos
            self._buf, self._pos = chunk, 0
            if len(chunk) >= need or not chunk:
                return len(chunk) >= need
            buf, pos, have = chunk, 0, len(chunk)  # a short read: top it up below
        parts = [buf[pos:]]
        while have < need:
            piece = self._read(need - have)
            if not piece:
                break
            parts.append(piece)
            have += len(piece)
        self._offset += pos
        self._buf = b"".join(parts)
        self._pos = 0
        return have >= need

    def _consume(self, n: int, sink: Callable[[memoryview], object] | None) -> None:
        """Consumes ``n`` bytes, passing them to ``sink`` in pieces when given."""
        while n > 0:
            avail = len(self._buf) - self._pos
            if avail == 0:
                chunk = self._read(max(CHUNK, min(n, 1 << 24)) if sink is None else CHUNK)
                if not chunk:
                    raise ImageFormatError(f"{self.what} is truncated: a member's content runs past the end")
                self._offset += len(self._buf)
                self._buf, self._pos = chunk, 0
                avail = len(chunk)
            take = avail if avail < n else n
            if sink is not None:
                sink(memoryview(self._buf)[self._pos : self._pos + take])
            self._pos += take
            n -= take

    # -- members -------------------------------------------------------------
    def _skip_pending(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, 0
            avail = len(self._buf) - self._pos
            if self._seek is not None and pending > avail:
                target = self._offset + self._pos + pending
                self._seek(target)
                self._buf, self._pos, self._offset = b"", 0, target
                return
            self._consume(pending, None)

    def _raw_header(self) -> bytes | None:
        """The next 512-byte header block, or None at the end of the archive."""
        if self.unterminated:
            return None
        buf, pos = self._buf, self._pos
        if len(buf) - pos < BLOCK and not self._fill(BLOCK):
            if len(self._buf) - self._pos == 0:
                self.unterminated = True
                return None
            raise ImageFormatError(f"{self.what} is truncated inside a tar header")
        block = self._buf[self._pos : self._pos + BLOCK]
        self._pos += BLOCK
        if block == _ZERO_BLOCK:
            return None
        if not checksum_ok(block):
            raise ImageFormatError(f"{self.what} is not a valid tar (bad header checksum)")
        return block

    def _read_data(self, size: int) -> bytes:
        """Reads an extension header's payload (PAX or GNU long name) and its padding."""
        if size > EXTENSION_LIMIT:
            raise ImageFormatError(
                f"{self.what}: an extended tar header of {size} bytes is over the {EXTENSION_LIMIT >> 20} MiB limit"
            )
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if not self._fill(padded):
            raise ImageFormatError(f"{self.what} is truncated inside an extended header")
        data = self._buf[self._pos : self._pos + size]
        self._pos += padded
        return data

    def _add_global(self, records: dict[bytes, bytes]) -> None:
        """Keeps PAX global records (a later one replaces a key), counting the bytes kept as it goes."""
        kept = self._global
        for key, value in records.items():
            before = kept.get(key)
            self._global_bytes += len(value) - (len(before) if before is not None else -len(key))
            kept[key] = value

    def take_block(self, what: str) -> bytes:
        """The next 512 bytes of the stream (a header's own data, such as a sparse map); ``what`` names it in errors."""
        if not self._fill(BLOCK):
            raise ImageFormatError(f"{self.what} is truncated inside {what}")
        block = self._buf[self._pos : self._pos + BLOCK]
        self._pos += BLOCK
        return block

    def _skip_sparse_extensions(self) -> None:
        """Skips an old-GNU sparse member's extension blocks (more of its map; each ends with a more-follows flag)."""
        while True:
            if not self._fill(BLOCK):
                raise ImageFormatError(f"{self.what} is truncated inside a sparse file's header")
            more = self._buf[self._pos + 504]
            self._pos += BLOCK
            if not more:
                return

    def next(self) -> TarHeader | None:
        """Returns the next member's header (content not yet read), or None at the end."""
        if self._pending:
            self._skip_pending()
        extended: ExtendedHeaders | None = None  # made for the few members behind extended headers
        while True:
            block = self._raw_header()
            if block is None:
                return None
            typ = block[156:157]
            size = number(block[124:136], "size")
            if size < 0:
                raise ImageFormatError(f"{self.what}: negative member size in a tar header")
            if typ not in _HEADERS:
                break  # a member's own header (nearly all)
            if extended is None:
                extended = ExtendedHeaders()
            self._read_extension(extended, typ, size)
        if typ == b"S" and block[482]:
            self._skip_sparse_extensions()
        if block[257:263] == b"ustar\x00" and block[345] != 0:
            name = block[345:500].split(b"\0", 1)[0] + b"/" + block[0:100].split(b"\0", 1)[0]
        else:
            name = block[0:100].split(b"\0", 1)[0]
        linkname = block[157:257].split(b"\0", 1)[0]
        mode, uid, gid = owner_fields(block, self._attributes)
        pax: dict[bytes, bytes] = {}
        if extended is not None:
            pax = extended.pax
            name = extended.long_name if extended.long_name is not None else name
            linkname = extended.long_link if extended.long_link is not None else linkname
        ext = {**self._global, **pax} if self._global else pax
        if ext:
            name, linkname, size, uid, gid = self._apply_pax(ext, name, linkname, size, uid, gid)
        # Links, devices, folders and fifos carry no data whatever their size field says.
        data_size = 0 if typ in HEADER_ONLY else size
        sparse = None
        if pax and (b"GNU.sparse.major" in pax or b"GNU.sparse.minor" in pax or b"GNU.sparse.map" in pax):
            name, size, sparse, map_bytes = read_pax_sparse(self, pax, typ, name, size)
            data_size -= map_bytes
        self._sparse = sparse
        self.member_count += 1
        offset = self._offset + self._pos
        self._pending = (data_size + BLOCK - 1) // BLOCK * BLOCK
        return TarHeader(name, typ, size, mode, uid, gid, linkname, offset, block, ext, data_size, sparse)

    def _read_extension(self, extended: ExtendedHeaders, typ: bytes, size: int) -> None:
        """Reads one extended header (PAX ``x`` or ``g``, GNU ``L`` or ``K``) into ``extended``."""
        if typ in _EXTENSIONS and size <= EXTENSION_LIMIT:  # a larger one is refused as such when read
            extended.size += size
            if extended.size > EXTENSION_LIMIT:
                raise ImageFormatError(
                    f"{self.what}: the extended tar headers of one member are over the "
                    f"{EXTENSION_LIMIT >> 20} MiB limit"
                )
        if typ == b"x":
            extended.pax.update(parse_pax(self._read_data(size)))
        elif typ == b"g":
            self._add_global(parse_pax(self._read_data(size)))
            if self._global_bytes > EXTENSION_LIMIT:
                raise ImageFormatError(
                    f"{self.what}: the PAX global headers hold over {EXTENSION_LIMIT >> 20} MiB of records"
                )
        elif typ == b"L":
            extended.long_name = self._read_data(size).split(b"\0", 1)[0]
        else:
            extended.long_link = self._read_data(size).split(b"\0", 1)[0]

    def _apply_pax(
        self, ext: dict[bytes, bytes], name: bytes, linkname: bytes, size: int, uid: int, gid: int
    ) -> tuple[bytes, bytes, int, int, int]:
        """The header's name, link, size and owner as the PAX records (global, then the member's) override them."""
        try:
            return (
                ext.get(b"path", name),
                ext.get(b"linkpath", linkname),
                int(ext[b"size"]) if b"size" in ext else size,
                int(ext[b"uid"]) if b"uid" in ext else uid,
                int(ext[b"gid"]) if b"gid" in ext else gid,
            )
        except ValueError:
            raise ImageFormatError(f"{self.what}: bad number in a PAX header") from None

    def run_members(
        self, run: MemberRun, xxh3: Callable[[ReadableBuffer], int], paths: list[bytes], links: dict[int, str]
    ) -> tuple[int, bytes, bytes, bytes, bytes, bytes, bytes] | None:
        """Lets ``run`` (the C loop, :func:`dive_py.layers._tarfast.scan_run`) read the members buffered ahead.

        It appends each member's path to ``paths`` and link target to ``links`` (by row), reads headers and
        contents as :meth:`next` and :meth:`hash_content` do, and stops at the first member it leaves to
        :meth:`next` (or at the end of the buffer). Returns None when it read nothing (PAX global records
        apply, or no header is buffered), else the run's total size and its kind, size, mode, uid, gid
        and content-hash columns (as bytes).
        """
        self._skip_pending()
        if self._global or len(self._buf) - self._pos < BLOCK:
            return None
        pos, run_bytes, kinds, sizes, modes, uids, gids, hashes = run(self._buf, self._pos, xxh3, paths, links)
        self._pos = pos
        if not kinds:
            return None
        self.member_count += len(kinds)
        return run_bytes, kinds, sizes, modes, uids, gids, hashes

    def hash_content(self, size: int) -> int:
        """Reads the current member's ``size`` content bytes and returns their xxh3-64."""
        pending = self._pending
        self._pending = 0
        buf, pos = self._buf, self._pos
        if size <= pending <= len(buf) - pos:  # content and padding at hand (nearly always)
            self._pos = pos + pending
            return xxhash.xxh3_64_intdigest(memoryview(buf)[pos : pos + size])
        if len(buf) - pos >= size:
            digest = xxhash.xxh3_64_intdigest(memoryview(buf)[pos : pos + size])
            self._pos = pos + size
        else:
            hasher = xxhash.xxh3_64()
            self._consume(size, hasher.update)
            digest = hasher.intdigest()
        self._consume_padding(pending - size)
        return digest

    def _consume_padding(self, n: int) -> None:
        """Skips a member's padding; a stream that ends inside it ends the archive (umoci)."""
        if n <= 0:
            return
        avail = len(self._buf) - self._pos
        if avail >= n:
            self._pos += n
            return
        self._pos = len(self._buf)
        if not self._fill(n - avail):
            self._pos = len(self._buf)
            self.unterminated = True
            return
        self._pos += n - avail

    def read_content(self, size: int, limit: int = 64 << 20) -> bytes:
        """Reads the current member's content into memory (small members such as JSON)."""
        if size > limit:
            raise ImageFormatError(f"{self.what}: member of {size} bytes is too large to read")
        if self._sparse is not None:
            stream = self.content_stream(size)
            sparse_parts = []
            while piece := stream.read(size):
                sparse_parts.append(piece)
            stream.finish()
            return b"".join(sparse_parts)
        parts: list[bytes] = []
        pending = self._pending
        self._pending = 0
        self._consume(size, lambda view: parts.append(bytes(view)))
        self._consume_padding(pending - size)
        return b"".join(parts)

    def content_stream(self, size: int) -> _MemberStream | SparseStream:
        """A ``read(n)`` view of the current member's content, for a nested tar or blob.

        A PAX sparse file reads as its real content: its stored fragments with zeros in the holes.
        """
        sparse = self._sparse
        if sparse is None:
            return _MemberStream(self, size)
        return SparseStream(_MemberStream(self, sum(length for _, length in sparse)), sparse, size)

    def __iter__(self) -> Iterator[TarHeader]:
        while (header := self.next()) is not None:
            yield header


class _MemberStream:
    """Reads one member's content from a :class:`TarReader` without copying it whole."""

    def __init__(self, reader: TarReader, size: int) -> None:
        self._reader = reader
        self._left = size
        self._padding = reader._pending - size
        reader._pending = 0

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if n < 0 or n > self._left:
            n = self._left
        reader = self._reader
        if len(reader._buf) - reader._pos == 0:
            if not reader._fill(1):
                raise ImageFormatError(f"{reader.what} is truncated: a member's content runs past the end")
        avail = len(reader._buf) - reader._pos
        take = min(avail, n)
        data = reader._buf[reader._pos : reader._pos + take]
        reader._pos += take
        self._left -= take
        return data

    def finish(self) -> None:
        """Skips what the consumer did not read, and the padding."""
        rest = self._left + self._padding
        self._left = self._padding = 0
        if rest > 0:
            self._reader._consume(rest, None)
