"""Provides :class:`StreamImage`: an archive read once, start to end (stdin, an engine's export, a FIFO).

Layers are scanned as they pass by and paired with the manifest at the end, as ``docker save`` writes the
manifest last. With a blob store given, each layer blob is kept in it as it streams past, under the sha256
computed on the way, so that file contents can be read afterwards without the stream.
"""

from __future__ import annotations

from collections.abc import Callable

from dive_py.cache.blobs import BlobCache
from dive_py.cache.store import prune_cache
from dive_py.errors import DigestMismatchError, DivepyError, ImageFormatError
from dive_py.layers.compression import HashingReader, decompressing_reader, sniff
from dive_py.layers.headers import checksum_ok
from dive_py.layers.scan import clean_member_path, scan_layer
from dive_py.layers.tarscan import BLOCK, TarReader
from dive_py.model import LayerScan, ProgressCallback
from dive_py.sources.base import (
    MEMBER_KINDS,
    SMALL_FILE_LIMIT,
    SMALL_FILES_TOTAL_LIMIT,
    ImageFiles,
    Member,
    Progress,
    closing_reader,
    resolve_links,
)


class StreamImage(ImageFiles):
    """An archive read once from a stream: layers are scanned as they pass by."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        what: str,
        progress: Progress | None = None,
        blobs: BlobCache | None = None,
    ) -> None:
        """Reads the whole stream.

        Args:
            read: the archive's ``read(n)``, plain tar (decompress a compressed one first).
            what: how to name the stream in messages.
            progress: called with the bytes read so far.
            blobs: where to keep the layer blobs for reading files later; None keeps none.
        """
        self.what = what
        self._blobs = blobs
        self._kept_blobs = False
        self._small: dict[str, bytes] = {}
        self._scans: dict[str, tuple[LayerScan, str]] = {}  # name -> (scan, sha256 of the blob)
        self._errors: dict[str, ImageFormatError] = {}
        self._small_total = 0
        self.members: dict[str, Member] = {}
        self._consume(read, progress)

    def _consume(self, read: Callable[[int], bytes], progress: Progress | None) -> None:
        counted = HashingReader(read, None, self.what, enabled=False)
        reader = TarReader(counted.read, self.what)
        for header in reader:
            name = clean_member_path(header.name, self.what)
            if name is None:
                continue
            if header.sparse is not None:  # image tools never write one; read by offset it would be garbage
                raise ImageFormatError(f"{self.what}: {name!r} is a sparse file, which an image archive never holds")
            kind = MEMBER_KINDS.get(header.type, "other")
            link = header.linkname.decode("utf-8", "surrogateescape")
            self.members[name] = Member(name, kind, header.size if kind == "file" else 0, 0, link)
            if kind == "file":
                self._take(reader, name, header.size)
            if progress is not None:
                progress(counted.count)
        if not self.members:
            raise ImageFormatError(f"{self.what}: empty tar archive, not an image")

    def _take(self, reader: TarReader, name: str, size: int) -> None:
        stream = reader.content_stream(size)
        head = b""
        while len(head) < BLOCK and (piece := stream.read(BLOCK - len(head))):
            head += piece
        if _looks_like_layer(head):
            self._take_layer(name, _chain(head, stream.read))
        elif size <= SMALL_FILE_LIMIT:
            self._small_total += size
            if self._small_total > SMALL_FILES_TOTAL_LIMIT:
                raise ImageFormatError(
                    f"{self.what}: holds more than {SMALL_FILES_TOTAL_LIMIT >> 20} MB of files that are not layers"
                )
            rest = [head]
            while chunk := stream.read(1 << 20):
                rest.append(chunk)
            self._small[name] = b"".join(rest)
        stream.finish()

    def _take_layer(self, name: str, read: Callable[[int], bytes]) -> None:
        writer = self._blobs.writer(None) if self._blobs is not None else None
        if writer is not None:
            read = _teed(read, writer.write)
        hashed = HashingReader(read, None, name)
        try:
            # Named by member for now; scan() renames errors and warnings once it knows the layer.
            scan = scan_layer(hashed.read, name, expected_digest=None, expected_diff_id=None)
        except ImageFormatError as exc:
            # Not fatal yet: the manifest may never name this member.
            self._errors[name] = exc
            while hashed.read(1 << 20):
                pass
            if writer is not None:
                writer.discard()
            return
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        self._scans[name] = (scan, hashed.digest)
        if writer is not None:
            writer.commit_as(hashed.digest)  # named by the sha256 of exactly the bytes written
            self._kept_blobs = True

    def names(self) -> set[str]:
        return set(self.members)

    def resolve(self, name: str) -> str | None:
        return resolve_links(self.members, name)

    def size_of(self, name: str) -> int:
        resolved = self.resolve(name)
        if resolved is None:
            raise self._missing(name)
        return self.members[resolved].size

    def read_bytes(self, name: str) -> bytes:
        resolved = self.resolve(name)
        if resolved is None or resolved not in self._small:
            raise self._missing(name)
        return self._small[resolved]

    def scan(self, name, what, *, expected_digest, expected_diff_id, progress=None) -> LayerScan:  # noqa: ANN001
        resolved = self.resolve(name)
        if resolved in self._errors:
            exc = self._errors[resolved]
            raise type(exc)(_renamed(exc.message, resolved, what)) from None
        if resolved is None or resolved not in self._scans:
            raise self._missing(name)
        scan, digest = self._scans[resolved]
        checks = ((expected_digest, digest, "digest"), (expected_diff_id, scan.diff_id, "diff_id"))
        for expected, actual, label in checks:
            if expected and expected.startswith("sha256:") and actual and expected != actual:
                raise DigestMismatchError(
                    f"{what}: content does not match its {label} (expected {expected[:19]}…, got {actual[:19]}…)"
                )
        scan.warnings = [_renamed(text, resolved, what) for text in scan.warnings]
        return scan

    def close(self) -> None:
        """Keeps the cache within its limit when blobs were added to it."""
        if self._kept_blobs and self._blobs is not None:
            prune_cache(self._blobs.root)
            self._kept_blobs = False

    def open_blob(self, name: str) -> Callable[[int], bytes]:
        """The blob as kept in the blob store while it streamed past."""
        resolved = self.resolve(name)
        if resolved is None or resolved not in self._scans:
            raise self._missing(name)
        if self._blobs is None:
            raise DivepyError(
                f"{self.what} was read once with --no-cache: its file contents were not kept "
                "(run without --no-cache to read files of a streamed image)"
            )
        digest = self._scans[resolved][1]
        handle = self._blobs.open(digest)
        if handle is None:
            raise DivepyError(
                f"{self.what}: the layer blob {digest[:19]}… is no longer in divepy's cache (the cache was "
                "pruned or could not be written): open the image again to read its files"
            )
        return closing_reader(handle)


def _renamed(text: str, name: str, what: str) -> str:
    """A message about member ``name`` (as scanned in one pass) reworded to name the layer as ``what``."""
    return what + text[len(name) :] if text.startswith(name) else f"{what}: {text}"


def _looks_like_layer(head: bytes) -> bool:
    """A blob is a layer when it is compressed or its first block is a tar header."""
    if sniff(head) != "none":
        return True
    return len(head) == BLOCK and checksum_ok(head)


def _chain(head: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    pending = [head]

    def chained(n: int = -1) -> bytes:
        if pending:
            return pending.pop()
        return read(n)

    return chained


def _teed(read: Callable[[int], bytes], write: Callable[[bytes], None]) -> Callable[[int], bytes]:
    """A ``read(n)`` that also hands every chunk to ``write``."""

    def teed(n: int = -1) -> bytes:
        data = read(n)
        if data:
            write(data)
        return data

    return teed


def open_stream(
    read: Callable[[int], bytes],
    what: str,
    *,
    progress: ProgressCallback | None = None,
    total: int = 0,
    blobs: BlobCache | None = None,
) -> StreamImage:
    """Reads an archive once, start to end: a plain tar or a gzip/zstd-compressed one.

    Args:
        read: the stream's ``read(n)``.
        what: how to name it in messages and progress.
        progress: told ``(f"reading {what}", bytes read, total)`` as it goes.
        total: the expected size, when known (0: unknown).
        blobs: where to keep the layer blobs for reading files later.
    """
    tar_read, _ = decompressing_reader(read, what)
    report = None
    if progress is not None:
        report = lambda count: progress(f"reading {what}", count, max(total, count))  # noqa: E731
    return StreamImage(tar_read, what, report, blobs)
