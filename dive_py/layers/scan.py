"""Provides the layer-tar reader: one blob stream in, one :class:`LayerScan` out.

Compression is sniffed from the first bytes (the media type may lie). The blob is
read once: its sha256 is checked against the digest the image names while the tar
inside is parsed, and every regular file's content is hashed in place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import xxhash

from dive_py.errors import ImageFormatError
from dive_py.layers.columns import LayerColumns
from dive_py.layers.compression import HashingReader, decompressing_reader
from dive_py.layers.headers import TarHeader
from dive_py.layers.paths import clean_member_path
from dive_py.layers.tarscan import MemberRun, TarReader
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

_scan_run: MemberRun | None
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


_INT64 = 1 << 63


def _scan_members(reader: TarReader, what: str, scan: LayerScan) -> LayerColumns:
    """Reads every member into columns; whiteouts and warnings go to ``scan``.

    The runs of members the C loop reads (plain ones, and those behind PAX or GNU long-name headers, read
    as :meth:`TarReader.next` reads them) come from :meth:`TarReader.run_members`; the member a run stops
    at, and every member without the C loop, through :meth:`TarReader.next` (:func:`_add_member`).
    """
    columns = LayerColumns()
    paths, links = columns.paths, columns.links
    xxh3, run = xxhash.xxh3_64_intdigest, _scan_run
    size_total = 0
    while True:
        if run is not None:
            found = reader.run_members(run, xxh3, paths, links)
            if found is not None:
                run_bytes, run_kinds, run_sizes, run_modes, run_uids, run_gids, run_hashes = found
                columns.kinds += run_kinds
                columns.sizes.frombytes(run_sizes)
                columns.modes.frombytes(run_modes)
                columns.uids.frombytes(run_uids)
                columns.gids.frombytes(run_gids)
                columns.hashes.frombytes(run_hashes)
                size_total += run_bytes
        header = reader.next()
        if header is None:
            break
        size_total += header.size
        _add_member(columns, scan, reader, header, what)
    scan.size_bytes = size_total
    scan.member_count = reader.member_count
    scan.warnings.extend(columns.finish(what))
    return columns


def _add_member(columns: LayerColumns, scan: LayerScan, reader: TarReader, header: TarHeader, what: str) -> None:
    """Reads one member: any name, type, whiteout or extended header."""
    size, uid, gid = header.size, header.uid, header.gid
    if not (-_INT64 <= size < _INT64 and -_INT64 <= uid < _INT64 and -_INT64 <= gid < _INT64):
        # PAX and base-256 numbers have no bound; the columns are 64-bit.
        for field, value in (("size", size), ("uid", uid), ("gid", gid)):
            if not -_INT64 <= value < _INT64:
                raise ImageFormatError(f"{what}: {field} out of range in a tar header ({str(value)[:30]})")
    raw = header.name
    path = raw[2:] if raw[:2] == b"./" else raw
    kind = _KINDS.get(header.type)
    if kind is None or not path or path[0] == 46 or path[0] == 47 or _UNCLEAN.search(path) is not None:
        clean = clean_member_path(raw, what)
        if clean is None:
            return
        if kind is None:
            scan.warnings.append(f"{what}: skipped {clean!r} of unsupported tar type {header.type!r}")
            return
        base = clean.rpartition("/")[2]
        if base.startswith(WHITEOUT_PREFIX):
            _record_whiteout(scan, clean, base, (header.mode & 0o7777, uid, gid))
            return
        path = clean.encode("utf-8")
    # Else already clean (no "", "." or ".." part, no whiteout, not absolute, no NUL): kept as bytes;
    # LayerColumns.finish checks every path is UTF-8 at once.
    if raw[-1:] == b"/":
        path = path.rstrip(b"/") if path[-1:] == b"/" else path
        if kind == REGULAR:
            kind = DIRECTORY  # pre-POSIX tars mark folders by a trailing slash only
    # A PAX sparse file's hash covers its stored fragments (header.size is its real size): see layers/sparse.py.
    content_hash = reader.hash_content(header.data_size) if kind == REGULAR else 0
    if kind in _LINKS and header.linkname:
        columns.links[len(columns.paths)] = header.linkname.decode("utf-8", "surrogateescape")
    # LayerColumns.append's work, without its call (~0.3 µs a member).
    columns.paths.append(path)
    columns.kinds.append(ord(kind))
    columns.sizes.append(size)
    columns.modes.append(header.mode & 0o7777)
    columns.uids.append(uid)
    columns.gids.append(gid)
    columns.hashes.append(content_hash)


_UNCLEAN = re.compile(rb"//|/\.|\0")
"""An empty, ``.`` or ``..`` part, a dot file (maybe a whiteout) or a NUL: :func:`clean_member_path` reads
such names. One search costs ~130 ns where ``in`` twice cost ~330 ns (100k members a large image)."""
_LINKS = frozenset((SYMLINK, HARDLINK))


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
