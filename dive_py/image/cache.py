"""Provides the layer cache and the compact encoding of a :class:`LayerScan`.

A scan is stored as columns (joined path bytes, ``array`` numbers) rather than objects:
100k records encode in ~20 ms and decode in ~60 ms, where pickled objects cost several
times that (``../shared/PERF-NOTES.md``). The same encoding carries scans back from the
worker processes of :mod:`dive_py.image.parallel`.

Entries live in ``$XDG_CACHE_HOME/divepy/layers-v<N>`` (``~/.cache/divepy``), one file a
layer, named by the blob's declared digest and its size in the archive. A digest the
layout states (``blobs/sha256/HEX``, a config's ``diff_ids``) is what a full scan would
verify, so a blob that changed has another digest and another entry. A rewritten blob
that keeps a stale name is caught by its size and a sampled fingerprint (head, tail and
middle slices). Entries are written to a temporary file and renamed into place, so
concurrent runs never read half an entry; a trailing checksum catches corrupt ones,
which are ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import sys
import tempfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import xxhash

from dive_py.image.model import FileEntry, LayerScan

CACHE_VERSION = 1
"""Bump whenever a scan's content or this encoding changes: old entries are then never read."""

CACHE_MIN_BLOB = 256 << 10
"""Smaller layers scan in about the time a cache lookup takes; they are not cached."""

FINGERPRINT_SLICES = 8
FINGERPRINT_SLICE = 16 << 10
"""The fingerprint reads 8 × 16 KiB spread over the blob: ~1 ms, however large the blob."""

_MAGIC = b"DIVEPYSC"
_HEADER = struct.Struct("<8sII")  # magic, version, meta length
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COLUMNS = (("sizes", "q"), ("modes", "I"), ("uids", "q"), ("gids", "q"), ("hashes", "Q"))
_WHAT = "\x00what\x00"
"""Stands for the layer's name (``archive: layer N (blob)``) in stored warnings."""


def _checked_typecodes() -> None:
    for _name, code in _COLUMNS:
        if array(code).itemsize != 8 and code in "qQ":
            raise RuntimeError("64-bit array items are required")  # pragma: no cover


_checked_typecodes()


def encode_scan(scan: LayerScan, what: str = "") -> bytes:
    """Encodes a scan as columns; ``what`` (the layer's name in warnings) is left out.

    Returns:
        Bytes for :func:`decode_scan`, ending with an xxh3-64 checksum of the rest.
    """
    entries = list(scan.entries.values())
    paths = "\0".join(e.path for e in entries).encode("utf-8", "surrogatepass")
    kinds = "".join(e.kind for e in entries).encode("ascii")
    columns = {
        "sizes": array("q", [e.size for e in entries]),
        "modes": array("I", [e.mode for e in entries]),
        "uids": array("q", [e.uid for e in entries]),
        "gids": array("q", [e.gid for e in entries]),
        "hashes": array("Q", [e.hash for e in entries]),
    }
    links = [[i, e.link] for i, e in enumerate(entries) if e.link]
    warnings = [_WHAT + w[len(what) :] if what and w.startswith(what) else w for w in scan.warnings]
    meta = {
        "count": len(entries),
        "paths": len(paths),
        "links": links,
        "whiteouts": scan.whiteouts,
        "opaques": scan.opaques,
        "size_bytes": scan.size_bytes,
        "member_count": scan.member_count,
        "diff_id": scan.diff_id,
        "warnings": warnings,
        "byteorder": sys.byteorder,
    }
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode("utf-8", "surrogatepass")
    parts = [_HEADER.pack(_MAGIC, CACHE_VERSION, len(meta_bytes)), meta_bytes, paths, kinds]
    parts.extend(columns[name].tobytes() for name, _code in _COLUMNS)
    body = b"".join(parts)
    return body + xxhash.xxh3_64_digest(body)


class CorruptEntryError(ValueError):
    """Encoded bytes that are truncated, from another version, or fail their checksum."""


def decode_scan(data: bytes, what: str = "") -> LayerScan:
    """Rebuilds the :class:`LayerScan` that :func:`encode_scan` encoded.

    Raises:
        CorruptEntryError: the bytes are not a complete entry of this version.
    """
    if len(data) < _HEADER.size + 8 or xxhash.xxh3_64_digest(memoryview(data)[:-8]) != data[-8:]:
        raise CorruptEntryError("checksum mismatch or truncated")
    magic, version, meta_len = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != CACHE_VERSION:
        raise CorruptEntryError("not a scan of this version")
    pos = _HEADER.size
    try:
        meta = json.loads(data[pos : pos + meta_len].decode("utf-8", "surrogatepass"))
        pos += meta_len
        count = meta["count"]
        paths_end = pos + meta["paths"]
        paths = data[pos:paths_end].decode("utf-8", "surrogatepass").split("\0") if count else []
        kinds = data[paths_end : paths_end + count].decode("ascii")
        pos = paths_end + count
        columns = {}
        for name, code in _COLUMNS:
            column = array(code)
            end = pos + count * column.itemsize
            column.frombytes(data[pos:end])
            if meta["byteorder"] != sys.byteorder:
                column.byteswap()
            columns[name] = column
            pos = end
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise CorruptEntryError(f"malformed entry ({exc})") from None
    if pos != len(data) - 8 or len(paths) != count or len(kinds) != count:
        raise CorruptEntryError("column lengths disagree")
    links = [""] * count
    for index, link in meta["links"]:
        links[index] = link
    entries = {
        path: FileEntry(path, kind, size, mode, uid, gid, link, digest)
        for path, kind, size, mode, uid, gid, link, digest in zip(
            paths,
            kinds,
            columns["sizes"],
            columns["modes"],
            columns["uids"],
            columns["gids"],
            links,
            columns["hashes"],
            strict=True,
        )
    }
    warnings = [what + w[len(_WHAT) :] if w.startswith(_WHAT) else w for w in meta["warnings"]]
    return LayerScan(
        entries=entries,
        whiteouts=meta["whiteouts"],
        opaques=meta["opaques"],
        size_bytes=meta["size_bytes"],
        member_count=meta["member_count"],
        diff_id=meta["diff_id"],
        warnings=warnings,
    )


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy`` (``$DIVEPY_CACHE_DIR`` overrides both)."""
    explicit = os.environ.get("DIVEPY_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "divepy")


@dataclass(frozen=True)
class CacheKey:
    """Names one layer's entry: the digest the layout declares for it and the blob's size."""

    digest: str
    """``sha256:<hex>`` of the blob as stored, or of the uncompressed tar (``kind`` says which)."""
    kind: str
    """``digest`` or ``diff_id``."""
    blob_size: int

    def file_name(self) -> str:
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


def fingerprint(read_at: Callable[[int, int], bytes], size: int) -> str:
    """xxh3-64 of a few slices spread over a blob (``read_at(offset, length)``)."""
    hasher = xxhash.xxh3_64()
    hasher.update(size.to_bytes(8, "little"))
    if size <= FINGERPRINT_SLICES * FINGERPRINT_SLICE:
        hasher.update(read_at(0, size))
    else:
        step = (size - FINGERPRINT_SLICE) // (FINGERPRINT_SLICES - 1)
        for i in range(FINGERPRINT_SLICES):
            hasher.update(read_at(i * step, FINGERPRINT_SLICE))
    return hasher.hexdigest()


def file_reader_at(path: str, base: int = 0) -> Callable[[int, int], bytes]:
    """A ``read_at(offset, length)`` over a file region starting at ``base``."""

    def read_at(offset: int, length: int) -> bytes:
        with open(path, "rb") as f:
            return os.pread(f.fileno(), length, base + offset)

    return read_at


class LayerCache:
    """Scans of layers on disk, by :class:`CacheKey`; every failure reads as a miss.

    Args:
        root: the cache folder (default :func:`default_cache_dir`).
    """

    def __init__(self, root: str | None = None) -> None:
        self.root = os.path.join(root or default_cache_dir(), f"layers-v{CACHE_VERSION}")
        self.hits = 0
        self.misses = 0

    def path_for(self, key: CacheKey) -> str:
        return os.path.join(self.root, key.file_name())

    def get(self, key: CacheKey, fingerprint_value: str, what: str = "") -> LayerScan | None:
        """The stored scan, or None when missing, corrupt, stale or unreadable."""
        try:
            with open(self.path_for(key), "rb") as f:
                data = f.read()
        except OSError:
            self.misses += 1
            return None
        stored_print, sep, rest = data.partition(b"\n")
        if not sep or stored_print.decode("ascii", "replace") != fingerprint_value:
            self.misses += 1
            return None
        try:
            scan = decode_scan(rest, what)
        except CorruptEntryError:
            self.misses += 1
            return None
        self.hits += 1
        return scan

    def put(self, key: CacheKey, fingerprint_value: str, encoded: bytes) -> bool:
        """Stores an encoded scan atomically (temp file, then rename); False if it could not."""
        target = self.path_for(key)
        folder = os.path.dirname(target)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(fingerprint_value.encode("ascii") + b"\n")
                f.write(encoded)
            os.replace(temp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            return False
        return True
