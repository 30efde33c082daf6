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

from dive_py.model import WHITEOUT_PREFIX, LayerScan
from dive_py.trees.gosort import go_sort
from dive_py.trees.tree import LayerChanges


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

    leaves: dict[str, int]
    """Entries that are leaves, by path (their key), with their stored size (the visit's weight)."""
    others: list[tuple[str, str, int]]
    """The other leaves, ``(key, path, weight)``: whiteouts (key ``parent/.wh.name``) and opaque folders the
    layer does not list. Few: the counter visits them one by one."""
    twice: set[str]
    """Paths visited twice in this layer (a whiteout and a new version)."""


def layer_visits(scan: LayerScan, changes: LayerChanges) -> LayerVisits:
    """The leaves of one layer's own tree, in no particular order.

    dive walks each layer tree depth first with children sorted by name; a whiteout is the
    node ``.wh.NAME`` beside ``NAME``. The key names that node: the path itself for a file,
    ``parent/.wh.name`` for a whiteout. dive's order (:func:`sort_key`) only decides which of
    several equal paths is listed first; sorting 100k keys per image cost more than the rest
    of the efficiency pass, so :meth:`EfficiencyCounter.add_visits` sorts just the paths that
    become inefficient. A key is a leaf unless another key of the layer lies below it.
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
    # Inner keys: every folder with a key below it. The folders of the entries (found while stacking) and of
    # the other keys, then the ancestors of those that are no key themselves (folders the tar does not list;
    # a listed one's folder is in already).
    inner = changes.parents | {key.rpartition("/")[0] for key in others}
    implied = [parent for parent in inner if parent and parent not in entries and parent not in others]
    while implied:
        above = implied.pop().rpartition("/")[0]
        if above and above not in inner:
            inner.add(above)
            if above not in entries and above not in others:
                implied.append(above)
    leaves = {path: entry.size for path, entry in entries.items() if path not in inner}
    listed = [(key, path, weight) for key, (path, weight) in others.items() if key not in inner]
    return LayerVisits(leaves, listed, twice)


def sort_key(key: str) -> str:
    """dive's order of tree nodes: depth first, children by name (``/`` sorts before every name byte)."""
    return key.replace("/", "\0")


class EfficiencyCounter:
    """Accumulates visits layer by layer; read the figures at the end."""

    def __init__(self) -> None:
        # path -> its one visit's weight, or [count, cumulative, minimum] from its second visit on: most paths
        # are visited once, and a list each would cost ~10 MB on a 100k-file image.
        self._records: dict[str, int | list[int]] = {}
        self._second_visit_order: list[str] = []
        self._minimum = 0
        """Σ of every path's smallest visit, kept as visits come (no pass over all paths at the end)."""
        self._discovered = 0
        """Σ of all visits."""

    def add_visits(self, visits: LayerVisits) -> None:
        """Counts one layer's visits (from :func:`layer_visits`), without sorting every leaf.

        Totals do not depend on order; the order in which paths reach their second visit
        does (it breaks ties in the list), so only those are put in dive's order here.
        """
        records = self._records
        leaves = visits.leaves
        # Most leaves are paths never visited before: they are counted in bulk (dict and set operations run in
        # C; a loop over 10^6 leaves cost ~0.5 s). Only the paths seen before go through _visit.
        seen = [(path, path, leaves[path]) for path in leaves.keys() & records.keys()]
        self._discovered += sum(leaves.values())
        if seen:
            leaves = dict(leaves)
            for _key, path, _weight in seen:
                del leaves[path]
        self._minimum += sum(leaves.values())
        records.update(leaves)
        second: list[tuple[str, str]] = []
        for key, path, weight in visits.others:
            self._discovered += weight
            self._visit(key, path, weight, second)
        for key, path, weight in seen:
            self._visit(key, path, weight, second)
        if visits.twice and second:
            second = [(self._second_key(key, path, visits), path) for key, path in second]
        else:
            second = [(sort_key(key), path) for key, path in second]
        second.sort()
        self._second_visit_order.extend(path for _key, path in second)

    def _visit(self, key: str, path: str, weight: int, second: list[tuple[str, str]]) -> None:
        """Counts one visit (its weight is in the discovered sum already); notes a path's second visit."""
        record = self._records.get(path)
        if record is None:
            self._records[path] = weight
            self._minimum += weight
        elif record.__class__ is int:
            self._minimum -= record - min(record, weight)
            self._records[path] = [2, record + weight, min(record, weight)]
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
        if path in visits.leaves:
            keys.append(path)
        keys = sorted(sort_key(k) for k in keys)
        before = self._count(path) - len(keys)  # visits from lower layers
        return keys[1 - before]

    def _count(self, path: str) -> int:
        record = self._records[path]
        return 1 if record.__class__ is int else record[0]  # type: ignore[index]

    def score(self) -> float:
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
