"""Provides the layer-tar reader: one blob stream in, one :class:`LayerScan` out.

Compression is sniffed from the first bytes (the media type may lie). The blob is
read once: its sha256 is checked against the digest the image names while the tar
inside is parsed, and every regular file's content is hashed in place.
"""

from __future__ import annotations

import os
import posixpath
import re
import zlib
from collections.abc import Callable

import xxhash

from dive_py.errors import ImageFormatError, UnsafePathError
from dive_py.layers.columns import LayerColumns
from dive_py.layers.compression import HashingReader, decompressing_reader
from dive_py.layers.headers import number
from dive_py.layers.tarscan import BLOCK, TarHeader, TarReader
from dive_py.model import (
    BLOCK_DEVICE,
    CHAR_DEVICE,
    DIRECTORY,
    FIFO,
    HARDLINK,
    OPAQUE_MARKER,
    REGULAR,
    SYMLINK,
    WHITEOUT_PREFIX,
    LayerScan,
    LazyLayerScan,
)

try:  # the hot loop in C (optional: built when a compiler is at hand; DIVEPY_PURE_PYTHON=1 turns it off)
    from dive_py.layers._tarfast import scan_run as _scan_run
except ImportError:  # pragma: no cover - depends on the build
    _scan_run = None
if os.environ.get("DIVEPY_PURE_PYTHON"):
    _scan_run = None

_KINDS = {
    b"0": REGULAR,
    b"\0": REGULAR,
    b"": REGULAR,
    b"7": REGULAR,
    b"S": REGULAR,  # GNU sparse: the stored (non-hole) bytes are what the layer ships
    b"1": HARDLINK,
    b"2": SYMLINK,
    b"3": CHAR_DEVICE,
    b"4": BLOCK_DEVICE,
    b"5": DIRECTORY,
    b"6": FIFO,
}
"""Tar type flags the analysis understands; other types are skipped with a warning."""


def clean_member_path(raw: bytes, what: str) -> str | None:
    """Turns a member name into a clean relative path, or None for the root itself.

    Raises:
        UnsafePathError: the name escapes the root, holds NUL or is not UTF-8.
    """
    if b"\0" in raw:
        raise UnsafePathError(f"{what}: member name contains a NUL byte: {raw[:80]!r}")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafePathError(f"{what}: member name is not valid UTF-8: {raw[:80]!r}") from None
    # Absolute names are legal in layer tars and mean the same as relative ones.
    path = name.lstrip("/")
    fast = path[2:] if path.startswith("./") else path
    if fast and "//" not in fast and "/." not in fast and fast[0] not in "./":
        # Already normal (no empty, "." or ".." part): what normpath would return, ~1 µs sooner.
        return fast[:-1] if fast[-1] == "/" else fast
    path = posixpath.normpath(path)
    if path == ".":
        return None
    if path == ".." or path.startswith("../"):
        raise UnsafePathError(f"{what}: member name escapes the image root: {name[:200]!r}")
    return path


def scan_layer(
    read: Callable[[int], bytes],
    what: str,
    *,
    expected_digest: str | None = None,
    expected_diff_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    verify: bool = True,
) -> LayerScan:
    """Reads one layer blob (plain, gzip or zstd tar) into a :class:`LayerScan`.

    Args:
        read: ``read(n)`` of the blob as stored.
        what: how to name the layer in errors and warnings.
        expected_digest: sha256 digest of the stored blob, checked at its end.
        expected_diff_id: sha256 digest of the uncompressed tar, checked at its end.
        progress: called with the number of stored bytes read so far, now and then.
        verify: compute and check sha256 digests (off when a trusted cache vouches).

    Raises:
        ImageFormatError: the blob is not a (compressed) tar, is truncated or corrupt,
            or does not match a digest.
    """
    stored = HashingReader(read, expected_digest, what, enabled=verify)
    tar_read, compression = decompressing_reader(_progress_reader(stored, progress), what)
    if compression == "none":
        # Plain tar: the blob is the tar, so one hash serves both digests.
        plain = stored
        if expected_diff_id and expected_digest and expected_diff_id != expected_digest:
            raise ImageFormatError(f"{what}: uncompressed blob's digest differs from its diff_id")
        stored.expected = expected_digest or expected_diff_id
        if not expected_digest:
            stored.label = "diff_id"
    else:
        plain = HashingReader(tar_read, expected_diff_id, what, enabled=verify)
        plain.label = "diff_id (uncompressed)"
    tar_bytes = plain.read if plain is not stored else tar_read
    reader = TarReader(tar_bytes, what)
    scan = LazyLayerScan()
    columns = _scan_members(reader, what, scan)
    scan.set_columns(columns)
    # Read to the end of the blob: digests cover every byte, padding included.
    while tar_bytes(1 << 20):
        pass
    while stored.read(1 << 20):
        pass
    stored.verify()
    if plain is not stored:
        plain.verify()
    scan.diff_id = plain.digest or expected_diff_id or ""
    if reader.unterminated:
        if reader.member_count == 0:
            raise ImageFormatError(f"{what}: layer is empty or not a tar")
        scan.warnings.append(f"{what}: layer tar ends without end-of-archive blocks (read what is there)")
    return scan


def _progress_reader(stored: HashingReader, progress: Callable[[int], None] | None) -> Callable[[int], bytes]:
    if progress is None:
        return stored.read

    def read(n: int = -1) -> bytes:
        data = stored.read(n)
        progress(stored.count)
        return data

    return read


_FAST_KINDS = bytes(
    ord(_KINDS[bytes([flag])]) if flag != ord("S") and bytes([flag]) in _KINDS else 0 for flag in range(256)
)
"""Kind letter (ASCII) by tar type flag byte, for the members the hot loop reads itself; 0 for the rest."""
_INT64 = 1 << 63

_UNCLEAN = re.compile(rb"//|/\.")
"""An empty, ``.`` or ``..`` part, or a dot file (maybe a whiteout): the general path cleans such names.
One search costs ~130 ns where ``in`` twice cost ~330 ns (100k members a large image)."""

_F, _D, _L, _H = (ord(kind) for kind in (REGULAR, DIRECTORY, SYMLINK, HARDLINK))


def _scan_members(reader: TarReader, what: str, scan: LayerScan) -> LayerColumns:
    """Reads every member into columns; whiteouts and warnings go to ``scan``.

    One loop does the work of :meth:`TarReader.next`, :func:`clean_member_path` and
    :meth:`TarReader.hash_content` inline for the members that need nothing special (a
    plain header, a clean relative name, no whiteout), which are nearly all: a call costs
    ~0.1 µs and a member took a dozen. Any other member, and every buffer refill, goes
    through the reader's general path (:func:`_add_member`), which also re-checks what
    the fast path turned down: both read a member the same way.
    """
    columns = LayerColumns()
    paths, kinds, sizes = columns.paths, columns.kinds, columns.sizes
    modes, uids, gids, hashes, links = columns.modes, columns.uids, columns.gids, columns.hashes, columns.links
    attributes: dict[bytes, tuple[int, int, int]] = {}  # mode, uid and gid fields repeat: parse each once
    adler32, xxh3, fast_kinds, unclean = zlib.adler32, xxhash.xxh3_64_intdigest, _FAST_KINDS, _UNCLEAN.search
    size_total = fast_members = 0
    buf, pos = reader._buf, reader._pos
    view, end = memoryview(buf), len(buf)
    fast = not reader._global
    # Bound methods: each saves an attribute lookup a member and column.
    add_path, add_kind, add_size, add_hash = paths.append, kinds.append, sizes.append, hashes.append
    add_mode, add_uid, add_gid = modes.append, uids.append, gids.append
    run = _scan_run
    while True:
        if run is not None and fast and end - pos >= BLOCK:
            # A run of members in C (plain ones, and those behind PAX or GNU long-name headers, read as
            # the general path reads them); the member it stops at (if any) is read below.
            pos, run_bytes, run_kinds, run_sizes, run_modes, run_uids, run_gids, run_hashes = run(
                buf, pos, xxh3, paths, links
            )
            if run_kinds:
                kinds += run_kinds
                sizes.frombytes(run_sizes)
                modes.frombytes(run_modes)
                uids.frombytes(run_uids)
                gids.frombytes(run_gids)
                hashes.frombytes(run_hashes)
                size_total += run_bytes
                fast_members += len(run_kinds)
        if fast and end - pos >= BLOCK:
            block = buf[pos : pos + BLOCK]
            kind = fast_kinds[block[156]]
            size = -1
            if kind:
                try:
                    size = int(block[124:136].rstrip(b"\0 "), 8)
                    checksum = int(block[148:156].rstrip(b"\0 "), 8)
                except ValueError:
                    size = -1
            # Adler-32's low half is 1 + the byte sum mod 65521 (see headers.checksum_ok).
            if size >= 0 and (checksum - (adler32(block) & 0xFFFF) + 1 + sum(block[148:156]) - 256) % 65521 == 0:
                name = block[:100].partition(b"\0")[0]
                if block[345] and block[257:263] == b"ustar\0":
                    name = block[345:500].partition(b"\0")[0] + b"/" + name
                path = name[2:] if name[:2] == b"./" else name
                # Clean already (no "", "." or ".." part, no whiteout, not absolute): else the general path.
                if path and path[0] != 46 and path[0] != 47 and unclean(path) is None:
                    if path[-1] == 47:
                        path = path[:-1]
                        if kind == _F:
                            kind = _D  # pre-POSIX tars mark folders by a trailing slash only
                    attribute = block[100:124]
                    mode_uid_gid = attributes.get(attribute)
                    if mode_uid_gid is None:
                        mode_uid_gid = attributes[attribute] = (
                            number(block[100:108], "mode") & 0o7777,
                            number(block[108:116], "uid"),
                            number(block[116:124], "gid"),
                        )
                    pos += BLOCK
                    digest = 0
                    if kind == _F:
                        padded = pos + ((size + BLOCK - 1) & -BLOCK)
                        if padded <= end:
                            digest = xxh3(view[pos : pos + size])
                            pos = padded
                        else:  # the content runs past the buffer: the reader refills
                            reader._pos, reader._pending = pos, padded - pos
                            digest = reader.hash_content(size)
                            buf, pos = reader._buf, reader._pos
                            view, end = memoryview(buf), len(buf)
                    elif kind == _L or kind == _H:
                        links[len(paths)] = block[157:257].partition(b"\0")[0].decode("utf-8", "surrogateescape")
                    add_path(path)
                    add_kind(kind)
                    add_size(size)
                    add_mode(mode_uid_gid[0])
                    add_uid(mode_uid_gid[1])
                    add_gid(mode_uid_gid[2])
                    add_hash(digest)
                    size_total += size
                    fast_members += 1
                    continue
        reader._pos = pos
        header = reader.next()
        if header is None:
            break
        size_total += header.size
        _add_member(columns, scan, reader, header, what)
        reader._skip_pending()
        buf, pos = reader._buf, reader._pos
        view, end = memoryview(buf), len(buf)
        fast = not reader._global
    scan.size_bytes = size_total
    reader.member_count += fast_members
    scan.member_count = reader.member_count
    scan.warnings.extend(columns.finish(what))
    return columns


def _add_member(columns: LayerColumns, scan: LayerScan, reader: TarReader, header: TarHeader, what: str) -> None:
    """Reads one member the general way: any name, type, whiteout or extended header."""
    for field, value in (("size", header.size), ("uid", header.uid), ("gid", header.gid)):
        if not -_INT64 <= value < _INT64:  # PAX and base-256 numbers have no bound; the columns are 64-bit
            raise ImageFormatError(f"{what}: {field} out of range in a tar header ({str(value)[:30]})")
    path = clean_member_path(header.name, what)
    if path is None:
        return
    kind = _KINDS.get(header.type)
    if kind is None:
        scan.warnings.append(f"{what}: skipped {path!r} of unsupported tar type {header.type!r}")
        return
    base = path.rpartition("/")[2]
    if base.startswith(WHITEOUT_PREFIX):
        _record_whiteout(scan, path, base, (header.mode & 0o7777, header.uid, header.gid))
        return
    if kind == REGULAR and header.name.endswith(b"/"):
        kind = DIRECTORY  # pre-POSIX tars mark folders by a trailing slash only
    # A PAX sparse file's hash covers its stored fragments (header.size is its real size): see layers/sparse.py.
    content_hash = reader.hash_content(header.data_size) if kind == REGULAR else 0
    link = ""
    if kind in (SYMLINK, HARDLINK):
        link = header.linkname.decode("utf-8", "surrogateescape")
    columns.append(
        path.encode("utf-8"), kind, header.size, header.mode & 0o7777, header.uid, header.gid, link, content_hash
    )


def _record_whiteout(scan: LayerScan, path: str, base: str, attributes: tuple[int, int, int]) -> None:
    """Records a whiteout or opaque marker; a whiteout keeps its member's mode, uid and gid (``--json``)."""
    parent = path.rpartition("/")[0]
    if base == OPAQUE_MARKER:
        scan.opaques.append(parent)
    elif base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
        return  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a deletion
    else:
        name = base[len(WHITEOUT_PREFIX) :]
        deleted = f"{parent}/{name}" if parent else name
        scan.whiteouts.append(deleted)
        scan.whiteout_attributes[deleted] = attributes
