"""Provides the file tree's visible rows: diff types per layer, filters, collapse and sort (pure, no Textual).

The union tree is flattened once into a preorder (children by name). Every per-layer fact is a
column over that preorder: presence and diff type as ``bytes`` (one byte per node), folder sizes
as ``array('q')``. Layer columns are derived from the layer below by replaying only the nodes the
layer touched, so switching layer costs the layer's changes, not the tree. Filtering, hiding diff
types and collapsing are byte-mask operations (``bytes.translate``, ``bytes.find``, slice
assignment, ``itertools.compress``) that run at C speed; the only Python loops left are per folder
(ancestor closure) or per path (regex), never per visible row. A visible row's tree glyphs are
worked out when it is drawn, by bisecting the sorted list of visible positions.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import compress

from dive_py.model import REGULAR, FileEntry
from dive_py.trees.tree import FileTree, Node


class DiffType(IntEnum):
    """How a path at the selected layer compares with the layer(s) it is compared against."""

    ADDED = 1
    REMOVED = 2
    MODIFIED = 3
    UNMODIFIED = 4


ABSENT = 0
"""Code of a node that is not shown at a layer (never existed, or gone before the compared range)."""

_TO_ADDED = bytes.maketrans(b"\x01", bytes([DiffType.ADDED]))
_TO_UNMODIFIED = bytes.maketrans(b"\x01", bytes([DiffType.UNMODIFIED]))
_CHANGED = bytes(1 if c in (DiffType.ADDED, DiffType.REMOVED, DiffType.MODIFIED) else 0 for c in range(256))
"""Translate table: diff code -> 1 when the node itself changed (for the folder rollup)."""
_TOP_LEVEL = bytes([1] + [0] * 255)
"""Translate table: clamped depth -> 1 for the root's children."""
SIZE_CACHE_LAYERS = 16
"""Layers whose folder-size column is kept; others are recomputed (about 15 ms per 100k nodes)."""
_DIFF_LETTERS = {
    ABSENT: "?",
    DiffType.ADDED: "A",
    DiffType.REMOVED: "R",
    DiffType.MODIFIED: "M",
    DiffType.UNMODIFIED: ".",
}


@dataclass
class TreeViewState:
    """What the user chose to see; kept off the domain nodes."""

    layer: int = 0
    aggregated: bool = False
    """Compare with the first layer (aggregated changes) instead of with the layer below."""
    collapse_all: bool = False
    """Default collapse state of every folder; ``toggled`` holds the exceptions."""
    toggled: set[str] = field(default_factory=set)
    """Folder paths (no leading slash) whose collapse state differs from ``collapse_all``."""
    hidden: set[DiffType] = field(default_factory=set)
    filter: str = ""
    """Regular expression searched in each full path (``/etc/passwd``); empty for none."""
    sort_by_size: bool = False
    min_size: int = 0
    """Show only regular files of at least this many bytes (and the folders holding them); 0 for all."""
    only_changes: bool = False
    """Hide unmodified paths (folders holding changes stay, marked modified)."""

    def is_collapsed(self, path: str) -> bool:
        return (path in self.toggled) != self.collapse_all

    def set_collapsed(self, path: str, collapsed: bool) -> None:
        if collapsed == self.collapse_all:
            self.toggled.discard(path)
        else:
            self.toggled.add(path)

    def filter_error(self) -> str | None:
        """The reason the filter is not a valid regular expression, or None."""
        try:
            re.compile(self.filter)
        except re.error as exc:
            return str(exc)
        return None


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


class Order:
    """The union tree flattened in preorder, in one sort order.

    Positions of a subtree are contiguous: node ``p`` owns ``p + 1 .. end[p] - 1``.
    """

    __slots__ = ("nodes", "parent", "end", "depth", "depth_bytes", "folders", "base", "inverse")

    def __init__(
        self,
        nodes: list[Node],
        parent: array,
        end: array,
        depth: array,
        base: list[int] | None = None,
        inverse: list[int] | None = None,
    ) -> None:
        self.nodes = nodes
        self.parent = parent
        """Position of each node's parent; -1 for the root's children."""
        self.end = end
        self.depth = depth
        self.depth_bytes = bytes(depth.tolist()) if max(depth, default=0) < 256 else bytes(min(d, 255) for d in depth)
        self.folders = [p for p in range(len(nodes)) if end[p] > p + 1]
        """Positions of nodes that have children (in any layer)."""
        self.base = base
        """Position in the name order of each position here (None: this is the name order)."""
        self.inverse = inverse
        """Position here of each name-order position (None: this is the name order)."""

    def __len__(self) -> int:
        return len(self.nodes)

    def children(self, pos: int) -> Iterator[int]:
        end = self.end
        child, stop = pos + 1, end[pos]
        while child < stop:
            yield child
            child = end[child]


def _name_order(tree: FileTree) -> Order:
    nodes: list[Node] = []
    parent = array("i")
    depth = array("H")
    stack: list[tuple[Node, int, int]] = [(child, -1, 0) for child in reversed(tree.root.sorted_children())]
    while stack:
        node, par, d = stack.pop()
        pos = len(nodes)
        nodes.append(node)
        parent.append(par)
        depth.append(d)
        children = node.children
        if children:
            stack.extend((children[name], pos, d + 1) for name in sorted(children, reverse=True))
    count = len(nodes)
    sub = [1] * count
    for pos in range(count - 1, -1, -1):
        par = parent[pos]
        if par >= 0:
            sub[par] += sub[pos]
    end = array("i", [pos + sub[pos] for pos in range(count)])
    return Order(nodes, parent, end, depth)


def _and(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Bytewise AND of two 0/1 masks of equal length, at C speed."""
    if not a:
        return bytearray()
    return bytearray((int.from_bytes(a, "big") & int.from_bytes(b, "big")).to_bytes(len(a), "big"))


Change = tuple[int, "FileEntry | None", "FileEntry | None", "FileEntry | None"]
"""(name-order position, version written by the layer, version below it, version in layer 0)."""


class TreeModel:
    """Per-layer columns over the union tree and the visible rows for a :class:`TreeViewState`.

    Args:
        tree: the analysed union tree.
        layer_count: number of layers in the image.
    """

    def __init__(self, tree: FileTree, layer_count: int) -> None:
        self.tree = tree
        self.layer_count = max(layer_count, 1)
        self.order = _name_order(tree)
        self.pos_of: dict[Node, int] = {node: pos for pos, node in enumerate(self.order.nodes)}
        self.changes: list[list[Change]] = [[] for _ in range(self.layer_count)]
        """Per layer: the nodes it wrote or deleted."""
        changes = self.changes
        for pos, node in enumerate(self.order.nodes):
            prev = None
            flat = node.flat
            first = flat[1] if flat and flat[0] == 0 else None
            for i in range(0, len(flat), 2):
                layer, entry = flat[i], flat[i + 1]
                if layer < self.layer_count:
                    changes[layer].append((pos, entry, prev, first))
                prev = entry
        self._presence: dict[int, bytearray] = {}
        self._own: dict[tuple[int, bool], bytearray] = {}
        self._codes: dict[tuple[int, bool], bytes] = {}
        self._file_sizes: dict[int, array] = {}
        self._sizes: dict[int, array] = {}
        self._size_orders: dict[int, Order] = {}
        self._matches: dict[str, bytearray] = {}
        self._paths: list[str] | None = None

    # -- per-layer columns (name order) --------------------------------------
    def presence(self, layer: int) -> bytearray:
        """1 for each node present in the stack of layers 0..layer."""
        cached = self._presence.get(layer)
        if cached is not None:
            return cached
        start = max((at for at in self._presence if at < layer), default=-1)
        column = bytearray(self._presence[start]) if start >= 0 else bytearray(len(self.order))
        for at in range(start + 1, layer + 1):
            for pos, entry, _prev, _first in self.changes[at]:
                column[pos] = entry is not None
            if at < layer:
                self._presence[at] = bytearray(column)
        self._presence[layer] = column
        return column

    def _own_codes(self, layer: int, aggregated: bool) -> bytearray:
        key = (layer, aggregated)
        cached = self._own.get(key)
        if cached is not None:
            return cached
        if aggregated and layer > 0:
            # Compared with the first layer: what it holds starts unmodified (at layer 0 itself, it is all added).
            below = self._own_codes(layer - 1, True) if layer > 1 else self.presence(0).translate(_TO_UNMODIFIED)
            codes = bytearray(below)
            for pos, entry, _prev, first in self.changes[layer]:
                if entry is None:
                    codes[pos] = DiffType.REMOVED
                elif first is None:
                    codes[pos] = DiffType.ADDED
                else:
                    codes[pos] = DiffType.UNMODIFIED if entry.same_as(first) else DiffType.MODIFIED
        elif layer == 0:
            codes = bytearray(self.presence(0).translate(_TO_ADDED))  # compared with nothing, in both modes
        else:
            codes = bytearray(self.presence(layer).translate(_TO_UNMODIFIED))
            for pos, entry, prev, _first in self.changes[layer]:
                if entry is None:
                    if prev is not None:
                        codes[pos] = DiffType.REMOVED
                elif prev is None:
                    codes[pos] = DiffType.ADDED
                elif not entry.same_as(prev):
                    codes[pos] = DiffType.MODIFIED
        self._own[key] = codes
        return codes

    def codes(self, layer: int, aggregated: bool = False) -> bytes:
        """Diff code of each node (name order) at ``layer``; folders holding changes rolled up to MODIFIED.

        Args:
            layer: the selected layer.
            aggregated: compare with the first layer instead of with the layer below.

        Returns:
            One byte per node: :data:`ABSENT` or a :class:`DiffType` value.
        """
        key = (layer, aggregated)
        cached = self._codes.get(key)
        if cached is not None:
            return cached
        own = self._own_codes(layer, aggregated)
        changed = own.translate(_CHANGED)
        rolled = bytearray(own)
        end = self.order.end
        unmodified = DiffType.UNMODIFIED
        for pos in self.order.folders:
            if own[pos] == unmodified and changed.find(1, pos + 1, end[pos]) >= 0:
                rolled[pos] = DiffType.MODIFIED
        result = bytes(rolled)
        self._codes[key] = result
        return result

    def file_sizes(self, layer: int) -> array:
        """Size of each regular file present at ``layer`` (0 for anything else), name order."""
        cached = self._file_sizes.get(layer)
        if cached is not None:
            return cached
        start = max((at for at in self._file_sizes if at < layer), default=-1)
        column = array("q", self._file_sizes[start]) if start >= 0 else array("q", bytes(8 * len(self.order)))
        for at in range(start + 1, layer + 1):
            for pos, entry, _prev, _first in self.changes[at]:
                column[pos] = entry.size if entry is not None and entry.kind == REGULAR else 0
        self._file_sizes[layer] = column
        return column

    def sizes(self, layer: int) -> array:
        """Bytes per node at ``layer``: a file's size, a folder's sum of regular files below it."""
        cached = self._sizes.get(layer)
        if cached is not None:
            return cached
        column = array("q", self.file_sizes(layer))
        parent = self.order.parent
        for pos in range(len(column) - 1, -1, -1):
            value = column[pos]
            if value:
                par = parent[pos]
                if par >= 0:
                    column[par] += value
        if len(self._sizes) >= SIZE_CACHE_LAYERS:
            del self._sizes[next(iter(self._sizes))]  # oldest first: 8 bytes per node per layer adds up
        self._sizes[layer] = column
        return column

    def size_order(self, layer: int) -> Order:
        """The preorder with children sorted by size at ``layer``, largest first (ties by name)."""
        cached = self._size_orders.get(layer)
        if cached is not None:
            return cached
        base = self.order
        sizes = self.sizes(layer)
        perm: list[int] = []
        stack = sorted(_top_positions(base), key=lambda p: -sizes[p])[::-1]
        while stack:
            pos = stack.pop()
            perm.append(pos)
            if base.end[pos] > pos + 1:
                kids = sorted(base.children(pos), key=lambda p: -sizes[p])
                kids.reverse()
                stack.extend(kids)
        inverse = [0] * len(perm)
        for new, old in enumerate(perm):
            inverse[old] = new
        base_parent, base_end = base.parent, base.end
        parent = array("i", [inverse[base_parent[old]] if base_parent[old] >= 0 else -1 for old in perm])
        end = array("i", [new + base_end[old] - old for new, old in enumerate(perm)])
        depth = array("H", [base.depth[old] for old in perm])
        order = Order([base.nodes[old] for old in perm], parent, end, depth, perm, inverse)
        self._size_orders[layer] = order
        return order

    # -- filters ------------------------------------------------------------
    def paths(self) -> list[str]:
        """Absolute path of every node, name order (what the filter regex searches)."""
        if self._paths is None:
            self._paths = ["/" + node.path for node in self.order.nodes]
        return self._paths

    def match_mask(self, pattern: str) -> bytearray:
        """1 for each node whose absolute path contains a match of ``pattern``.

        Raises:
            re.error: the pattern is not a valid regular expression.
        """
        cached = self._matches.get(pattern)
        if cached is not None:
            return cached
        paths = self.paths()
        narrower = self._narrowing_source(pattern)
        if re.escape(pattern) == pattern:
            if narrower is not None:
                mask = bytearray(len(paths))
                for pos in compress(range(len(paths)), narrower):
                    if pattern in paths[pos]:
                        mask[pos] = 1
            else:
                mask = bytearray(pattern in path for path in paths)
        else:
            search = re.compile(pattern).search
            mask = bytearray(search(path) is not None for path in paths)
        if len(self._matches) > 32:
            self._matches.clear()
        self._matches[pattern] = mask
        return mask

    def _narrowing_source(self, pattern: str) -> bytearray | None:
        """The mask of a cached plain pattern that ``pattern`` contains: only its matches can match."""
        best = None
        for previous, mask in self._matches.items():
            if previous and previous in pattern and re.escape(previous) == previous:
                if best is None or len(previous) > len(best[0]):
                    best = (previous, mask)
        return best[1] if best else None

    def big_file_mask(self, layer: int, min_size: int) -> bytearray:
        """1 for each regular file of at least ``min_size`` bytes at ``layer``."""
        return bytearray(size >= min_size for size in self.file_sizes(layer))

    # -- rows ---------------------------------------------------------------
    def visible(self, state: TreeViewState) -> RowSet:
        """The rows shown for ``state``: filtered, with collapsed folders' contents left out.

        Raises:
            re.error: the filter is not a valid regular expression (check with
                :meth:`TreeViewState.filter_error` first, or catch it).
        """
        layer = min(max(state.layer, 0), self.layer_count - 1)
        codes = self.codes(layer, state.aggregated)
        hidden = set(state.hidden)
        if state.only_changes:
            hidden.add(DiffType.UNMODIFIED)
        table = bytes(1 if code and code not in hidden else 0 for code in range(256))
        own = bytearray(codes.translate(table))
        narrowed = bool(hidden)
        if state.filter:
            own = _and(own, self.match_mask(state.filter))
            narrowed = True
        if state.min_size > 0:
            own = _and(own, self.big_file_mask(layer, state.min_size))
            narrowed = True
        base = self.order
        if narrowed:
            shown = bytearray(own)
            end = base.end
            for pos in base.folders:
                if not own[pos] and codes[pos] and own.find(1, pos + 1, end[pos]) >= 0:
                    shown[pos] = 1
        else:
            shown = own
        order = self.size_order(layer) if state.sort_by_size else base
        if order.base is not None:
            shown = bytearray(map(shown.__getitem__, order.base))
        self._apply_collapse(order, shown, state)
        positions = list(compress(range(len(order)), shown))
        return RowSet(self, order, positions, layer, state.aggregated)

    def _apply_collapse(self, order: Order, shown: bytearray, state: TreeViewState) -> None:
        end = order.end
        folders = []
        for path in state.toggled:
            node = self.tree.get(path)
            pos = self.pos_of.get(node) if node is not None else None
            if pos is not None:
                folders.append(order.inverse[pos] if order.inverse is not None else pos)
        if not state.collapse_all:
            for pos in folders:
                if end[pos] > pos + 1:
                    shown[pos + 1 : end[pos]] = bytes(end[pos] - pos - 1)
            return
        opened = bytearray(order.depth_bytes.translate(_TOP_LEVEL))
        for pos in sorted(folders):  # ancestors first: a folder opens only under open folders
            if opened[pos]:
                for child in order.children(pos):
                    opened[child] = 1
        shown[:] = _and(shown, opened)


def _top_positions(order: Order) -> list[int]:
    positions = []
    pos, count = 0, len(order)
    while pos < count:
        positions.append(pos)
        pos = order.end[pos]
    return positions


class RowSet:
    """The visible rows of one state: positions in an :class:`Order`, plus what drawing a row needs."""

    def __init__(self, model: TreeModel, order: Order, positions: list[int], layer: int, aggregated: bool) -> None:
        self.model = model
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
        return self.order.nodes[self.positions[row]]

    def diff_type(self, row: int) -> DiffType:
        return DiffType(self.codes[self._base(self.positions[row])])

    def depth(self, row: int) -> int:
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
        layer = self.shown_layer(row)
        if layer < 0:
            return 0
        return self.model.sizes(layer)[self._base(self.positions[row])]

    def row(self, row: int) -> TreeRow:
        return TreeRow(
            depth=self.depth(row),
            node=self.node(row),
            entry=self.entry(row),
            diff_type=self.diff_type(row),
            is_last=self.is_last(row),
            size=self.size(row),
        )


def tree_prefix(is_last: tuple[bool, ...]) -> str:
    """dive's tree glyphs for a row, from its ``is_last`` flags."""
    parts = ["    " if last else "│   " for last in is_last[:-1]]
    parts.append("└── " if is_last[-1] else "├── ")
    return "".join(parts)


def visible_rows(tree: FileTree, state: TreeViewState, layer_count: int | None = None) -> list[TreeRow]:
    """Every visible row for ``state``, materialised (small trees and tests; the UI uses :class:`TreeModel`)."""
    model = TreeModel(tree, layer_count if layer_count is not None else tree.layer_count)
    rows = model.visible(state)
    return [rows.row(i) for i in range(len(rows))]


def render_rows(rows: list[TreeRow], *, sizes: bool = False) -> str:
    """Plain-text rendering, one row a line: diff letter, glyphs, name (``→ target`` for links)."""
    lines = []
    for row in rows:
        name = row.node.name
        if row.entry is not None and row.entry.link and row.entry.kind in ("l", "h"):
            name = f"{name} → {row.entry.link}"
        size = f" {row.size}" if sizes else ""
        lines.append(f"{_DIFF_LETTERS[row.diff_type]}{size} {tree_prefix(row.is_last)}{name}")
    return "\n".join(lines)
