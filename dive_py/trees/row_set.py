"""Provides ``RowSet``, the visible rows of one view state, and ``TreeRow``, one row materialised.

A visible row's tree glyphs are worked out when it is drawn, by bisecting the sorted list of
visible positions, so building the rows never loops over them in Python.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dive_py.model import FileEntry
from dive_py.trees.order import NodePositions, Order
from dive_py.trees.tree import Node
from dive_py.trees.view_state import DiffType


class RowSource(Protocol):
    """What a row set asks of the tree model (:class:`dive_py.trees.rows.RowModel`, which builds row sets)."""

    pos_of: NodePositions

    def codes(self, layer: int, aggregated: bool = False) -> bytes:
        """Each node's change code at ``layer``, by position."""

    def sizes(self, layer: int) -> Sequence[int]:
        """Each node's size at ``layer``, by position."""


@dataclass
class TreeRow:
    """One visible row, materialised (tests, text rendering and small trees)."""

    depth: int
    node: Node
    entry: FileEntry | None
    diff_type: DiffType
    is_last: tuple[bool, ...]
    """For each level from the top down to this row: whether that ancestor (or the row) is the last
    visible child of its parent; draws the tree glyphs."""
    size: int
    """Bytes: the file's size, or the sum of the regular files below a folder."""


class RowSet:
    """The visible rows of one state: positions in an :class:`Order`, plus what drawing a row needs."""

    def __init__(
        self,
        model: RowSource,
        order: Order,
        positions: list[int] | array[int],
        layer: int,
        aggregated: bool,
        kept_sizes: Sequence[int] | None = None,
    ) -> None:
        self.model = model
        self.kept_sizes = kept_sizes
        """When a filter or a hidden diff type narrowed the view: bytes per node (name order) counting only
        the files kept, so folder sizes follow what is shown; else None (every file counts)."""
        self.order = order
        self.positions = positions
        self.layer = layer
        self.aggregated = aggregated
        self.codes = model.codes(layer, aggregated)

    def __len__(self) -> int:
        return len(self.positions)

    def _base(self, pos: int) -> int:
        return self.order.base[pos] if self.order.base is not None else pos

    def node(self, row: int) -> Node:
        """The node shown on ``row``."""
        return self.order.nodes[self.positions[row]]

    def diff_type(self, row: int) -> DiffType:
        """The change shown on ``row``."""
        return DiffType(self.codes[self._base(self.positions[row])])

    def depth(self, row: int) -> int:
        """The depth of ``row`` in the tree."""
        return self.order.depth[self.positions[row]]

    def row_of(self, node: Node) -> int | None:
        """The row showing ``node``, or None when it is not visible."""
        pos = self.model.pos_of.get(node)
        if pos is None:
            return None
        if self.order.inverse is not None:
            pos = self.order.inverse[pos]
        row = bisect_left(self.positions, pos)
        return row if row < len(self.positions) and self.positions[row] == pos else None

    def nearest_row(self, node: Node | None) -> int | None:
        """The row showing ``node``, else its nearest visible ancestor's (where a cursor stays when its path
        leaves the view); None when neither is shown."""
        if node is None:
            return None
        row = self.row_of(node)
        parent = node.parent
        while row is None and parent is not None and parent.name:
            row = self.row_of(parent)
            parent = parent.parent
        return row

    def is_last(self, row: int) -> tuple[bool, ...]:
        """Whether the row and each of its ancestors is the last visible child of its parent (top first)."""
        order, positions = self.order, self.positions
        total = len(order)
        flags = []
        pos = positions[row]
        while pos >= 0:
            par = order.parent[pos]
            stop = order.end[par] if par >= 0 else total
            after = bisect_left(positions, order.end[pos])
            flags.append(not (after < len(positions) and positions[after] < stop))
            pos = par
        flags.reverse()
        return tuple(flags)

    def shown_layer(self, row: int) -> int:
        """The layer whose version the row shows: the selected one, or for a removed path the one below its removal."""
        node = self.node(row)
        if self.codes[self._base(self.positions[row])] != DiffType.REMOVED:
            return self.layer
        for at, entry in reversed(node.events):
            if at <= self.layer and entry is None:
                return at - 1
        return self.layer

    def entry(self, row: int) -> FileEntry | None:
        """The version of the row's path shown (the last one present, for a removed path)."""
        return self.node(row).state(self.shown_layer(row))

    def size(self, row: int) -> int:
        """The size shown on ``row``."""
        layer = self.shown_layer(row)
        if layer < 0:
            return 0
        pos = self._base(self.positions[row])
        if self.kept_sizes is not None and layer == self.layer:
            return self.kept_sizes[pos]
        return self.model.sizes(layer)[pos]

    def row(self, row: int) -> TreeRow:
        """Everything a view draws of ``row``."""
        return TreeRow(
            depth=self.depth(row),
            node=self.node(row),
            entry=self.entry(row),
            diff_type=self.diff_type(row),
            is_last=self.is_last(row),
            size=self.size(row),
        )
