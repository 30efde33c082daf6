"""Provides file contents for the file view, ``cat`` and extraction, read back from the image's layer blobs.

The analysis keeps no file contents (images are large), so a file's bytes are read again from the
blob of the layer that wrote its current version, through the reader the image's source handed down
(``Image.blobs``): archives and folders read their own files, streamed sources (stdin, engines) the
copy the blob cache kept as the blob streamed past.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

from dive_py.contents.extract import ExtractResult, TreeGet, extract_node
from dive_py.contents.paths import version_layer
from dive_py.errors import DivepyError
from dive_py.layers.compression import decompressing_reader
from dive_py.layers.headers import TarHeader
from dive_py.layers.paths import clean_member_path
from dive_py.layers.tarscan import TarReader
from dive_py.model import DIRECTORY, HARDLINK, REGULAR, SYMLINK, Image
from dive_py.trees.tree import Node

__all__ = ["CHUNK", "TAR_TYPES", "ContentReader", "ExtractResult", "version_layer"]

CHUNK = 1 << 20
"""Bytes copied at a time: a large file is never held whole."""

TAR_TYPES = {REGULAR: (b"0", b"\0", b"7", b""), DIRECTORY: (b"5",), SYMLINK: (b"2",)}
"""Tar type flags per kind asked for: regular files (incl. old-style and contiguous), folders, symlinks."""


class ContentReader:
    """Reads file contents of one image through the reader its source handed down (``Image.blobs``)."""

    def __init__(self, image: Image) -> None:
        self.image = image

    def _open_layer(self, index: int) -> Callable[[int], bytes]:
        """The layer's tar, read again through the image's own reader of its blobs."""
        if self.image.blobs is None:
            raise DivepyError(f"{self.image.name}: this image was loaded without a reader of its layers")
        read, _kind = decompressing_reader(self.image.blobs.open_layer(index), f"layer {index}")
        return read

    def members(self, index: int, wanted: dict[str, str]) -> Iterator[tuple[str, TarHeader, TarReader]]:
        """One pass over layer ``index``'s tar, yielding the wanted members as they come.

        Args:
            index: the layer, 0-based.
            wanted: path (as the tree names it) -> its kind there (regular file, folder or symlink).

        Returns:
            ``(path, header, reader)`` per member found, each path once; the caller may read the
            member's content from ``reader`` before asking for the next. Stops once all are found.
        """
        reader = TarReader(self._open_layer(index), f"layer {index}")
        left = {path: TAR_TYPES[kind] for path, kind in wanted.items()}
        for header in reader:
            if not left:
                break
            path = clean_member_path(header.name, f"layer {index}")
            if path is not None and header.type in left.get(path, ()):
                del left[path]
                yield path, header, reader

    def content_source(self, node: Node, layer: int, tree_get: TreeGet) -> tuple[str, int] | None:
        """(path, layer) whose stored bytes are the content of ``node`` at ``layer`` (hard links followed).

        Returns:
            None when the version there is not a regular file (or a hard link to one).
        """
        for _ in range(8):  # a hard link names a regular file; a few hops cover odd tars, loops end here
            entry = node.state(layer)
            at = version_layer(node, layer)
            if entry is None or at is None:
                return None
            if entry.kind == REGULAR:
                return node.path, at
            if entry.kind != HARDLINK:
                return None
            target = tree_get(entry.link)
            if target is None:
                return None
            node, layer = target, at
        return None

    def chunks(self, node: Node, layer: int, tree_get: TreeGet) -> Generator[bytes, None, None]:
        """The content of the file at ``node`` as it is in ``layer``, in chunks of at most :data:`CHUNK`.

        Raises:
            DivepyError: the path is not a regular file there, or the layer cannot be read.
        """
        found = self.content_source(node, layer, tree_get)
        if found is None:
            raise DivepyError(f"/{node.path} has no file content at layer {layer}")
        path, at = found
        for _path, header, reader in self.members(at, {path: REGULAR}):
            stream = reader.content_stream(header.size)
            left = header.size
            while left > 0:
                data = stream.read(min(left, CHUNK))
                if not data:
                    break
                left -= len(data)
                yield data
            return
        raise DivepyError(f"/{path} was not found in layer {at}'s blob")

    def read(self, node: Node, layer: int, tree_get: TreeGet, limit: int) -> bytes:
        """The first ``limit`` bytes of the file at ``node`` as it is in ``layer``.

        Raises:
            DivepyError: the path is not a regular file there, or the layer cannot be read.
        """
        parts, have = [], 0
        chunks = self.chunks(node, layer, tree_get)
        for data in chunks:
            parts.append(data[: limit - have])
            have += len(parts[-1])
            if have >= limit:
                chunks.close()  # the rest of the blob is not needed
                break
        return b"".join(parts)

    def copy(self, node: Node, layer: int, tree_get: TreeGet, write: Callable[[bytes], object]) -> int:
        """Writes the whole content of the file at ``node`` as it is in ``layer`` with ``write``.

        Returns:
            The number of bytes written.

        Raises:
            DivepyError: the path is not a regular file there, or the layer cannot be read.
        """
        total = 0
        for data in self.chunks(node, layer, tree_get):
            write(data)
            total += len(data)
        return total

    def extract(self, node: Node, layer: int, tree_get: TreeGet, dest: str) -> ExtractResult:
        """Writes ``node`` (file or folder) as it is in ``layer`` into the folder ``dest``.

        See :func:`dive_py.contents.extract.extract_node` (modes and modification times kept,
        nothing written outside ``dest``, nothing overwritten).
        """
        return extract_node(self, node, layer, tree_get, dest)
