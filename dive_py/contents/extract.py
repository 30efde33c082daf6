"""Provides extraction: a file or folder of one layer's stacked file system, written into a local folder.

Safety first, as the image may be hostile: nothing is written outside the destination (every path is
checked against it after its parents are resolved), nothing existing is overwritten (``O_EXCL``), no
write goes through a link (``O_NOFOLLOW``, and symbolic links are created only after every file), and
setuid/setgid/sticky bits are dropped. Modes and modification times come from the tar headers; folders
get theirs last, deepest first, since writing into a folder changes its time.

One pass over each layer blob that holds something wanted serves the whole extraction.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from dive_py.contents.paths import version_layer
from dive_py.errors import DivepyError
from dive_py.layers.headers import TarHeader
from dive_py.layers.sparse import Readable
from dive_py.layers.tarscan import TarReader
from dive_py.model import DIRECTORY, HARDLINK, REGULAR, SYMLINK, FileEntry
from dive_py.trees.tree import Node

COPY_CHUNK = 1 << 20
"""Bytes copied at a time: a large file is never held whole."""

TreeGet = Callable[[str], "Node | None"]
"""``FileTree.get``: a node by path (hard links name their target by path)."""

CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class ContentReader(Protocol):
    """What an extraction asks of :class:`dive_py.contents.reader.ContentReader` (which offers extraction)."""

    def members(self, index: int, wanted: dict[str, str]) -> Iterator[tuple[str, TarHeader, TarReader]]:
        """The members of layer ``index`` at the wanted stored paths, with their headers and the open reader."""

    def content_source(self, node: Node, layer: int, tree_get: TreeGet) -> tuple[str, int] | None:
        """The layer and stored path holding the node's content at ``layer`` (links followed), or None."""


@dataclass
class ExtractResult:
    """What an extraction wrote and what it left out."""

    root: str
    """The path created inside the destination folder."""
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Paths not written (devices, fifos, missing content), with the reason."""


@dataclass
class _Item:
    """One path to write: where, which version, and (once its header is read) its modification time."""

    target: str
    node: Node
    entry: FileEntry
    mtime_ns: int | None = None


def extract_node(
    reader: ContentReader,
    node: Node,
    layer: int,
    tree_get: TreeGet,
    dest: str,
    *,
    entry: FileEntry | None = None,
) -> ExtractResult:
    """Writes ``node`` (file, folder or symlink) as it is in ``layer`` into the folder ``dest``.

    Creates ``dest`` if needed, then ``dest/<name>`` (``dest/root`` for the image root).

    Args:
        reader: the image's content reader.
        node: what to write.
        layer: the top of the layer stack, 0-based.
        tree_get: ``FileTree.get`` (hard links name their target by path).
        dest: the folder to write into.
        entry: the version of ``node`` to write (default: ``node.state(layer)``; the root has none).

    Returns:
        What was written and what was skipped.

    Raises:
        DivepyError: the target exists, a path would leave ``dest``, or a layer cannot be read.
    """
    os.makedirs(dest, exist_ok=True)
    root = os.path.realpath(dest)
    top = node.name or "root"
    result = ExtractResult(os.path.join(root, top))
    if os.path.lexists(result.root):
        raise DivepyError(f"{result.root} already exists; not overwritten")
    items = [
        _Item(_inside(root, posixpath.join(top, rel) if rel else top), item_node, item_entry)
        for rel, item_node, item_entry in _plan(node, entry or node.state(layer), layer)
    ]
    _Extraction(reader, layer, tree_get, result).run(items)
    return result


class _Extraction:
    """The steps of one extraction, in the order that keeps every write inside the destination."""

    def __init__(self, reader: ContentReader, layer: int, tree_get: TreeGet, result: ExtractResult) -> None:
        self.reader = reader
        self.layer = layer
        self.tree_get = tree_get
        self.result = result

    def run(self, items: list[_Item]) -> None:
        files: dict[int, dict[str, list[_Item]]] = {}  # layer -> path whose bytes to copy -> items
        stamps: dict[int, dict[str, _Item]] = {}  # layer -> path -> folder or link whose header has its time
        for item in items:
            kind = item.entry.kind
            if kind == DIRECTORY:
                os.mkdir(item.target, 0o700)  # owner-only until its own mode is set, last
                self.result.written.append(item.target)
            if kind in (DIRECTORY, SYMLINK):
                at = version_layer(item.node, self.layer) if item.node.name else None  # the root has no header
                if at is not None:
                    stamps.setdefault(at, {})[item.node.path] = item
            elif kind in (REGULAR, HARDLINK):
                self._want_content(item, files)
            else:
                self.result.skipped.append(f"/{item.node.path}: special file ({kind}) not extracted")
        for at in sorted(set(files) | set(stamps)):
            self._pass_over(at, files.get(at, {}), stamps.get(at, {}))
        self._make_links(items)
        self._finish_folders(items)

    def _want_content(self, item: _Item, files: dict[int, dict[str, list[_Item]]]) -> None:
        source = self.reader.content_source(item.node, self.layer, self.tree_get)
        if source is None:
            self.result.skipped.append(f"/{item.node.path}: no content")
            return
        path, at = source
        files.setdefault(at, {}).setdefault(path, []).append(item)

    def _pass_over(self, at: int, files: dict[str, list[_Item]], stamps: dict[str, _Item]) -> None:
        """Reads layer ``at`` once: copies the files it holds, notes the times of folders and links."""
        wanted = {path: REGULAR for path in files}
        wanted.update({path: item.entry.kind for path, item in stamps.items()})
        missing = set(files)
        for path, header, tar in self.reader.members(at, wanted):
            if path in files:
                self._write_file(files[path], tar.content_stream(header.size), header.mtime_ns)
                missing.discard(path)
            else:
                stamps[path].mtime_ns = header.mtime_ns
        for path in sorted(missing):  # the tree says the layer wrote it, its blob does not hold it
            self.result.skipped.extend(f"/{item.node.path}: not found in layer {at}'s blob" for item in files[path])

    def _write_file(self, items: list[_Item], stream: Readable, mtime_ns: int) -> None:
        """Copies one member's bytes to every item that shares them (hard links), then mode and time."""
        handles = [os.open(item.target, CREATE_FLAGS, 0o600) for item in items]
        try:
            written = 0
            hole = getattr(stream, "skip_hole", None)  # a sparse file's (layers/sparse.py): skipped, never written
            while True:
                if hole is not None and (gap := hole()):
                    # A sparse file of a tiny layer may claim terabytes of holes: seek over them, as tar does.
                    for handle in handles:
                        os.lseek(handle, gap, os.SEEK_CUR)
                    written += gap
                    continue
                if not (data := stream.read(COPY_CHUNK)):
                    break
                for handle in handles:
                    os.write(handle, data)
                written += len(data)
            for handle, item in zip(handles, items, strict=True):
                os.ftruncate(handle, written)  # a file that ends in a hole keeps its size
                os.fchmod(handle, item.entry.mode & 0o777)  # on the open file: no path, no link followed
                os.utime(handle, ns=(mtime_ns, mtime_ns))
        finally:
            for handle in handles:
                os.close(handle)
        stream.finish()
        self.result.written.extend(item.target for item in items)

    def _make_links(self, items: list[_Item]) -> None:
        """Symbolic links, after every file, so no file is ever written through one."""
        for item in items:
            if item.entry.kind != SYMLINK:
                continue
            os.symlink(item.entry.link, item.target)
            if item.mtime_ns is not None:
                os.utime(item.target, ns=(item.mtime_ns, item.mtime_ns), follow_symlinks=False)
            self.result.written.append(item.target)

    def _finish_folders(self, items: list[_Item]) -> None:
        """Folder modes and times, deepest first: creating anything inside a folder resets its time."""
        for item in reversed(items):
            if item.entry.kind != DIRECTORY:
                continue
            os.chmod(item.target, (item.entry.mode & 0o777) | 0o700)  # the owner can still remove the copy
            if item.mtime_ns is not None:
                os.utime(item.target, ns=(item.mtime_ns, item.mtime_ns), follow_symlinks=False)


def _plan(node: Node, entry: FileEntry | None, layer: int) -> list[tuple[str, Node, FileEntry]]:
    """(path relative to ``node``, node, version) of everything present at ``node`` and below, parents first."""
    items: list[tuple[str, Node, FileEntry]] = []
    stack: list[tuple[Node, str, FileEntry | None]] = [(node, "", entry)]
    while stack:
        current, rel, version = stack.pop()
        if version is None:
            continue
        items.append((rel, current, version))
        if version.kind == DIRECTORY and current.children:
            for child in sorted(current.children.values(), key=lambda n: n.name, reverse=True):
                child_rel = posixpath.join(rel, child.name) if rel else child.name
                stack.append((child, child_rel, child.state(layer)))
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
