"""Provides :class:`StreamImage`: an archive read once, start to end (stdin, an engine's export, a FIFO).

Each layer blob is handed down as it passes by to the :class:`~dive_py.sources.base.LayerSink` the loader
gives (which scans it, and keeps it in the blob store unless ``--no-cache``, so that file contents can be
read afterwards without the stream); the plan pairs them with the manifest at the end, as ``docker save``
writes the manifest last.
"""

from __future__ import annotations

from collections.abc import Callable

from dive_py.errors import DivepyError, ImageFormatError
from dive_py.layers.compression import HashingReader, decompressing_reader, sniff
from dive_py.layers.headers import BLOCK, checksum_ok
from dive_py.layers.paths import clean_member_path
from dive_py.layers.tarscan import TarReader
from dive_py.model import ProgressCallback
from dive_py.sources.base import (
    MEMBER_KINDS,
    SMALL_FILE_LIMIT,
    SMALL_FILES_TOTAL_LIMIT,
    ImageFiles,
    LayerSink,
    Member,
    Progress,
    resolve_links,
)


class StreamImage(ImageFiles):
    """An archive read once from a stream: its layer blobs are handed down as they pass by."""

    passes_once = True
    keep_blobs = True
    """Whether the sink keeps the blobs it takes (a file that can be read again needs it not to)."""

    def __init__(self, read: Callable[[int], bytes], what: str, progress: Progress | None, sink: LayerSink) -> None:
        """Reads the whole stream.

        Args:
            read: the archive's ``read(n)``, plain tar (decompress a compressed one first).
            what: how to name the stream in messages.
            progress: called with the bytes read so far.
            sink: takes each layer blob as it passes (scans it, keeps it for reading files later).
        """
        self.what = what
        self.sink = sink
        self._small: dict[str, bytes] = {}
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
        try:
            # Named by member for now: the sink renames errors and warnings once the plan names the layer.
            self.sink.take(name, read, keep=self.keep_blobs)
        except ImageFormatError:
            # Not fatal yet: the manifest may never name this member (the sink read it to its end).
            pass

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        return set(self.members)

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        return resolve_links(self.members, name)

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        resolved = self.resolve(name)
        if resolved is None:
            raise self._missing(name)
        return self.members[resolved].size

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        resolved = self.resolve(name)
        if resolved is None or resolved not in self._small:
            raise self._missing(name)
        return self._small[resolved]

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """Raises why the blob, read once, is not at hand (the loader reads it from the blob store)."""
        resolved = self.resolve(name)
        digest = self.sink.digest_of(resolved) if resolved is not None else None
        if digest is None:
            raise self._missing(name)
        if not self.sink.keeps:
            raise DivepyError(
                f"{self.what} was read once with --no-cache: its file contents were not kept "
                "(run without --no-cache to read files of a streamed image)"
            )
        raise DivepyError(
            f"{self.what}: the layer blob {digest[:19]}… is no longer in divepy's cache (the cache was "
            "pruned or could not be written): open the image again to read its files"
        )


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


def open_stream(
    read: Callable[[int], bytes],
    what: str,
    *,
    sink: LayerSink,
    progress: ProgressCallback | None = None,
    total: int = 0,
) -> StreamImage:
    """Reads an archive once, start to end: a plain tar or a gzip/zstd-compressed one.

    Args:
        read: the stream's ``read(n)``.
        what: how to name it in messages and progress.
        progress: told ``(f"reading {what}", bytes read, total)`` as it goes.
        total: the expected size, when known (0: unknown).
        sink: takes each layer blob as it passes (the loader's scanner).
    """
    tar_read, _ = decompressing_reader(read, what)
    report = None
    if progress is not None:
        report = lambda count: progress(f"reading {what}", count, max(total, count))  # noqa: E731
    return StreamImage(tar_read, what, report, sink)
