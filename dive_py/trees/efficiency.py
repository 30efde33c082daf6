"""Provides dive's efficiency score and inefficient-file list, computed incrementally.

Follows dive 0.13.1 ``dive/filetree/efficiency.go``: every leaf node of every layer's
own tree is a visit to its path (whiteout ``.wh.`` prefix stripped); a visit weighs the
file's stored size, a whiteout of a folder the bytes of that folder's subtree in the
stack below, a whiteout of a file 0. Efficiency = Σ smallest visit per path / Σ all
visits; wasted bytes = Σ visits of paths visited twice or more. Where dive is wrong we
are not: opaque folders count as one whiteout per hidden entry, and a whiteout of a
path that never existed weighs 0 instead of leaking -1 and ending the layer's scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

from dive_py.model import DIRECTORY, WHITEOUT_PREFIX, FileEntry, LayerScan
from dive_py.trees.gosort import go_sort
from dive_py.trees.tree import FileTree, LayerChanges, Node


@dataclass(slots=True)
class Inefficiency:
    """A path stored more than once across layers."""

    path: str
    """Absolute path, as dive prints it (``/etc/passwd``)."""
    count: int
    """How many layers' trees hold the path (a whiteout counts)."""
    cumulative_bytes: int
    """Sum of all of its visits' weights, the first copy included (dive's "wasted space")."""


@dataclass(slots=True)
class LayerVisits:
    """The leaves of one layer's own tree, each a visit to its path (see :func:`layer_visits`)."""

    layer: int
    leaf_bytes: int
    """Σ of the weights of the entries that are leaves."""
    counted: dict[str, int]
    """The entry leaves counted one by one, by path (their key), with their weights: those of paths the tree had
    before, visited twice here, or folders; in an odd layer (see :func:`layer_visits`) every one. The others are
    first visits of new paths, counted in :attr:`leaf_bytes` alone."""
    others: list[tuple[str, str, int]]
    """The other leaves, ``(key, path, weight)``: whiteouts (key ``parent/.wh.name``) and opaque folders the
    layer does not list."""
    twice: set[str]
    """Paths visited twice in this layer (a whiteout and a new version)."""
    nodes: dict[str, Node]
    """The tree's nodes of the paths above that it had before this layer (where an earlier visit is looked up)."""
    not_visited: list[str]
    """Entries that are no leaves though no folders (a file listed with entries below it): odd, rare."""
    entries: dict[str, FileEntry]
    """The layer's entries, by path."""
    inner: set[str]
    """The layer's keys that are no leaves."""


def layer_visits(layer: int, scan: LayerScan, changes: LayerChanges, tree: FileTree) -> LayerVisits:
    """The leaves of layer ``layer``'s own tree, in no particular order.

    dive walks each layer tree depth first with children sorted by name; a whiteout is the
    node ``.wh.NAME`` beside ``NAME``. The key names that node: the path itself for a file,
    ``parent/.wh.name`` for a whiteout. dive's order (:func:`sort_key`) only decides which of
    several equal paths is listed first; sorting 100k keys per image cost more than the rest
    of the efficiency pass, so :meth:`EfficiencyCounter.add_visits` sorts just the paths that
    become inefficient. A key is a leaf unless another key of the layer lies below it.

    A new path's first visit is not recorded one by one (a dict of every path cost ~0.4 s and ~30 MB at 10^6
    paths): it is the first version of its node, found there if the path is visited again. That holds unless
    the layer is odd (a file with entries below it, or a folder replaced by a file: the stacking rewrites such
    versions of the layer), and then every leaf of the layer is recorded.
    """
    entries = scan.entries
    others: dict[str, tuple[str, int]] = {}  # key -> (path, weight) of the visits that are no entry
    twice: set[str] = set()
    for path, weight in changes.removed.items():
        parent, _, name = path.rpartition("/")
        others[(parent + "/" if parent else "") + WHITEOUT_PREFIX + name] = (path, weight)
        if path in entries:
            twice.add(path)
    for path in changes.opaque_dirs:
        if path not in entries:
            others.setdefault(path, (path, 0))
        if path in changes.removed:
            twice.add(path)
    inner = _inner_keys(entries, others, changes.parents)
    inner_entries = [entries[path] for path in inner if path in entries]
    not_visited = [entry.path for entry in inner_entries if entry.kind != DIRECTORY]
    leaf_bytes = sum(map(_SIZE, entries.values())) - sum(map(_SIZE, inner_entries))
    if not_visited or changes.replaced_folder:
        picked = [path for path in entries if path not in inner]
    else:
        candidates = chain(changes.revisits, twice, changes.folders)
        picked = [path for path in candidates if path not in inner and path in entries]
    counted = {path: entries[path].size for path in picked}
    listed = [(key, path, weight) for key, (path, weight) in others.items() if key not in inner]
    nodes = dict(changes.revisits)
    for _key, path, _weight in listed:
        if path not in nodes and (node := tree.get(path)) is not None:
            nodes[path] = node
    return LayerVisits(layer, leaf_bytes, counted, listed, twice, nodes, not_visited, entries, inner)


def _inner_keys(entries: dict[str, FileEntry], others: dict[str, tuple[str, int]], parents: set[str]) -> set[str]:
    """Every folder with a key below it: the folders of the entries (found while stacking) and of the other keys,
    then the ancestors of those that are no key themselves (folders the tar does not list; a listed one's folder
    is in already)."""
    inner = parents | {key.rpartition("/")[0] for key in others}
    implied = [parent for parent in inner if parent and parent not in entries and parent not in others]
    while implied:
        above = implied.pop().rpartition("/")[0]
        if above and above not in inner:
            inner.add(above)
            if above not in entries and above not in others:
                implied.append(above)
    return inner


_SIZE = attrgetter("size")
_NOT_VISITED = -1
"""The record of a path whose node holds a version that was no visit (see ``LayerVisits.not_visited``)."""


def _first_visit(node: Node | None, layer: int) -> int | None:
    """The weight of the visit of a path that has no record: the first version of its node, when a layer below
    ``layer`` wrote it as a new path, a leaf that is no folder (see :func:`layer_visits`); else None."""
    if node is None:
        return None
    flat = node.flat
    entry = flat[1]
    if flat[0] < layer and entry is not None and entry.kind != DIRECTORY:
        size: int = entry.size
        return size
    return None


def sort_key(key: str) -> str:
    """dive's order of tree nodes: depth first, children by name (``/`` sorts before every name byte)."""
    return key.replace("/", "\0")


class EfficiencyCounter:
    """Accumulates visits layer by layer; read the figures at the end."""

    def __init__(self) -> None:
        # path -> its one visit's weight, or [count, cumulative, minimum] from its second visit on; only for paths
        # counted one by one (most first visits are found in the tree instead: see layer_visits).
        self._records: dict[str, int | list[int]] = {}
        self._second_visit_order: list[str] = []
        self._minimum = 0
        """Σ of every path's smallest visit, kept as visits come (no pass over all paths at the end)."""
        self._discovered = 0
        """Σ of all visits."""
        self._nodeless: set[str] = set()
        """Paths visited before the tree had a node for them (whiteouts of missing paths, opaque markers of missing
        folders): a new node's entry is no first visit there."""

    def add_visits(self, visits: LayerVisits) -> None:
        """Counts one layer's visits (from :func:`layer_visits`), without sorting every leaf.

        Totals do not depend on order; the order in which paths reach their second visit
        does (it breaks ties in the list), so only those are put in dive's order here.
        """
        layer, nodes, records = visits.layer, visits.nodes, self._records
        for path in visits.not_visited:  # this layer's version must not pass for a first visit later
            if path not in records:
                earlier = _first_visit(nodes.get(path), layer)
                records[path] = _NOT_VISITED if earlier is None else earlier
        counted = visits.counted
        entries, inner = visits.entries, visits.inner
        for path in self._nodeless & entries.keys():
            if path not in inner and path not in counted:
                counted[path] = entries[path].size
        self._discovered += visits.leaf_bytes
        self._minimum += visits.leaf_bytes - sum(counted.values())  # first visits of new paths
        second: list[tuple[str, str]] = []
        for key, path, weight in visits.others:
            self._discovered += weight
            node = nodes.get(path)
            if node is None:
                self._nodeless.add(path)
            self._visit(key, path, weight, node, layer, second)
        for path, weight in counted.items():
            self._visit(path, path, weight, nodes.get(path), layer, second)
        if visits.twice and second:
            second = [(self._second_key(key, path, visits), path) for key, path in second]
        else:
            second = [(sort_key(key), path) for key, path in second]
        second.sort()
        self._second_visit_order.extend(path for _key, path in second)

    def _visit(
        self, key: str, path: str, weight: int, node: Node | None, layer: int, second: list[tuple[str, str]]
    ) -> None:
        """Counts one visit (its weight is in the discovered sum already); notes a path's second visit."""
        records = self._records
        record = records.get(path)
        if record is None:
            record = _first_visit(node, layer)
        if record is None or record == _NOT_VISITED:
            records[path] = weight
            self._minimum += weight
        elif isinstance(record, int):
            self._minimum -= record - min(record, weight)
            records[path] = [2, record + weight, min(record, weight)]
            second.append((key, path))
        else:
            record[0] += 1
            record[1] += weight
            if weight < record[2]:
                self._minimum -= record[2] - weight
                record[2] = weight

    def _second_key(self, key: str, path: str, visits: LayerVisits) -> str:
        """For a path visited twice in one layer: the key of the visit that, in dive's order, was its second."""
        if path not in visits.twice:
            return sort_key(key)
        keys = [k for k, p, _w in visits.others if p == path]
        if path in visits.counted:
            keys.append(path)
        keys = sorted(sort_key(k) for k in keys)
        before = self._count(path) - len(keys)  # visits from lower layers
        return keys[1 - before]

    def _count(self, path: str) -> int:
        record = self._records[path]
        return 1 if record.__class__ is int else record[0]  # type: ignore[index]

    def score(self) -> float:
        """dive's efficiency score: the minimum bytes over the bytes discovered (1.0 when none)."""
        return 1.0 if self._discovered == 0 else self._minimum / self._discovered

    def inefficiencies(self) -> list[Inefficiency]:
        """Paths visited at least twice, largest cumulative size first, ties in dive's order."""
        records = self._records
        found = [Inefficiency("/" + path, records[path][0], records[path][1]) for path in self._second_visit_order]  # type: ignore[index]
        # dive builds this list in discovery order, sorts it ascending with Go's sort.Sort
        # (pdqsort, not stable) and lists it in reverse; Go's exact algorithm is what puts
        # equal sizes (e.g. several 0-byte folders) in the order dive shows.
        go_sort(found, lambda a, b: a.cumulative_bytes < b.cumulative_bytes)
        found.reverse()
        return found
