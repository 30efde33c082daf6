"""Provides file contents for the file view and extraction, read back from the image's layer blobs.

The analysis keeps no file contents (images are large), so a file's bytes are read again from the
blob of the layer that wrote its current version; one pass over a blob serves a whole extraction.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from dive_py.errors import DivepyError
from dive_py.layers.compression import decompressing_reader
from dive_py.layers.scan import clean_member_path
from dive_py.layers.tarscan import TarReader
from dive_py.model import DIRECTORY, HARDLINK, REGULAR, SYMLINK, FileEntry, Image
from dive_py.trees.tree import Node

CHUNK = 1 << 20
"""Bytes copied at a time while extracting."""


@dataclass
class ExtractResult:
    """What an extraction wrote and what it left out."""

    root: str
    """The path created inside the destination folder."""
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Paths not written (devices, fifos, missing content), with the reason."""


def version_layer(node: Node, layer: int) -> int | None:
    """The layer that wrote the version of ``node`` present at ``layer``, or None if absent."""
    for at, entry in reversed(node.events):
        if at <= layer:
            return at if entry is not None else None
    return None


class ContentReader:
    """Reads file contents of one image through the reader its source handed down (``Image.blobs``)."""

    def __init__(self, image: Image) -> None:
        self.image = image

    def _open_layer(self, index: int) -> Callable[[int], bytes]:
        """The layer's tar, read again through the image's own reader of its blobs."""
        if self.image.blobs is None:
            raise DivepyError(f"{self.image.name}: this image was loaded without a reader of its layers")
        read, _kind = decompressing_reader(self.image.blobs.open_layer(index), f"layer {index + 1}")
        return read

    def _members(self, index: int, wanted: set[str]):  # noqa: ANN202 - yields (path, header, reader)
        reader = TarReader(self._open_layer(index), f"layer {index + 1}")
        left = set(wanted)
        for header in reader:
            if not left:
                break
            path = clean_member_path(header.name, f"layer {index + 1}")
            if path in left and header.type in (b"0", b"\0", b"7", b""):
                left.discard(path)
                yield path, header, reader

    def _resolve(self, node: Node, layer: int, tree_get: Callable[[str], Node | None]) -> tuple[str, int] | None:
        """(path, layer) whose stored bytes are the content of ``node`` at ``layer`` (hard links followed)."""
        for _ in range(8):
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

    def read(self, node: Node, layer: int, tree_get: Callable[[str], Node | None], limit: int) -> bytes:
        """The first ``limit`` bytes of the file at ``node`` as it is in ``layer``.

        Raises:
            DivepyError: the path is not a regular file there, or the archive cannot be read.
        """
        found = self._resolve(node, layer, tree_get)
        if found is None:
            raise DivepyError(f"/{node.path} has no file content at layer {layer + 1}")
        path, at = found
        for _path, header, reader in self._members(at, {path}):
            stream = reader.content_stream(header.size)
            parts, left = [], min(limit, header.size)
            while left > 0:
                data = stream.read(min(left, CHUNK))
                if not data:
                    break
                parts.append(data)
                left -= len(data)
            return b"".join(parts)
        raise DivepyError(f"/{path} was not found in layer {at + 1}'s blob")

    def extract(self, node: Node, layer: int, tree_get: Callable[[str], Node | None], dest: str) -> ExtractResult:
        """Writes ``node`` (file or folder) as it is in ``layer`` into the folder ``dest``.

        Creates ``dest`` if needed, then ``dest/<name>``; never writes outside ``dest`` and never
        replaces an existing file (raises instead).

        Raises:
            DivepyError: the target exists, a path would leave ``dest``, or the archive cannot be read.
        """
        os.makedirs(dest, exist_ok=True)
        root = os.path.realpath(dest)
        top = node.name or "root"
        result = ExtractResult(os.path.join(root, top))
        if os.path.lexists(result.root):
            raise DivepyError(f"{result.root} already exists; not overwritten")
        items = self._plan(node, layer)
        links: list[tuple[str, str]] = []
        by_layer: dict[int, dict[str, list[tuple[str, int]]]] = {}
        for rel, item_node, entry in items:
            target = _inside(root, posixpath.join(top, rel) if rel else top)
            if entry.kind == DIRECTORY:
                os.mkdir(target, 0o700)
                result.written.append(target)
            elif entry.kind == SYMLINK:
                links.append((target, entry.link))
            elif entry.kind in (REGULAR, HARDLINK):
                source = self._resolve(item_node, layer, tree_get)
                if source is None:
                    result.skipped.append(f"/{item_node.path}: no content")
                    continue
                by_layer.setdefault(source[1], {}).setdefault(source[0], []).append((target, entry.mode))
            else:
                result.skipped.append(f"/{item_node.path}: special file ({entry.kind}) not extracted")
        for at, wanted in sorted(by_layer.items()):
            for path, header, reader in self._members(at, set(wanted)):
                targets = wanted[path]
                stream = reader.content_stream(header.size)
                handles = [os.open(t, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600) for t, _ in targets]
                try:
                    while data := stream.read(CHUNK):
                        for handle in handles:
                            os.write(handle, data)
                finally:
                    for handle in handles:
                        os.close(handle)
                stream.finish()
                for t, mode in targets:
                    os.chmod(t, mode & 0o777)
                    result.written.append(t)
        for target, link in links:  # last, so no file is ever written through a link
            os.symlink(link, target)
            result.written.append(target)
        for rel, _node, entry in reversed(items):
            if entry.kind == DIRECTORY:
                os.chmod(_inside(root, posixpath.join(top, rel) if rel else top), (entry.mode & 0o777) | 0o700)
        return result

    def _plan(self, node: Node, layer: int) -> list[tuple[str, Node, FileEntry]]:
        """(path relative to ``node``, version) of everything present below ``node``, parents first."""
        items: list[tuple[str, Node, FileEntry]] = []
        stack = [(node, "")]
        while stack:
            current, rel = stack.pop()
            entry = current.state(layer)
            if entry is None:
                continue
            items.append((rel, current, entry))
            if entry.kind == DIRECTORY and current.children:
                for child in sorted(current.children.values(), key=lambda n: n.name, reverse=True):
                    stack.append((child, posixpath.join(rel, child.name) if rel else child.name))
        return items


def _inside(root: str, rel: str) -> str:
    """``root/rel``, refusing anything that would leave ``root``."""
    clean = posixpath.normpath(rel)
    if clean.startswith("../") or clean == ".." or clean.startswith("/"):
        raise DivepyError(f"{rel!r} would be written outside {root}")
    target = os.path.join(root, clean)
    parent = os.path.realpath(os.path.dirname(target))
    if parent != root and not parent.startswith(root + os.sep):
        raise DivepyError(f"{rel!r} would be written outside {root}")
    return target
