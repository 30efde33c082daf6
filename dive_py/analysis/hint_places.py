"""Provides the places of hints: a group's files gathered under the top folders the pattern covers as a whole.

A folder is covered when every regular file (of some bytes) present under it at the group's reference
layer belongs to the group: ``chmod -R /app`` gives ``/app``, ``rm -rf /var/lib/apt/lists/*`` gives
``/var/lib/apt/lists``. Covered folders and the files left are the group's units; units under the same
parent folder (or, for caches and temporary files, the same cache root) make one hint.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import chain, groupby, islice
from operator import methodcaller

from dive_py.model import DIRECTORY, REGULAR, FileEntry
from dive_py.trees.tree import FileTree, Node

MAX_PATHS = 20
"""Paths listed in one hint, biggest first."""
NAMED_FILES = 200
"""Files of a place whose sources a copy's fix looks at (their common folder)."""


@dataclass
class Group:
    """The stored versions of one kind that one layer's fix would remove."""

    kind: str
    layer: int
    ref: int
    """The layer at which folders are judged covered; -1 for the last (final file system)."""
    files: dict[str, int] = field(default_factory=dict)
    """Path (as the tree names it) -> bytes."""
    related: Counter[int | str] = field(default_factory=Counter)
    """The other layer each version involves (deleting, replacing, source layer; a cache's ``name:root``), by bytes."""
    sources: dict[str, str] = field(default_factory=dict)
    """For copies: path -> the path of the earlier live copy."""


@dataclass
class Place:
    """One hint's worth of a group: the units under one place and their bytes."""

    place: str
    units: list[tuple[str, int]]
    """(path, bytes), biggest first."""
    files: list[str]
    """The group's first files under this place (at most :data:`NAMED_FILES`, none unless it has sources)."""

    @property
    def bytes(self) -> int:
        """The place's bytes: the sum of its units'."""
        return sum(size for _unit, size in self.units)


def places(tree: FileTree, group: Group, ref: int, caps: re.Pattern[str] | None, min_bytes: int = 0) -> list[Place]:
    """The group split into places of at least ``min_bytes``; ``caps`` (for caches) names the root no unit
    may climb above."""
    by_parent, sizes_by_parent = _by_parent(group.files)
    covered = _covered_folders(tree, group, ref, by_parent)
    units = _Units(bool(group.sources))  # only copies name their files again (the fix names their source)
    tops: dict[str, str] = {}  # folder (+ "\0" + cap) -> its highest covered ancestor (itself included)
    for parent, paths in by_parent.items():
        cap = ""  # a cache's root is a folder above the file: its parent's match is the file's
        if caps is not None and (found := caps.match(parent + "/")) is not None:
            cap = found.group(found.lastgroup or 0)
        if parent in covered:
            key = parent + "\0" + cap if cap else parent
            unit = tops.get(key) or tops.setdefault(key, _top(parent, covered, cap))
            units.add_folder(unit, paths, sum(sizes_by_parent[parent]), cap or unit.rpartition("/")[0])
        else:
            units.add_files(paths, sizes_by_parent[parent], cap or parent)
    grouped: dict[str, list[str]] = defaultdict(list)
    roots, sizes = units.roots, units.sizes
    for unit in sizes:
        grouped[roots[unit]].append(unit)
    out = []
    for place, members in grouped.items():
        if sum(map(sizes.__getitem__, members)) < min_bytes:
            continue  # no hint: its units are not ranked
        ranked = sorted(((unit, sizes[unit]) for unit in members), key=lambda item: (-item[1], item[0]))
        out.append(Place(place, ranked, units.named(members)))
    return out


class _Units:
    """A group's units: a covered folder or a file, each with its bytes, the place it is in and (when kept)
    its files. A file that is its own unit has no list of files (``[unit]`` is implied): ~10^5 of them."""

    def __init__(self, keep_files: bool) -> None:
        self.sizes: dict[str, int] = {}
        self.roots: dict[str, str] = {}
        self.files: dict[str, list[str]] = {}
        self.keep_files = keep_files

    def add_folder(self, unit: str, paths: list[str], size: int, root: str) -> None:
        if self.keep_files:
            self._files_of(unit).extend(paths)
        sizes = self.sizes
        sizes[unit] = sizes.get(unit, 0) + size
        self.roots.setdefault(unit, root)

    def add_files(self, paths: list[str], sizes: list[int], root: str) -> None:
        """Each file its own unit: at once, unless a path is a unit already (a file over a covered folder)."""
        units = self.sizes
        if units.keys().isdisjoint(paths):
            units.update(zip(paths, sizes, strict=True))
            self.roots.update(dict.fromkeys(paths, root))
            return
        for path, size in zip(paths, sizes, strict=True):
            if self.keep_files:
                self._files_of(path).append(path)
            units[path] = units.get(path, 0) + size
            self.roots[path] = root

    def named(self, members: list[str]) -> list[str]:
        """The first files of these units (:data:`NAMED_FILES`), in unit order."""
        if not self.keep_files:
            return []
        files = map(self.files.get, members, zip(members))  # default: the 1-tuple (unit,)
        return list(islice(chain.from_iterable(files), NAMED_FILES))

    def _files_of(self, unit: str) -> list[str]:
        files = self.files.get(unit)
        if files is None:  # a file that was its own unit is the first of its list
            files = self.files[unit] = [unit] if unit in self.sizes else []
        return files


def _by_parent(files: dict[str, int]) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """The paths and their bytes by their parent folder: runs of siblings (files come in tree order) are
    taken at once."""
    grouped: dict[str, list[str]] = {}
    grouped_sizes: dict[str, list[int]] = {}
    sizes = list(files.values())
    start = 0
    for parent, run in groupby(files, key=_parent):
        paths = list(run)
        end = start + len(paths)
        known = grouped.get(parent)
        if known is None:
            grouped[parent] = paths
            grouped_sizes[parent] = sizes[start:end]
        else:
            known.extend(paths)
            grouped_sizes[parent].extend(sizes[start:end])
        start = end
    return grouped, grouped_sizes


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _top(folder: str, covered: set[str], cap: str) -> str:
    """The highest covered folder from ``folder`` up (``folder`` is covered), not above ``cap``."""
    parent = folder.rpartition("/")[0]
    while parent and parent in covered and (not cap or parent.startswith(cap)):
        folder, parent = parent, parent.rpartition("/")[0]
    return folder


def _covered_folders(tree: FileTree, group: Group, ref: int, by_parent: dict[str, list[str]]) -> set[str]:
    """The folders above the group's files whose every file (of some bytes) at ``ref`` is one of them, and
    that the pattern changed as a folder too (:func:`_folder_fits`).

    Judged deepest first, so a folder's subfolders are judged before it (no recursion: trees nest deep).
    """
    files = group.files
    counts = {parent: len(paths) for parent, paths in by_parent.items()}  # in each folder, then under it
    for folder in list(counts):  # every folder above them, each walked up once
        parent = folder.rpartition("/")[0]
        while parent and parent not in counts:
            counts[parent] = 0
            parent = parent.rpartition("/")[0]
    counts.pop("", None)
    candidates = set(counts)
    order = sorted(candidates, key=methodcaller("count", "/"), reverse=True)  # stable: ties keep their order
    for folder in order:  # deepest first: a folder's count is final before it is added to its parent's
        parent = folder.rpartition("/")[0]
        if parent:
            counts[parent] += counts[folder]
    nodes = _folder_nodes(tree, order)
    # Final files (copies, caches) are present at ``ref`` as they are: a folder whose children are all the
    # group's or covered folders holds nothing else, known from two counts without visiting its children.
    tally: dict[str, int] | None = {} if group.ref < 0 else None  # covered subfolders counted per folder
    covered: set[str] = set()
    for folder in order:
        node = nodes[folder]
        if node is None or not node.children:
            continue
        if tally is not None and len(node.children) == len(by_parent.get(folder, ())) + tally.get(folder, 0):
            inside = True
        else:
            inside = _all_in(node, folder, files, candidates, covered, ref)
        if inside and _folder_fits(group, node, ref, counts[folder], covered):
            covered.add(folder)
            if tally is not None and folder not in files and not _stored(node.state(ref)):
                parent = folder.rpartition("/")[0]  # a covered child the parent's _all_in lets pass
                tally[parent] = tally.get(parent, 0) + 1
    return covered


def _folder_nodes(tree: FileTree, folders: list[str]) -> dict[str, Node | None]:
    """The tree's node (or None) of each folder; ``folders`` holds every folder above each of them, deepest
    first. Each is found from its parent's node: one lookup, where :meth:`FileTree.get` walks from the root."""
    nodes: dict[str, Node | None] = {"": tree.root}
    for folder in reversed(folders):
        parent, _, name = folder.rpartition("/")
        above = nodes[parent]
        nodes[folder] = above.children.get(name) if above is not None and above.children else None
    return nodes


def _stored(entry: FileEntry | None) -> bool:
    """Whether ``entry`` is a regular file of some bytes (what a folder's other files would be)."""
    return entry is not None and entry.kind == REGULAR and bool(entry.size)


def _folder_fits(group: Group, node: Node, ref: int, count: int, covered: set[str]) -> bool:
    """Whether the pattern took the folder as a whole, beyond holding only the group's files: deleted with
    them, made by the layer that moved or copied them, its own mode or owner changed with theirs."""
    kind, flat = group.kind, node.flat
    if kind == "deleted-later":
        return any(flat[i + 1] is None and flat[i] > ref for i in range(0, len(flat), 2))
    if kind == "moved":
        return node.state(ref - 1) is None
    if kind == "metadata-only":
        now, before = node.state(ref), node.state(ref - 1)
        return (
            before is not None
            and now is not None
            and (now.mode, now.uid, now.gid) != (before.mode, before.uid, before.gid)
        )
    if kind == "overwritten-later":
        return count > 1 and "/" in node.path
    if kind == "duplicate-content":
        return not _held_files(node, group.layer - 1, covered)
    return True  # caches and temporary files: capped at their root


def _held_files(node: Node, layer: int, covered: set[str]) -> bool:
    """Whether a regular file of some bytes was under ``node`` at ``layer`` (stops at the first).

    Covered subfolders were judged already, and held none (else they would not be covered): not walked again.
    A folder absent at ``layer`` held nothing (a path exists only under its folder): a copy's folders.
    """
    flat = node.flat
    if not flat or flat[0] > layer or node.state(layer) is None:  # the first test: a copy's new folders
        return False
    stack = [node]
    while stack:
        for child in (stack.pop().children or {}).values():
            entry = child.state(layer)
            if entry is not None:
                if entry.kind == REGULAR and entry.size:
                    return True
                if child.children and child.path not in covered:
                    stack.append(child)
    return False


def _all_in(node: Node, folder: str, files: dict[str, int], candidates: set[str], covered: set[str], ref: int) -> bool:
    """Whether every file present under ``node`` at ``ref`` is in ``files`` (subfolders judged already)."""
    for child in (node.children or {}).values():  # the caller passes folders with children
        flat = child.flat
        entry = flat[1] if len(flat) == 2 and flat[0] <= ref else child.state(ref)  # most paths: one version
        if entry is None:
            continue
        path = entry.path  # the child's path: an entry is named as its node (no string built per child)
        if entry.kind == REGULAR:
            if entry.size and path not in files:
                return False
        elif entry.kind == DIRECTORY:
            if path in candidates:
                if path not in covered:
                    return False
            elif child.children and any(c.state(ref) is not None for c in child.children.values()):
                return False  # holds something none of the group's files are in
    return True
