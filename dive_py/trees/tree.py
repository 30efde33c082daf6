"""Provides the union file tree: every path of every layer, with its history of versions.

One node per path ever seen. A node keeps its events, ``(layer, FileEntry | None)`` in
layer order, ``None`` meaning the path was deleted in that layer (a whiteout, an opaque
folder, or a file that replaced its folder). The stacked file system at layer N is the
latest event at or below N of each node, so switching layer or comparing two layers
never copies a tree, and a whiteout costs only the subtree it deletes (dive re-stacks
every lower layer for each whiteout).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dive_py.errors import ImageFormatError
from dive_py.model import DIRECTORY, SYMLINK, FileEntry, LayerScan

c_stack_entries: Callable[[FileTree, int, dict[str, FileEntry], LayerChanges, str], None] | None
try:  # the entries' loop in C (optional, like the scanner's; DIVEPY_PURE_PYTHON=1 turns it off)
    from dive_py.trees._stack import stack_entries as _c_stack_entries

    c_stack_entries = _c_stack_entries
except ImportError:  # pragma: no cover - depends on the build
    c_stack_entries = None
if os.environ.get("DIVEPY_PURE_PYTHON"):
    c_stack_entries = None

Event = tuple[int, "FileEntry | None"]


class Node:
    """One path of the union tree. View state (collapsed, hidden) never lives here."""

    __slots__ = ("name", "parent", "children", "flat", "_path")

    def __init__(self, name: str, parent: Node | None, flat: tuple[Any, ...] = ()) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, Node] | None = None
        """Child nodes by name; None until the first child is added (most nodes are files)."""
        self.flat: tuple[Any, ...] = flat  # int, FileEntry | None, int, ...: no tuple type says "alternating"
        """The events flattened, ``(layer, entry, layer, entry, ...)``: most nodes have one event, and
        one 2-tuple costs 56 bytes where a list of tuples cost 144 (~9 MB on a 100k-file image)."""
        self._path: str | None = None

    @property
    def events(self) -> list[Event]:
        """``(layer, entry or None)`` in layer order."""
        flat = self.flat
        return list(zip(flat[::2], flat[1::2], strict=True))

    @property
    def path(self) -> str:
        """Relative path without a leading slash (``""`` for the root)."""
        if self._path is None:
            # Iterative: folders may nest thousands deep, past Python's recursion limit.
            names = []
            node: Node | None = self
            while node is not None and node.name and node._path is None:
                names.append(node.name)
                node = node.parent
            prefix = node._path if node is not None and node.name else None
            if prefix:
                names.append(prefix)
            self._path = "/".join(reversed(names))
        return self._path

    def state(self, layer: int) -> FileEntry | None:
        """The version of this path in the stack of layers 0..layer, or None if absent."""
        flat = self.flat
        for i in range(len(flat) - 2, -1, -2):
            if flat[i] <= layer:
                entry: FileEntry | None = flat[i + 1]
                return entry
        return None

    def sorted_children(self) -> list[Node]:
        """The children, by name."""
        if not self.children:
            return []
        return [self.children[name] for name in sorted(self.children)]

    def __repr__(self) -> str:
        return f"Node({self.path!r}, events={[(at, e and e.kind) for at, e in self.events]})"


@dataclass
class LayerChanges:
    """What applying one layer deleted, weighed against the stack below it."""

    removed: dict[str, int] = field(default_factory=dict)
    """Whiteout paths (explicit, and one per hidden child of an opaque folder) with the
    bytes they delete: a folder's subtree; a file weighs 0, as in dive."""
    missing_whiteouts: list[str] = field(default_factory=list)
    """Whiteouts of paths that did not exist below (legal; weigh 0)."""
    opaque_dirs: list[str] = field(default_factory=list)
    """Opaque folders that did not exist in the layer's entries (dive still makes a node for them)."""
    # What the efficiency count needs of the stacking, collected where it is found anyway (a pass over 10^6
    # entries to find it again cost 0.15-0.4 s): see dive_py.trees.efficiency.layer_visits.
    parents: set[str] = field(default_factory=set)
    """The folder of every entry of the layer."""
    revisits: dict[str, Node] = field(default_factory=dict)
    """Entries of paths that had a node already (from a layer below, or an implied folder of this one), by path."""
    folders: list[str] = field(default_factory=list)
    """The layer's folder entries."""
    replaced_folder: bool = False
    """Whether an entry of the layer replaced a folder (whose contents are then deleted)."""
    links_as_folders: list[str] = field(default_factory=list)
    """Symlinks of the layer that its own later members write below: shown as folders (a tar extraction
    would write through the link instead), so the loader warns."""


IMPLIED_DIR_MODE = 0o755

IMPLIED_PATH_BYTES_LIMIT = 256 << 20
"""Most text of implied folder paths: one 200 kB name 100,000 folders deep would need 10 GB."""


class FileTree:
    """The union of all layers' paths; built layer by layer with :meth:`apply_layer`."""

    def __init__(self) -> None:
        self.root = Node("", None)
        self.root.children = {}
        self.nodes: list[Node] = []
        """Every node but the root, in the order they were made: for sums over all nodes without a walk."""
        self.layer_count = 0
        self._changes = LayerChanges()  # the layer being applied's (its implied folders note links in it)
        self.implied_path_bytes = 0
        """Text of the folder paths implied so far (bounded: a deep chain costs depth x length)."""
        self._names: dict[str, str] = {}
        """One string per distinct name: names repeat across folders and copies (``index.js``, ``Makefile``,
        a tree copied to another layer), and a string each cost ~60 MB on the 10^6-file image (~5 MB shared)."""

    @property
    def node_count(self) -> int:
        """How many nodes the tree holds."""
        return len(self.nodes)

    # -- lookup ---------------------------------------------------------------
    def get(self, path: str) -> Node | None:
        """The node for a path (with or without a leading slash), or None."""
        node = self.root
        for name in path.strip("/").split("/"):
            if not name:
                continue
            children = node.children
            if not children or name not in children:
                return None
            node = children[name]
        return node

    def _child(self, node: Node, name: str) -> Node:
        children = node.children
        if children is None:
            children = node.children = {}
        child = children.get(name)
        if child is None:
            name = self._names.setdefault(name, name)
            child = children[name] = Node(name, node)
            self.nodes.append(child)
        return child

    # -- stacking -------------------------------------------------------------
    def apply_layer(self, layer: int, scan: LayerScan) -> LayerChanges:
        """Stacks one layer on top of the layers applied so far.

        Whiteouts apply to the layers below only, so they go first; then the layer's
        own entries, whose parent folders are implied when the tar omits them.
        """
        changes = self._changes = LayerChanges()
        written = scan.entries
        # A tar may repeat a whiteout or opaque marker; once each keeps this linear (an opaque walks the folder).
        for path in dict.fromkeys(scan.whiteouts):
            node = self.get(path)
            if node is None or node.state(layer) is None:
                changes.missing_whiteouts.append(path)
                changes.removed.setdefault(path, 0)
                continue
            changes.removed[path] = changes.removed.get(path, 0) + _deleted_weight(node, layer)
            _delete_subtree(node, layer)
        for path in dict.fromkeys(scan.opaques):
            node = self.get(path) if path else self.root
            if path and path not in written:
                changes.opaque_dirs.append(path)
            if node is None or not node.children:
                continue
            for child in list(node.children.values()):
                if child.state(layer) is None:
                    continue
                child_path = child.path
                if child_path not in written and child_path not in changes.removed:
                    changes.removed[child_path] = _deleted_weight(child, layer)
                _delete_subtree(child, layer)
        if c_stack_entries is not None:
            c_stack_entries(self, layer, written, changes, DIRECTORY)
        else:
            self._stack_entries(layer, written, changes)
        self.layer_count = max(self.layer_count, layer + 1)
        return changes

    def _stack_entries(self, layer: int, written: dict[str, FileEntry], changes: LayerChanges) -> None:
        """The layer's own entries, in tar order (``dive_py/trees/_stack.c`` does the same in C): a new node per
        new path, :meth:`_revisit` for a path the tree has; notes in ``changes`` what the efficiency count needs."""
        cached_path, cached_parent = "", self.root  # the parent of the entry before (usually the same)
        # Folders present at this layer, by path: tars list a folder, its files, its subfolders, then more
        # files of the folder; each is found again without a walk from the root (3,000-deep trees stay linear).
        folders: dict[str, Node] = {"": self.root}
        add_node, directory, shared_name = self.nodes.append, DIRECTORY, self._names.setdefault
        add_parent, add_folder, revisits = changes.parents.add, changes.folders.append, changes.revisits
        for path, entry in written.items():
            parent_path, _, name = path.rpartition("/")
            if cached_path == parent_path:
                parent = cached_parent
            else:
                found = folders.get(parent_path)
                if found is None:
                    found = folders[parent_path] = self._ensure_dirs(parent_path, layer)
                parent = found
                cached_path, cached_parent = parent_path, parent
                add_parent(parent_path)
            children = parent.children
            if children is None:
                children = parent.children = {}
            node = children.get(name)
            if node is None:
                # A new path (most of them): nothing below it to replace; _child() inlined for speed.
                name = shared_name(name, name)
                node = children[name] = Node(name, parent, (layer, entry))
                add_node(node)
            else:
                revisits[path] = node
                if self._revisit(node, layer, entry):
                    changes.replaced_folder = True
                    folders = {"": self.root}  # some of the known folders may be gone: forget them all (rare)
                    cached_path, cached_parent = "", self.root
            if entry.kind == directory:
                folders[path] = node
                add_folder(path)

    def _revisit(self, node: Node, layer: int, entry: FileEntry) -> bool:
        """Gives a path the tree has its version of ``layer``; True when a file replaced a folder there."""
        before = node.state(layer)
        replaced = before is not None and before.kind == DIRECTORY and entry.kind != DIRECTORY
        if replaced:
            for child in (node.children or {}).values():
                _delete_subtree(child, layer)  # the folder's contents are gone
        _set_event(node, layer, entry)
        return replaced

    def _ensure_dirs(self, path: str, layer: int) -> Node:
        """Walks to a folder, giving missing or non-folder ancestors an implied folder version."""
        node = self.root
        if not path:
            return node
        end = -1
        for name in path.split("/"):
            end += len(name) + 1  # path[:end] is this folder's path
            node = self._child(node, name)
            current = node.state(layer)
            if current is None or current.kind != DIRECTORY:
                if current is not None and current.kind == SYMLINK and node.flat[-2] == layer:
                    self._changes.links_as_folders.append(path[:end])
                self.implied_path_bytes += end
                if self.implied_path_bytes > IMPLIED_PATH_BYTES_LIMIT:
                    raise ImageFormatError(
                        f"folders nest too deep to analyse: over {IMPLIED_PATH_BYTES_LIMIT >> 20} MB of implied "
                        f"folder paths (e.g. {len(path.split('/'))} folders deep under {path[:60]!r}…)"
                    )
                folder_path = path[:end]
                if node._path is None:
                    node._path = folder_path  # shared with the entry: no second copy later
                _set_event(node, layer, FileEntry(folder_path, DIRECTORY, 0, IMPLIED_DIR_MODE))
        return node

    # -- queries --------------------------------------------------------------
    def walk(self, node: Node | None = None) -> Iterator[Node]:
        """Every node below ``node`` (default the root), parents before children, by name."""
        stack = [node or self.root]
        while stack:
            current = stack.pop()
            if current is not self.root or node is not None:
                yield current
            if current.children:
                stack.extend(current.children[name] for name in sorted(current.children, reverse=True))

    def live_nodes(self, layer: int) -> Iterator[tuple[Node, FileEntry]]:
        """The stacked file system at ``layer``: (node, version) of every present path."""
        stack = [self.root]
        while stack:
            current = stack.pop()
            if current.children:
                for child in current.children.values():
                    entry = child.state(layer)
                    if entry is not None:
                        yield child, entry
                        stack.append(child)


def _set_event(node: Node, layer: int, entry: FileEntry | None) -> None:
    flat = node.flat
    if flat and flat[-2] == layer:
        node.flat = (*flat[:-1], entry)
    else:
        node.flat = (*flat, layer, entry)


def _delete_subtree(node: Node, layer: int) -> None:
    """Marks a present node and its present descendants deleted in ``layer``.

    A node absent at ``layer`` has no present descendants, so the walk stops there.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if current.state(layer) is None:
            continue
        _set_event(current, layer, None)
        if current.children:
            stack.extend(current.children.values())


def _live_bytes(node: Node, layer: int) -> int:
    """Stored bytes of every member present at and below ``node`` at ``layer`` (as dive's sizer sums them)."""
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        entry = current.state(layer)
        if entry is None:
            continue
        total += entry.size
        if current.children:
            stack.extend(current.children.values())
    return total


def _deleted_weight(node: Node, layer: int) -> int:
    """dive's weight of a whiteout: a folder's subtree bytes below ``layer``, a file 0."""
    below = layer - 1
    entry = node.state(below)
    if entry is None or entry.kind != DIRECTORY:
        return 0
    return _live_bytes(node, below)
