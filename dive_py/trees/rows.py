"""Provides ``RowModel``: the file tree's per-layer columns and its visible rows for a view state (pure, no Textual).

The union tree is flattened once into a preorder (children by name; see :mod:`dive_py.trees.order`).
Every per-layer fact is a column over that preorder: presence and diff type as ``bytes`` (one byte
per node), folder sizes as ``array('q')``. Layer columns are derived from the layer below by
replaying only the nodes the layer touched, so switching layer costs the layer's changes, not the
tree. Filtering, hiding diff types and collapsing are byte-mask operations (``bytes.translate``,
``bytes.find``, slice assignment, ``itertools.compress``) that run at C speed; the only Python loops
left are per folder (ancestor closure) or per path (regex), never per visible row.

The row model's public names are importable from here as well as from their own modules.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from dive_py.model import REGULAR, FileEntry
from dive_py.trees.order import NodePositions, Order, name_order, size_order
from dive_py.trees.passes import add_up, folders_above, layer_changes, scatter, set_positions
from dive_py.trees.path_filter import PathFilter
from dive_py.trees.row_set import RowSet, TreeRow
from dive_py.trees.row_text import render_rows, tree_prefix
from dive_py.trees.tree import FileTree, Node
from dive_py.trees.view_state import ABSENT, DiffType, TreeViewState

__all__ = [
    "ABSENT",
    "SIZE_CACHE_LAYERS",
    "DiffType",
    "Order",
    "RowSet",
    "RowModel",
    "TreeRow",
    "TreeViewState",
    "render_rows",
    "tree_prefix",
    "visible_rows",
]

_TO_ADDED = bytes.maketrans(b"\x01", bytes([DiffType.ADDED]))
_TO_UNMODIFIED = bytes.maketrans(b"\x01", bytes([DiffType.UNMODIFIED]))
_CHANGED = bytes(1 if c in (DiffType.ADDED, DiffType.REMOVED, DiffType.MODIFIED) else 0 for c in range(256))
"""Translate table: diff code -> 1 when the node itself changed (for the folder rollup)."""
_TOP_LEVEL = bytes([1] + [0] * 255)
"""Translate table: clamped depth -> 1 for the root's children."""
SIZE_CACHE_LAYERS = 4
"""Layers whose folder-size column is kept (8 bytes a node each); others are recomputed (~6 ms at 10^6 nodes with
the C loop, ~0.1 s without)."""


def _and(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Bytewise AND of two 0/1 masks of equal length, at C speed."""
    if not a:
        return bytearray()
    return bytearray((int.from_bytes(a, "big") & int.from_bytes(b, "big")).to_bytes(len(a), "big"))


class ChangedNodes:
    """The nodes one layer wrote or deleted, as columns: a tuple each would cost ~90 bytes, ~0.1 GB at 10^6."""

    __slots__ = ("positions", "entries", "below", "firsts")

    def __init__(self) -> None:
        self.positions = array("i")
        """Name-order positions."""
        self.entries: list[FileEntry | None] = []
        """The version the layer wrote (None: deleted)."""
        self.below: list[FileEntry | None] = []
        """The version below it."""
        self.firsts: list[FileEntry | None] = []
        """The version in layer 0."""

    @classmethod
    def of(
        cls,
        positions: array[int],
        entries: list[FileEntry | None],
        below: list[FileEntry | None],
        firsts: list[FileEntry | None],
    ) -> ChangedNodes:
        changed = cls()
        changed.positions, changed.entries, changed.below, changed.firsts = positions, entries, below, firsts
        return changed

    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[tuple[int, FileEntry | None, FileEntry | None, FileEntry | None]]:
        """(position, version, version below, version in layer 0) per node."""
        return zip(self.positions, self.entries, self.below, self.firsts, strict=True)


class RowModel:
    """Per-layer columns over the union tree and the visible rows for a :class:`TreeViewState`.

    Args:
        tree: the analysed union tree.
        layer_count: number of layers in the image.
    """

    def __init__(self, tree: FileTree, layer_count: int) -> None:
        self.tree = tree
        self.layer_count = max(layer_count, 1)
        self.order = name_order(tree)
        self.pos_of = NodePositions(self.order)
        changes = layer_changes(self.order.nodes, self.layer_count)
        self.changes: list[ChangedNodes] = [ChangedNodes.of(*layer) for layer in changes]
        """Per layer: the nodes it wrote or deleted."""
        self._presence: dict[int, bytearray] = {}
        self._own: dict[tuple[int, bool], bytearray] = {}
        self._codes: dict[tuple[int, bool], bytes] = {}
        self._file_sizes: dict[int, array[int]] = {}
        self._sizes: dict[int, array[int]] = {}
        self._size_orders: dict[int, Order] = {}
        self.path_filter = PathFilter(self.order)
        self._kept_sizes_cache: tuple[tuple[Any, ...], array[int]] | None = None

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
            changes = self.changes[layer]
            removed, added, same, modified = DiffType.REMOVED, DiffType.ADDED, DiffType.UNMODIFIED, DiffType.MODIFIED
            values = [
                removed if entry is None else added if first is None else same if entry.same_as(first) else modified
                for entry, first in zip(changes.entries, changes.firsts, strict=True)
            ]
            scatter(codes, changes.positions, bytes(values))  # the first toggle on a top layer replays every layer
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

    def first_change(self, layer: int) -> Node | None:
        """The first path (name order) that ``layer`` itself added, modified or removed; None if it changed nothing."""
        pos = self._own_codes(layer, False).translate(_CHANGED).find(1)
        return self.order.nodes[pos] if pos >= 0 else None

    def changed_by(self, node: Node, layer: int) -> bool:
        """Whether ``layer`` itself added, modified or removed ``node`` (compared with the layer below)."""
        pos = self.pos_of.get(node)
        return pos is not None and bool(_CHANGED[self._own_codes(layer, False)[pos]])

    def file_sizes(self, layer: int) -> array[int]:
        """Size of each regular file present at ``layer`` (0 for anything else), name order."""
        cached = self._file_sizes.get(layer)
        if cached is not None:
            return cached
        start = max((at for at in self._file_sizes if at < layer), default=-1)
        # A slice copies the buffer; array("q", other) would convert every item (~20 ms at 10^6 nodes).
        column = self._file_sizes[start][:] if start >= 0 else array("q", bytes(8 * len(self.order)))
        for at in range(start + 1, layer + 1):
            for pos, entry, _prev, _first in self.changes[at]:
                column[pos] = entry.size if entry is not None and entry.kind == REGULAR else 0
        self._file_sizes[layer] = column
        return column

    def sizes(self, layer: int) -> array[int]:
        """Bytes per node at ``layer``: a file's size, a folder's sum of regular files below it."""
        cached = self._sizes.get(layer)
        if cached is not None:
            return cached
        column = add_up(self.file_sizes(layer), self.order)
        if len(self._sizes) >= SIZE_CACHE_LAYERS:
            del self._sizes[next(iter(self._sizes))]  # oldest first: 8 bytes per node per layer adds up
        self._sizes[layer] = column
        return column

    def size_order(self, layer: int) -> Order:
        """The preorder with children sorted by size at ``layer``, largest first (ties by name)."""
        cached = self._size_orders.get(layer)
        if cached is not None:
            return cached
        order = size_order(self.order, self.sizes(layer))
        self._size_orders[layer] = order
        return order

    # -- filters ------------------------------------------------------------
    def paths(self) -> list[str]:
        """Absolute path of every node, name order (what the filter regex searches)."""
        return self.path_filter.paths()

    def prepare_filter(self) -> None:
        """Builds what the filter searches now (it is opening), not at the first keystroke."""
        self.path_filter.prepare()

    def match_mask(self, pattern: str) -> bytearray:
        """1 for each node whose absolute path contains a match of ``pattern`` (cached: not to be written to).

        Raises:
            re.error: the pattern is not a valid regular expression.
        """
        return self.path_filter.mask(pattern)

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
        own, narrowed = self._kept(codes, layer, state)
        # A narrowed view keeps the folders leading to what it kept, else those rows would float free.
        shown = folders_above(own, codes, self.order) if narrowed else own
        order = self.size_order(layer) if state.sort_by_size else self.order
        if order.base is not None:
            shown = bytearray(map(shown.__getitem__, order.base))
        self._apply_collapse(order, shown, state)
        positions = set_positions(shown)
        kept_sizes = self._kept_sizes(layer, own, state) if narrowed else None
        return RowSet(self, order, positions, layer, state.aggregated, kept_sizes)

    def _kept_sizes(self, layer: int, own: bytearray, state: TreeViewState) -> array[int]:
        """Bytes per node counting only the files a narrowed view keeps (dive's folder sizes follow the filter).

        The last one is kept (collapsing re-asks it).
        """
        key = (layer, state.aggregated, state.filter, frozenset(state.hidden), state.only_changes, state.min_size)
        if self._kept_sizes_cache is not None and self._kept_sizes_cache[0] == key:
            return self._kept_sizes_cache[1]
        kept = add_up(self.file_sizes(layer), self.order, own)
        self._kept_sizes_cache = (key, kept)
        return kept

    def _kept(self, codes: bytes, layer: int, state: TreeViewState) -> tuple[bytearray, bool]:
        """1 for each node shown for itself (diff type not hidden, filters passed); and whether anything narrowed it."""
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
        return own, narrowed

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


def visible_rows(tree: FileTree, state: TreeViewState, layer_count: int | None = None) -> list[TreeRow]:
    """Every visible row for ``state``, materialised (small trees and tests; the UI uses :class:`RowModel`)."""
    model = RowModel(tree, layer_count if layer_count is not None else tree.layer_count)
    rows = model.visible(state)
    return [rows.row(i) for i in range(len(rows))]
