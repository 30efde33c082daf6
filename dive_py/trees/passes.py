"""Provides the passes over every node's column that the explorer makes at each layer it shows: folder sizes
(:func:`add_up`), the shown rows' positions (:func:`set_positions`) and a layer's codes written in place
(:func:`scatter`).

Each is one loop over up to 10^6 nodes: in C where ``dive_py/trees/_columns.c`` was built (optional, like
the scanner's loop; ``DIVEPY_PURE_PYTHON=1`` turns it off), else in Python with the same results
(tests/trees/test_columns.py compares both).
"""

from __future__ import annotations

import os
from array import array
from itertools import accumulate, compress
from operator import mul
from typing import Protocol

try:
    from dive_py.trees._columns import add_up as _add_up
    from dive_py.trees._columns import scatter as _scatter
    from dive_py.trees._columns import set_positions as _set_positions
except ImportError:  # pragma: no cover - depends on the build
    _add_up = _scatter = _set_positions = None
if os.environ.get("DIVEPY_PURE_PYTHON"):
    _add_up = _scatter = _set_positions = None


class Spans(Protocol):
    """What the passes read of an :class:`dive_py.trees.order.Order` (which imports this module)."""

    parent: array
    end: array
    folders: list[int]


def subtree_sizes(parent: array) -> array:
    """Nodes in each node's subtree, itself included, from the preorder's parent positions."""
    sub = array("q", [1]) * len(parent)
    if _add_up is not None:
        _add_up(sub, parent)
        return sub
    for pos in range(len(parent) - 1, -1, -1):
        up = parent[pos]
        if up >= 0:
            sub[up] += sub[pos]
    return sub


def add_up(files: array, order: Spans, kept: bytearray | None = None) -> array:
    """Bytes per node: a file's own, a folder's sum of the regular files below it (and its own: a path may be a
    file at one layer and a folder at another); with ``kept``, only the files it marks count."""
    column = files[:]  # a copy of the buffer, not item by item
    if _add_up is not None:  # ~2 ms at 10^6 nodes
        _add_up(column, order.parent, *(() if kept is None else (kept,)))
        return column
    # Prefix sums over the preorder (a subtree is a range): a folder's sum is one subtraction and the loop
    # is over the folders only (~0.1 s at 10^6 nodes; a loop adding every node to its parent took ~0.12 s).
    if kept is not None:
        column = array("q", map(mul, files, kept))
    prefix = array("q", accumulate(column, initial=0))
    end = order.end
    for pos in order.folders:
        column[pos] = prefix[end[pos]] - prefix[pos]
    return column


def set_positions(shown: bytearray) -> array:
    """The positions (int32) of the 1 bytes of ``shown``: the rows' nodes, in order."""
    if _set_positions is None:
        return array("i", compress(range(len(shown)), shown))
    positions = array("i")
    positions.frombytes(_set_positions(shown))  # ~1 ms at 10^6 rows, where the list took ~30 ms
    return positions


def scatter(target: bytearray, positions: array, values: bytes) -> None:
    """``target[positions[i]] = values[i]`` for each ``i``."""
    if _scatter is not None:
        _scatter(target, positions, values)
        return
    for pos, value in zip(positions, values, strict=True):
        target[pos] = value
