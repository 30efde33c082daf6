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


def layer_visits(scan: LayerScan, changes: LayerChanges) -> tuple[list[tuple[str, str, int]], set[str]]:
    """The leaves of one layer's own tree as ``(key, path, weight)``, in no particular order.

    dive walks each layer tree depth first with children sorted by name; a whiteout is the
    node ``.wh.NAME`` beside ``NAME``. The key names that node: the path itself for a file,
    ``parent/.wh.name`` for a whiteout. dive's order (:func:`sort_key`) only decides which of
    several equal paths is listed first; sorting 100k keys per image cost more than the rest
    of the efficiency pass, so :meth:`EfficiencyCounter.add_visits` sorts just the paths that
    become inefficient. A key is a leaf unless another key of the layer lies below it.

    Returns:
        The visits, and the paths visited twice in this layer (a whiteout and a new version).
    """
    entries = scan.entries
    weights: dict[str, int] = {path: entry.size for path, entry in entries.items()}  # key -> weight
    paths: dict[str, str] = {}  # key -> path, where they differ (whiteouts)
    twice: set[str] = set()
    for path, weight in changes.removed.items():
        parent, _, name = path.rpartition("/")
        key = (parent + "/" if parent else "") + WHITEOUT_PREFIX + name
        weights[key] = weight
        paths[key] = path
        if path in entries:
            twice.add(path)
    for path in changes.opaque_dirs:
        weights.setdefault(path, 0)
        if path in changes.removed:
            twice.add(path)
    # Inner keys: every folder with a key below it. The parents of all keys, then the ancestors of the
    # parents that are no key themselves (folders the tar does not list; a listed one's parent is in).
    inner = {key.rpartition("/")[0] for key in weights}
    implied = [parent for parent in inner if parent and parent not in weights]
    while implied:
        above = implied.pop().rpartition("/")[0]
        if above and above not in inner:
            inner.add(above)
            if above not in weights:
                implied.append(above)
    get = paths.get
    return [(key, get(key, key), weight) for key, weight in weights.items() if key not in inner], twice


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

    def add_visits(self, visits: list[tuple[str, str, int]], twice: set[str] = frozenset()) -> None:  # noqa: B006
        """Counts one layer's visits (from :func:`layer_visits`), without sorting every leaf.

        Totals do not depend on order; the order in which paths reach their second visit
        does (it breaks ties in the list), so only those are put in dive's order here.
        """
        records = self._records
        second: list[tuple[str, str]] = []
        lowered = 0  # how much the smallest visits of paths seen before went down
        fresh = 0
        for key, path, weight in visits:
            record = records.get(path)
            if record is None:
                records[path] = weight
                fresh += weight
            elif record.__class__ is int:
                if weight < record:
                    lowered += record - weight
                records[path] = [2, record + weight, min(record, weight)]
                second.append((key, path))
            else:
                record[0] += 1
                record[1] += weight
                if weight < record[2]:
                    lowered += record[2] - weight
                    record[2] = weight
        self._minimum += fresh - lowered
        self._discovered += sum(weight for _key, _path, weight in visits)
        if twice and second:
            second = [(self._second_key(key, path, visits, twice), path) for key, path in second]
        else:
            second = [(sort_key(key), path) for key, path in second]
        second.sort()
        self._second_visit_order.extend(path for _key, path in second)

    def _second_key(self, key: str, path: str, visits: list[tuple[str, str, int]], twice: set[str]) -> str:
        """For a path visited twice in one layer: the key of the visit that, in dive's order, was its second."""
        if path not in twice:
            return sort_key(key)
        keys = sorted(sort_key(k) for k, p, _w in visits if p == path)
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
