"""Provides :class:`TarFileImage` (a seekable saved archive) and :func:`open_image_files`, which tells a tar
file, a compressed archive, a FIFO and a layout folder apart by their content.

A seekable tar is indexed first (headers only, seeking past contents) so that only the layers the manifest
names are read, in manifest order.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import IO

from dive_py.errors import ImageFormatError
from dive_py.layers.compression import decompressing_reader, sniff
from dive_py.layers.headers import BLOCK, checksum_ok
from dive_py.layers.paths import clean_member_path
from dive_py.layers.tarscan import TarReader
from dive_py.sources.base import (
    MEMBER_KINDS,
    SMALL_FILE_LIMIT,
    ImageFiles,
    LayerSink,
    Member,
    Progress,
    region_reader,
    resolve_links,
)
from dive_py.sources.folder import FolderImage
from dive_py.sources.reference import near_miss
from dive_py.sources.stream import StreamImage


class TarFileImage(ImageFiles):
    """A seekable tar file (``docker save``, ``podman save``, an OCI archive)."""

    def __init__(self, path: str) -> None:
        self.what = path
        self._path = path
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._size = os.fstat(self._file.fileno()).st_size
        self.members = self._index()

    def _index(self) -> dict[str, Member]:
        f = self._file
        reader = TarReader(f.read, self.what, seek=f.seek, chunk=BLOCK * 32)
        members: dict[str, Member] = {}
        for header in reader:
            name = clean_member_path(header.name, self.what)
            if name is None:
                continue
            if header.sparse is not None:  # image tools never write one; read by offset it would be garbage
                raise ImageFormatError(f"{self.what}: {name!r} is a sparse file, which an image archive never holds")
            kind = MEMBER_KINDS.get(header.type, "other")
            size = header.size if kind == "file" else 0
            if header.offset + size > self._size:
                raise ImageFormatError(f"{self.what} is truncated: {name!r} runs past the end of the file")
            link = header.linkname.decode("utf-8", "surrogateescape")
            members[name] = Member(name, kind, size, header.offset, link)
        if not members:
            raise ImageFormatError(f"{self.what}: empty tar archive, not an image")
        return members

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        return set(self.members)

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        return resolve_links(self.members, name)

    def _member(self, name: str) -> Member:
        resolved = self.resolve(name)
        if resolved is None or self.members[resolved].kind != "file":
            raise self._missing(name)
        return self.members[resolved]

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        return self._member(name).size

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        """See :meth:`dive_py.sources.base.ImageFiles.blob_location`."""
        member = self._member(name)
        return self._path, member.offset, member.size

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        member = self._member(name)
        if member.size > SMALL_FILE_LIMIT:
            raise ImageFormatError(f"{self.what}: {name!r} is too large ({member.size} bytes) for a JSON file")
        self._file.seek(member.offset)
        data = self._file.read(member.size)
        if len(data) != member.size:
            raise ImageFormatError(f"{self.what} is truncated inside {name!r}")
        return data

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """A ``read(n)`` over one member's bytes, from its own file handle."""
        member = self._member(name)
        return region_reader(self._path, member.offset, member.size, f"{self.what} is truncated inside {name!r}")

    def close(self) -> None:
        """See :meth:`dive_py.sources.base.ImageFiles.close`."""
        self._file.close()


class CompressedFileImage(StreamImage):
    """A whole archive compressed in a file (``docker save | gzip > image.tar.gz``): read once as a stream.

    The file can be read again, so its layer blobs are handed down unkept (writing every layer to the cache
    on each run cost ~1 s per 200 MB); :meth:`open_blob` reads one from a new pass over the file (the
    loader copies it into the blob store the first time, and reads it from there afterwards).
    """

    keep_blobs = False

    def __init__(self, path: str, progress: Progress | None, sink: LayerSink) -> None:
        with open(path, "rb") as f:
            read, _ = decompressing_reader(f.read, path)
            super().__init__(read, path, progress, sink)
        self._path = path

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """See :meth:`dive_py.sources.base.ImageFiles.open_blob`."""
        resolved = self.resolve(name)
        if resolved is None or self.sink.digest_of(resolved) is None:
            raise self._missing(name)
        return self._read_again(resolved)

    def _read_again(self, name: str) -> Callable[[int], bytes]:
        """A ``read(n)`` over member ``name``'s bytes, from a new pass over the decompressed file."""
        handle = open(self._path, "rb")  # noqa: SIM115 - closed at the member's end (or on failure)
        try:
            reader = TarReader(decompressing_reader(handle.read, self._path)[0], self.what)
            for header in reader:
                if clean_member_path(header.name, self.what) == name:
                    return _closing_at_end(reader.content_stream(header.size).read, handle)
        except BaseException:
            handle.close()
            raise
        handle.close()
        raise ImageFormatError(f"{self.what} changed since it was read: {name!r} is no longer in it")


def _closing_at_end(read: Callable[[int], bytes], handle: IO[bytes]) -> Callable[[int], bytes]:
    """``read`` that closes ``handle`` once it returns nothing more."""

    def reading(n: int = -1) -> bytes:
        data = read(n)
        if not data:
            handle.close()
        return data

    return reading


def open_image_files(path: str, sink: LayerSink, progress: Progress | None = None) -> ImageFiles:
    """Opens what ``path`` names: a folder, a tar file, a compressed tar, or a FIFO.

    An archive read as a stream hands its layer blobs to ``sink`` as they pass: a FIFO's to be kept for
    reading files afterwards, a compressed file's not (the file can be read again, :class:`CompressedFileImage`).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        near = near_miss(path)
        raise ImageFormatError(
            f"{path}: no such file or folder", hint=f"did you mean {near}?" if near else None
        ) from None
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        return FolderImage(path)
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device can be read once only: no sniffing ahead, one pass.
        with open(path, "rb") as f:
            read, _ = decompressing_reader(f.read, path)
            return StreamImage(read, path, progress, sink)
    try:
        with open(path, "rb") as f:
            head = f.read(BLOCK)
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise ImageFormatError(f"{path}: empty file, not an image archive")
    if sniff(head) != "none":
        # A whole archive compressed (``docker save | gzip``): one pass through the decompressor.
        return CompressedFileImage(path, progress, sink)
    if len(head) < BLOCK or not checksum_ok(head):
        raise ImageFormatError(f"{path}: not an image archive (neither a tar nor an OCI layout folder)")
    return TarFileImage(path)
