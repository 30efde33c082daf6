"""Provides the layer-scan store of the cache and the compact encoding of a :class:`LayerScan`.

A scan is stored as columns (joined path bytes, ``array`` numbers) rather than objects:
100k records encode in ~20 ms and decode in ~60 ms, where pickled objects cost several
times that (``../shared/PERF-NOTES.md``). The same encoding carries scans back from the
worker processes of :mod:`dive_py.load.parallel`. A scan read from the cache decodes its
small metadata at once and its entries only when something asks for them
(:class:`CachedLayerScan`), so ``--ci`` with cached figures never builds them.

Entries live in ``$XDG_CACHE_HOME/divepy/layers-v<N>`` (``~/.cache/divepy``), one file a
layer, named by the blob's declared digest and its size in the archive. An entry is
written only after a full scan verified the blob against that digest. Using it again
needs the same bytes: beside each entry, a small ``.where`` file lists the file regions
(real path, device, inode, size, mtime and ctime in ns, offset, length) the digest was
verified in; a blob read from one of those, unchanged, is trusted as is. Any other blob
(another file, or the same file touched since) is sha256-hashed as stored, which is cheap
next to a scan, and the entry serves only when the hash matches (then the region is
recorded). Entries are written to a temporary file and renamed into place, so concurrent
runs never read half an entry; a trailing checksum catches corrupt ones, which are
ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import Any

import xxhash

from dive_py.cache.remote import remote_store
from dive_py.cache.store import CACHE_VERSION, cache_open, cache_write, default_cache_dir, layers_dir
from dive_py.layers.columns import NUMBER_COLUMNS, LayerColumns, make_entries
from dive_py.model import FileEntry, LayerScan, LazyLayerScan

Region = list[str | int]
"""A file region as :func:`file_region` names it (a list: it is stored as JSON and compared as read)."""

CACHE_MIN_BLOB = 256 << 10
"""Smaller layers scan in about the time a cache lookup takes; they are not cached."""

REGIONS_KEPT = 8
"""File regions remembered per entry (the same layer in several archives, or copies of one)."""

_MAGIC = b"DIVEPYSC"
_HEADER = struct.Struct("<8sII")  # magic, version, meta length
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_WHAT = "\x00what\x00"
"""Stands for the layer's name (``archive: layer N (blob)``) in stored warnings."""


def _checked_typecodes() -> None:
    for _name, code in NUMBER_COLUMNS:
        if array(code).itemsize != 8 and code in "qQ":
            raise RuntimeError("64-bit array items are required")  # pragma: no cover


_checked_typecodes()


def encode_scan(scan: LayerScan, what: str = "") -> bytes:
    """Encodes a scan as columns; ``what`` (the layer's name in warnings) is left out.

    Returns:
        Bytes for :func:`decode_scan`, ending with an xxh3-64 checksum of the rest.
    """
    columns = getattr(scan, "columns", None)  # a fresh scan's; else made from the entries
    if columns is None:
        columns = LayerColumns.from_entries(scan.entries)
    paths = b"\0".join(columns.paths)
    warnings = [_WHAT + w[len(what) :] if what and w.startswith(what) else w for w in scan.warnings]
    meta = {
        "count": len(columns),
        "paths": len(paths),
        "links": sorted(columns.links.items()),
        "whiteouts": scan.whiteouts,
        "whiteout_attributes": scan.whiteout_attributes,
        "opaques": scan.opaques,
        "size_bytes": scan.size_bytes,
        "member_count": scan.member_count,
        "diff_id": scan.diff_id,
        "warnings": warnings,
        "byteorder": sys.byteorder,
    }
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode("utf-8", "surrogatepass")
    parts = [_HEADER.pack(_MAGIC, CACHE_VERSION, len(meta_bytes)), meta_bytes, paths, columns.kinds]
    parts.extend(getattr(columns, name) for name, _code in NUMBER_COLUMNS)
    checksum = xxhash.xxh3_64()
    for part in parts:
        checksum.update(part)
    parts.append(checksum.digest())
    return b"".join(parts)  # one copy: a 100k-entry scan is ~10 MB, and workers are measured by their peak


class CorruptEntryError(ValueError):
    """Encoded bytes that are truncated, from another version, or fail their checksum."""


def decode_scan(data: bytes, what: str = "") -> LayerScan:
    """Rebuilds the :class:`LayerScan` that :func:`encode_scan` encoded.

    Raises:
        CorruptEntryError: the bytes are not a complete entry of this version.
    """
    scan = decode_scan_lazily(data, what)
    scan.entries  # noqa: B018 - decodes the columns now
    return scan


def decode_scan_lazily(data: bytes, what: str = "") -> CachedLayerScan:
    """Like :func:`decode_scan`, but the entries are decoded on first access.

    The checksum and the metadata are checked now: a corrupt entry raises here, never later.
    """
    if len(data) < _HEADER.size + 8 or xxhash.xxh3_64_digest(memoryview(data)[:-8]) != data[-8:]:
        raise CorruptEntryError("checksum mismatch or truncated")
    magic, version, meta_len = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != CACHE_VERSION:
        raise CorruptEntryError("not a scan of this version")
    pos = _HEADER.size
    try:
        meta = json.loads(data[pos : pos + meta_len].decode("utf-8", "surrogatepass"))
        count = meta["count"]
        end = pos + meta_len + meta["paths"] + count + sum(count * array(code).itemsize for _n, code in NUMBER_COLUMNS)
        warnings = [what + w[len(_WHAT) :] if w.startswith(_WHAT) else w for w in meta["warnings"]]
        scan = CachedLayerScan(
            lambda: _decode_entries(data, pos + meta_len, meta),
            whiteouts=meta["whiteouts"],
            whiteout_attributes=_whiteout_attributes(meta["whiteout_attributes"]),
            opaques=meta["opaques"],
            size_bytes=meta["size_bytes"],
            member_count=meta["member_count"],
            diff_id=meta["diff_id"],
            warnings=warnings,
        )
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise CorruptEntryError(f"malformed entry ({exc})") from None
    if end != len(data) - 8 or not isinstance(count, int) or count < 0:
        raise CorruptEntryError("column lengths disagree")
    return scan


def _whiteout_attributes(stored: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """The whiteouts' (mode, uid, gid) by path; each distinct triple is one tuple (they repeat)."""
    shared: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    attributes = {}
    for path, (mode, uid, gid) in stored.items():
        triple = (int(mode), int(uid), int(gid))
        attributes[str(path)] = shared.setdefault(triple, triple)
    return attributes


def _decode_entries(data: bytes, pos: int, meta: dict[str, Any]) -> dict[str, FileEntry]:
    count = meta["count"]
    paths_end = pos + meta["paths"]
    # Straight to the path strings the entries keep: no per-path bytes objects in between, which would be
    # freed among the long-lived entries and leave the heap fragmented (~20 MB on the 101k-file image).
    paths = data[pos:paths_end].decode("utf-8", "surrogatepass").split("\0") if count else []
    kinds = data[paths_end : paths_end + count]
    pos = paths_end + count
    columns = []
    for _name, code in NUMBER_COLUMNS:
        column = array(code)
        end = pos + count * column.itemsize
        column.frombytes(data[pos:end])
        if meta["byteorder"] != sys.byteorder:
            column.byteswap()
        columns.append(column)
        pos = end
    if len(paths) != count:
        raise CorruptEntryError("column lengths disagree")  # pragma: no cover - the checksum matched
    links = {int(index): str(link) for index, link in meta["links"]}
    sizes, modes, uids, gids, hashes = columns
    return make_entries(paths, kinds, sizes, modes, uids, gids, hashes, links)


class CachedLayerScan(LazyLayerScan):
    """A scan read from the cache: its ``entries`` are decoded from the cached bytes on first access.

    Everything else (sizes, whiteouts, diff_id, warnings) is there at once: ``--ci`` with
    cached figures needs no entries at all.
    """


@dataclass(frozen=True)
class CacheKey:
    """Names one layer's entry: the digest the layout declares for it and the blob's size."""

    digest: str
    """``sha256:<hex>`` of the blob as stored, or of the uncompressed tar (``kind`` says which)."""
    kind: str
    """``digest`` or ``diff_id``."""
    blob_size: int

    def file_name(self) -> str:
        """The scan's file name under the cache root, by digest, kind and blob size."""
        hexpart = self.digest.partition(":")[2]
        return f"{hexpart[:2]}/{hexpart}-{self.kind}-{self.blob_size}.scan"


def cache_key(expected_digest: str | None, expected_diff_id: str | None, blob_size: int) -> CacheKey | None:
    """The key for a layer whose layout states a sha256, or None (then it is never cached)."""
    if blob_size < CACHE_MIN_BLOB:
        return None
    if expected_digest and _DIGEST.fullmatch(expected_digest):
        return CacheKey(expected_digest, "digest", blob_size)
    if expected_diff_id and _DIGEST.fullmatch(expected_diff_id):
        return CacheKey(expected_diff_id, "diff_id", blob_size)
    return None


def file_region(path: str, offset: int, size: int) -> Region | None:
    """Names a blob's bytes in a file as it is now: real path, device, inode, size, mtime, ctime, offset, length.

    None when the file cannot be stat'ed or is no regular file (then nothing is trusted).
    """
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return [real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, offset, size]


class LayerCache:
    """Scans of layers on disk, by :class:`CacheKey`; every failure reads as a miss.

    Args:
        root: the cache folder (default :func:`default_cache_dir`).
    """

    def __init__(self, root: str | None = None) -> None:
        self.cache_root = root or default_cache_dir()
        self.root = layers_dir(self.cache_root)
        self.hits = 0
        self.misses = 0
        self.shared_hits = 0
        """Hits answered by the shared cache (then kept in the local one)."""

    def path_for(self, key: CacheKey) -> str:
        """Where the scan of ``key`` is stored."""
        return os.path.join(self.root, key.file_name())

    def get(self, key: CacheKey, what: str = "") -> CachedLayerScan | None:
        """The stored scan (entries decoded later), or None when missing, corrupt, stale or unreadable.

        A hit says what the blob's scan is, not that the blob at hand holds those bytes:
        see :meth:`vouches_for` and :meth:`remember`.
        """
        scan: CachedLayerScan | None
        try:
            with cache_open(self.cache_root, self.path_for(key)) as f:
                data = f.read()
                with contextlib.suppress(OSError):
                    os.utime(f.fileno())  # recently used: pruned last
            scan = decode_scan_lazily(data, what)
        except (OSError, CorruptEntryError):
            scan = self._get_shared(key, what)
            if scan is None:
                self.misses += 1
                return None
        self.hits += 1
        return scan

    def _get_shared(self, key: CacheKey, what: str) -> CachedLayerScan | None:
        """The scan from the shared cache (:mod:`dive_py.cache.remote`), then kept in the local one."""
        remote = remote_store()
        data = remote.get_bytes(self._shared_name(key)) if remote is not None else None
        if data is None:
            return None
        try:
            scan = decode_scan_lazily(data, what)
        except CorruptEntryError:
            remote.foreign(self._shared_name(key))  # type: ignore[union-attr]
            return None
        cache_write(self.cache_root, self.path_for(key), data)
        self.shared_hits += 1
        return scan

    def _shared_name(self, key: CacheKey) -> str:
        return f"{os.path.basename(self.root)}/{key.file_name()}"

    def put(self, key: CacheKey, encoded: bytes) -> bool:
        """Stores an encoded scan atomically (temp file, then rename), and in the shared cache if there is one;
        False if the local cache could not take it."""
        remote = remote_store()
        if remote is not None:
            remote.put_bytes(self._shared_name(key), encoded)
        return cache_write(self.cache_root, self.path_for(key), encoded)

    def _regions_path(self, key: CacheKey) -> str:
        return self.path_for(key)[: -len(".scan")] + ".where"

    def _regions(self, key: CacheKey) -> list[Region]:
        try:
            with cache_open(self.cache_root, self._regions_path(key)) as f:
                regions = json.loads(f.read())
        except (OSError, ValueError):
            return []
        return [r for r in regions if isinstance(r, list)] if isinstance(regions, list) else []

    def vouches_for(self, key: CacheKey, region: Region | None) -> bool:
        """Whether ``key``'s digest was verified over this very file region, unchanged since."""
        return region is not None and region in self._regions(key)

    def remember(self, key: CacheKey, region: Region | None) -> bool:
        """Records that the blob at ``region`` was just verified to match ``key``'s digest."""
        if region is None:
            return False
        same_place = (region[0], region[6])  # the same blob position in the same file: only its latest state counts
        regions = [region, *(r for r in self._regions(key) if len(r) == len(region) and (r[0], r[6]) != same_place)]
        data = json.dumps(regions[:REGIONS_KEPT], separators=(",", ":")).encode("utf-8", "surrogatepass")
        return cache_write(self.cache_root, self._regions_path(key), data)
