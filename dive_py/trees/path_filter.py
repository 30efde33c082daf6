"""Provides ``PathFilter``: the nodes whose absolute path a filter pattern matches (the explorer's ``/``), fast
enough to run at each keystroke on 10^6 nodes (pure, no Textual).

A regular expression searches every path. A plain pattern (no regex syntax) is a substring test, made cheap
three ways:

- Without ``/`` it can only match inside one name, so it is tested once per distinct name (~10^5 names at
  10^6 nodes, and short strings), and a node matches when its own name or an ancestor's does. The first
  keystrokes, which match most of the tree, cost ~10 ms instead of 25-70 ms over every path.
- Typed on from a cached pattern it contains, only that pattern's matches can match.
- Each pattern's result is kept (backspace finds it again); a sparse one as its positions, 4 bytes a match
  instead of a byte a node, so the cache costs little memory.
"""

from __future__ import annotations

import re
from array import array
from itertools import compress, repeat
from operator import attrgetter, contains

from dive_py.trees.order import Order
from dive_py.trees.passes import gather, scatter, set_positions, spread_down

CACHED_PATTERNS = 32
"""Patterns whose result is kept; past that the cache starts again (a plain one is narrowed from a shorter)."""


class PathFilter:
    """Which nodes of ``order`` (the name order) a filter pattern matches, each result cached per pattern."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self._paths: list[str] | None = None
        self._names: list[str] | None = None
        """Each distinct name once."""
        self._name_ids: array[int] | None = None
        """Per node (int32): its name's index in ``_names``."""
        self._cache: dict[str, bytearray | array[int]] = {}
        """Per pattern: its mask, or when under a quarter of the nodes match, their positions."""

    def paths(self) -> list[str]:
        """Absolute path of every node, name order (what a regex searches)."""
        if self._paths is None:
            # Each from its parent's (before it in preorder): not Node.path, which would also keep a second
            # string per node on the nodes (~0.1 GB at 10^6 nodes) and took ~3x as long.
            paths: list[str] = []
            add = paths.append
            for node, up in zip(self.order.nodes, self.order.parent, strict=True):
                add((paths[up] if up >= 0 else "") + "/" + node.name)
            self._paths = paths
        return self._paths

    def prepare(self) -> None:
        """Builds the path list and the name index now (the filter opens), not at the first keystroke."""
        self.paths()
        self._name_index()

    def _name_index(self) -> tuple[list[str], array[int]]:
        if self._names is None or self._name_ids is None:
            nodes = self.order.nodes
            names = list(dict.fromkeys(map(attrgetter("name"), nodes)))  # first seen first
            index = {name: at for at, name in enumerate(names)}
            self._name_ids = array("i", map(index.__getitem__, map(attrgetter("name"), nodes)))
            self._names = names
        return self._names, self._name_ids

    def mask(self, pattern: str) -> bytearray:
        """1 for each node whose absolute path contains a match of ``pattern`` (not to be written to).

        Raises:
            re.error: the pattern is not a valid regular expression.
        """
        cached = self._cache.get(pattern)
        if cached is not None:
            return cached if isinstance(cached, bytearray) else self._from_positions(cached)
        mask = self._search(pattern)
        if len(self._cache) >= CACHED_PATTERNS:
            self._cache.clear()
        self._cache[pattern] = set_positions(mask) if mask.count(1) < len(mask) // 4 else mask
        return mask

    def _from_positions(self, positions: array[int]) -> bytearray:
        mask = bytearray(len(self.order))
        scatter(mask, positions, b"\1" * len(positions))
        return mask

    def _search(self, pattern: str) -> bytearray:
        if re.escape(pattern) != pattern:
            return bytearray(map(bool, map(re.compile(pattern).search, self.paths())))
        # map() with C functions, no generator: ~2x faster a keystroke at 10^6 paths.
        candidates = self._narrowing_source(pattern)
        names, _ids = self._name_index()
        if "/" not in pattern and (candidates is None or len(candidates) > len(names)):
            return self._by_name(pattern)
        if candidates is not None and len(candidates) < len(self.order) // 4:
            return self._among(candidates, pattern)
        return bytearray(map(contains, self.paths(), repeat(pattern)))  # picking out most paths costs more

    def _by_name(self, pattern: str) -> bytearray:
        """A plain pattern without ``/``: the nodes with a matching name, and everything below them."""
        names, ids = self._name_index()
        mask = gather(bytes(map(contains, names, repeat(pattern))), ids)
        spread_down(mask, self.order)
        return mask

    def _among(self, candidates: array[int], pattern: str) -> bytearray:
        """A plain pattern, tested on ``candidates`` only (the others cannot match)."""
        paths = self.paths()
        mask = bytearray(len(paths))
        hits = map(contains, map(paths.__getitem__, candidates), repeat(pattern))
        for pos in compress(candidates, hits):
            mask[pos] = 1
        return mask

    def _narrowing_source(self, pattern: str) -> array[int] | None:
        """The matches of the longest cached plain pattern that ``pattern`` contains (only they can match), when
        they were few enough to be kept as positions."""
        best = None
        for previous, kept in self._cache.items():
            if isinstance(kept, array) and previous and previous in pattern and re.escape(previous) == previous:
                if best is None or len(previous) > len(best[0]):
                    best = (previous, kept)
        return best[1] if best else None
