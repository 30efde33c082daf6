"""Provides the file tree's line layout: which screen lines each visible row takes when long rows wrap.

Pure arithmetic over the row model (no Textual), so the view only asks it where a row starts.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import accumulate

from rich.cells import cell_len

from dive_py.safe_text import visible
from dive_py.trees.row_set import RowSet
from dive_py.trees.rows import RowModel
from dive_py.trees.tree import Node

ATTRIBUTES_WIDTH = 35
"""Cells of the permission, uid:gid and size columns (dive's layout: ``65534:65534`` fits the owner column)."""
COMPACT_ATTRIBUTES_WIDTH = 20
"""Cells of the compact columns a narrow pane shows: permissions and size, no uid:gid (``1000 kB`` fits)."""
MARKER_WIDTH = 2
"""Cells of the change marker (``+ ``, ``~ ``, ``- ``) drawn before the attributes when markers are on."""
MIN_WRAP = 12
"""Fewest cells of a name a wrapped continuation line holds (deep rows in a narrow pane indent less)."""

Notes = dict[Node, tuple[str, str | None]]
"""Per node: a suffix drawn after the name and a component class for the name (None keeps its diff colour)."""


def lead_width(show_attributes: bool, markers: bool, compact: bool = False) -> int:
    """Cells before a row's tree glyphs: the change marker and the attribute columns (full or compact), when shown."""
    attributes = (COMPACT_ATTRIBUTES_WIDTH if compact else ATTRIBUTES_WIDTH) if show_attributes else 0
    return attributes + (MARKER_WIDTH if markers else 0)


class RowLines:
    """Where each visible row starts on screen: one line a row, unless wrapping made some taller.

    Args:
        model: the row model (its name order sizes the names).
        notes: the suffixes drawn after some names (they widen those rows).
    """

    def __init__(self, model: RowModel, notes: Notes) -> None:
        self.model = model
        self.notes = notes
        self.starts: list[int] | None = None
        """When wrapping made some rows taller: the first line of each row (and the line count last)."""
        self.wrap_width = 0
        """Cells a wrapped row fills (the pane less its vertical scrollbar), as of the last wrapping layout."""
        self._widths: array | None = None
        self.max_name_width = _max_name_width(model, notes)
        """Cells of the widest glyphs, name and note (sizes the sideways scroll when not wrapping)."""

    def line_count(self, row_count: int) -> int:
        return self.starts[-1] if self.starts is not None else row_count

    def line_of(self, row: int) -> int:
        """First screen line (in the scrolled content) of ``row``."""
        return self.starts[row] if self.starts is not None else row

    def row_height(self, row: int) -> int:
        starts = self.starts
        return starts[row + 1] - starts[row] if starts is not None and row + 1 < len(starts) else 1

    def row_at(self, line: int, row_count: int) -> tuple[int, int]:
        """The row drawn on content line ``line`` and which of its lines it is (0 for the first)."""
        starts = self.starts
        if starts is None:
            return line, 0
        if line >= starts[-1]:
            return row_count + line - starts[-1], 0
        row = bisect_right(starts, line) - 1
        return row, line - starts[row]

    def indent(self, depth: int, lead: int) -> int:
        """Cells before a continuation line's text: the ``lead`` (marker, attributes) and the row's tree glyphs."""
        return max(min(lead + 4 * (depth + 1), self.wrap_width - MIN_WRAP), 0)

    def layout(self, rows: RowSet, width: int, wrap: bool, lead: int) -> None:
        """Works out which rows wrap at ``width`` (only rows wider than the pane take more lines)."""
        self.starts = None
        if not wrap or not len(rows) or width <= MIN_WRAP:
            return
        self.wrap_width = width
        widths = self.node_widths()
        order = rows.order
        positions = rows.positions if order.base is None else map(order.base.__getitem__, rows.positions)
        limit = width - lead
        long_rows = [row for row, cells in enumerate(map(widths.__getitem__, positions)) if cells > limit]
        if not long_rows:
            return
        heights = [1] * len(rows)
        for row in long_rows:
            pos = rows.positions[row]
            depth = rows.depth(row)
            name_cells = widths[pos if order.base is None else order.base[pos]] - 4 * (depth + 1)
            heights[row] = max(-(-name_cells // (width - self.indent(depth, lead))), 1)
        self.starts = list(accumulate(heights, initial=0))

    def node_widths(self) -> array:
        """Cells of each node's glyphs, name, longest link target and note (name order); built once, on demand."""
        if self._widths is None:
            order, notes = self.model.order, self.notes
            widths = array("I")
            for node, depth in zip(order.nodes, order.depth, strict=True):
                name = node.name
                # As drawn (escapes are wider); the test inline, as ~10^6 names pass here.
                width = 4 * (depth + 1) + cell_len(name if name.isprintable() else visible(name))
                links = [e.link for _, e in node.events if e is not None and e.link and e.kind in ("l", "h")]
                if links:
                    width += 3 + max(cell_len(visible(link)) for link in links)
                note = notes.get(node)
                if note is not None:
                    width += 1 + cell_len(visible(note[0]))
                widths.append(width)
            self._widths = widths
        return self._widths


def _max_name_width(model: RowModel, notes: Notes) -> int:
    # In characters, not cells, and without link targets: it runs over every node when the view is built,
    # and the view adds slack to the scroll width (unlike ``node_widths``, built only when wrapping).
    order = model.order
    widest = max(
        (4 * (depth + 1) + len(node.name) for node, depth in zip(order.nodes, order.depth, strict=True)),
        default=0,
    )
    for node, (note, _cls) in notes.items():
        pos = model.pos_of.get(node)
        if pos is not None:
            widest = max(widest, 4 * (order.depth[pos] + 1) + len(node.name) + 1 + len(note))
    return widest
