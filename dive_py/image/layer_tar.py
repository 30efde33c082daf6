"""Provides the layer-tar reader: one blob stream in, one :class:`LayerScan` out.

Compression is sniffed from the first bytes (the media type may lie). The blob is
read once: its sha256 is checked against the digest the image names while the tar
inside is parsed, and every regular file's content is hashed in place.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from dive_py.errors import ImageFormatError, UnsafePathError
from dive_py.image.compression import HashingReader, decompressing_reader
from dive_py.image.model import (
    BLOCK_DEVICE,
    CHAR_DEVICE,
    DIRECTORY,
    FIFO,
    HARDLINK,
    OPAQUE_MARKER,
    REGULAR,
    SYMLINK,
    WHITEOUT_PREFIX,
    FileEntry,
    LayerScan,
)
from dive_py.image.tarscan import TarReader

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
    scan = _scan_members(reader, what)
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


def _scan_members(reader: TarReader, what: str) -> LayerScan:
    scan = LayerScan()
    entries = scan.entries
    size_total = 0
    hardlinks: list[FileEntry] = []
    for header in reader:
        size_total += header.size
        path = clean_member_path(header.name, what)
        if path is None:
            continue
        kind = _KINDS.get(header.type)
        if kind is None:
            scan.warnings.append(f"{what}: skipped {path!r} of unsupported tar type {header.type!r}")
            continue
        base = path.rpartition("/")[2]
        if base.startswith(WHITEOUT_PREFIX):
            _record_whiteout(scan, path, base)
            continue
        if kind == REGULAR and header.name.endswith(b"/"):
            kind = DIRECTORY  # pre-POSIX tars mark folders by a trailing slash only
        content_hash = reader.hash_content(header.size) if kind == REGULAR else 0
        link = ""
        if kind in (SYMLINK, HARDLINK):
            link = header.linkname.decode("utf-8", "surrogateescape")
        entry = FileEntry(path, kind, header.size, header.mode & 0o7777, header.uid, header.gid, link, content_hash)
        if kind == HARDLINK:
            hardlinks.append(entry)
        if path in entries:
            del entries[path]  # the last member of a path wins, at its own position
        entries[path] = entry
    scan.size_bytes = size_total
    scan.member_count = reader.member_count
    dangling = _resolve_hardlinks(hardlinks, entries)
    if dangling:
        sample = ", ".join(f"{e.path!r} -> {e.link[:200]!r}" for e in dangling[:3])
        scan.warnings.append(
            f"{what}: {len(dangling)} hard link(s) to paths this layer does not hold ({sample}); shown without content"
        )
    return scan


def _record_whiteout(scan: LayerScan, path: str, base: str) -> None:
    parent = path.rpartition("/")[0]
    if base == OPAQUE_MARKER:
        scan.opaques.append(parent)
    elif base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
        return  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a deletion
    else:
        name = base[len(WHITEOUT_PREFIX) :]
        scan.whiteouts.append(f"{parent}/{name}" if parent else name)


def _resolve_hardlinks(hardlinks: list[FileEntry], entries: dict[str, FileEntry]) -> list[FileEntry]:
    """Gives each hard link the content hash of its target in the same layer.

    Returns:
        The links whose target the layer does not hold (tar writers only link within one tar).
    """
    dangling = []
    for entry in hardlinks:
        target_path = posixpath.normpath(entry.link.lstrip("/")) if entry.link else ""
        target = entries.get(target_path)
        if target is not None:
            entry.hash = target.hash
            entry.link = target_path
        else:
            dangling.append(entry)
    return dangling
