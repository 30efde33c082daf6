"""Provides the passes over every node that the explorer makes: at its start, the name order's preorder
(:func:`preorder`) and each layer's changed nodes (:func:`layer_changes`); at each layer it shows, folder sizes
(:func:`add_up`), the shown rows' positions (:func:`set_positions`), a layer's codes written in place
(:func:`scatter`); and at each filter keystroke: a per-name result spread to the nodes (:func:`gather`) and down
their subtrees (:func:`spread_down`), the folders leading to the matches (:func:`folders_above`).

Each is one loop over up to 10^6 nodes: in C where ``dive_py/trees/_columns.c`` was built (optional, like
the scanner's loop; ``DIVEPY_PURE_PYTHON=1`` turns it off), else in Python with the same results
(tests/trees/test_columns.py compares both).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Mapping, Sequence
from itertools import accumulate, compress
from operator import mul
from types import ModuleType
from typing import Any, Protocol, TypeVar

_columns: ModuleType | None
try:
    from dive_py.trees import _columns
except ImportError:  # pragma: no cover - depends on the build
    _columns = None
if os.environ.get("DIVEPY_PURE_PYTHON"):
    _columns = None
# One by one: a build older than this file lacks the newer loops but still has the older ones.
_add_up = getattr(_columns, "add_up", None)
_scatter = getattr(_columns, "scatter", None)
_set_positions = getattr(_columns, "set_positions", None)
_gather = getattr(_columns, "gather", None)
_spread_down = getattr(_columns, "spread_down", None)
_folders_above = getattr(_columns, "folders_above", None)
_preorder = getattr(_columns, "preorder", None)
_layer_changes = getattr(_columns, "layer_changes", None)


class TreeNode(Protocol):
    """What the start-up passes read of a :class:`dive_py.trees.tree.Node`."""

    @property
    def children(self) -> Mapping[str, TreeNode] | None:
        """The node's children by name, or None."""

    @property
    def flat(self) -> tuple[Any, ...]:
        """The node's events, ``(layer, entry, ...)``."""


N = TypeVar("N", bound=TreeNode)


Changes = tuple["array[int]", list[Any], list[Any], list[Any]]
"""One layer's changed nodes: positions (int32), versions written (None: deleted), versions below, versions in
layer 0."""


def preorder(tops: Sequence[N]) -> tuple[list[N], array[int], array[int]]:
    """The nodes below ``tops`` in preorder, children by name, with each one's parent position (-1 for the tops)
    and depth (uint16). In C ~0.15 s at 10^6 nodes, where the Python loop took ~0.5 s of the explorer's start."""
    parent, depth = array("i"), array("H")
    if _preorder is not None:
        c_nodes, parents, depths = _preorder(tops)
        parent.frombytes(parents)
        depth.frombytes(depths)
        return c_nodes, parent, depth
    nodes: list[N] = []
    # Any: the children of an N are N's, which the protocol cannot say.
    stack: list[tuple[Any, int, int]] = [(child, -1, 0) for child in reversed(tops)]
    while stack:
        node, par, d = stack.pop()
        pos = len(nodes)
        nodes.append(node)
        parent.append(par)
        depth.append(d)
        children = node.children
        if children:
            stack.extend((children[name], pos, d + 1) for name in sorted(children, reverse=True))
    return nodes, parent, depth


def layer_changes(nodes: Sequence[TreeNode], count: int) -> list[Changes]:
    """Per layer under ``count``: the nodes (positions in ``nodes``) it wrote or deleted, with the version it
    wrote, the version below and the version in layer 0, from each node's events."""
    if _layer_changes is not None:
        changes = []
        for positions, entries, below, firsts in _layer_changes(nodes, count):
            column = array("i")
            column.frombytes(positions)
            changes.append((column, entries, below, firsts))
        return changes
    changes = [(array("i"), [], [], []) for _ in range(count)]
    # Bound appends per layer: a method call per event cost ~0.25 s at 10^6 nodes.
    columns = [(c[0].append, c[1].append, c[2].append, c[3].append) for c in changes]
    for pos, node in enumerate(nodes):
        flat = node.flat
        if len(flat) == 2:  # most paths, written once and never deleted: no loop (~0.1 s at 10^6 nodes)
            layer, entry = flat
            if layer < count:
                add_pos, add_entry, add_below, add_first = columns[layer]
                add_pos(pos)
                add_entry(entry)
                add_below(None)
                add_first(entry if layer == 0 else None)
            continue
        prev = None
        first = flat[1] if flat and flat[0] == 0 else None
        for i in range(0, len(flat), 2):
            layer, entry = flat[i], flat[i + 1]
            if layer < count:
                add_pos, add_entry, add_below, add_first = columns[layer]
                add_pos(pos)
                add_entry(entry)
                add_below(prev)
                add_first(first)
            prev = entry
    return changes


class Spans(Protocol):
    """What the passes read of an :class:`dive_py.trees.order.Order` (which imports this module)."""

    parent: array[int]
    end: array[int]
    folders: list[int]


def subtree_sizes(parent: array[int]) -> array[int]:
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


def add_up(files: array[int], order: Spans, kept: bytearray | None = None) -> array[int]:
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


def set_positions(shown: bytearray) -> array[int]:
    """The positions (int32) of the 1 bytes of ``shown``: the rows' nodes, in order."""
    if _set_positions is None:
        return array("i", compress(range(len(shown)), shown))
    positions = array("i")
    positions.frombytes(_set_positions(shown))  # ~1 ms at 10^6 rows, where the list took ~30 ms
    return positions


def scatter(target: bytearray, positions: array[int], values: bytes) -> None:
    """``target[positions[i]] = values[i]`` for each ``i``."""
    if _scatter is not None:
        _scatter(target, positions, values)
        return
    for pos, value in zip(positions, values, strict=True):
        target[pos] = value


def gather(table: bytes | bytearray, ids: array[int]) -> bytearray:
    """``table[ids[i]]`` for each ``i``: a per-name byte handed to every node carrying that name."""
    if _gather is not None:
        gathered: bytearray = _gather(table, ids)
        return gathered
    return bytearray(map(table.__getitem__, ids))


def spread_down(mask: bytearray, order: Spans) -> None:
    """Marks, in place, every node below a node ``mask`` marks."""
    if _spread_down is not None:
        _spread_down(mask, order.parent)
        return
    end = order.end
    filled = 0  # the end of the last subtree filled: the folders inside it are done
    for pos in order.folders:
        if pos >= filled and mask[pos]:
            filled = end[pos]
            mask[pos + 1 : filled] = b"\1" * (filled - pos - 1)


def folders_above(own: bytearray, codes: bytes, order: Spans) -> bytearray:
    """``own`` (a 0/1 mask) plus every folder present (nonzero code) that holds a node of ``own``."""
    shown = bytearray(own)
    if _folders_above is not None:  # ~1 ms at 10^6 nodes, where the loop below takes ~14 ms
        _folders_above(shown, order.parent, codes)
        return shown
    end = order.end
    for pos in order.folders:
        if not own[pos] and codes[pos] and own.find(1, pos + 1, end[pos]) >= 0:
            shown[pos] = 1
    return shown
