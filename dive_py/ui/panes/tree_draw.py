"""Provides the drawing of one file tree row as a Strip: attributes, glyphs, name, note, wrapped lines."""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from dive_py.format import size as dive_size
from dive_py.model import FileEntry
from dive_py.safe_text import visible
from dive_py.trees.row_set import RowSet
from dive_py.trees.row_text import DIFF_MARKS, UNICODE_GLYPHS, Glyphs, tree_prefix
from dive_py.trees.tree import Node
from dive_py.trees.view_state import DiffType
from dive_py.ui.panes.tree_layout import Notes, RowLines, lead_width
from dive_py.ui.text import mode_text

CLASS_OF = {
    DiffType.ADDED: "filetree--added",
    DiffType.REMOVED: "filetree--removed",
    DiffType.MODIFIED: "filetree--modified",
    DiffType.UNMODIFIED: "filetree--unmodified",
}
"""The component class colouring a name, by diff type."""


class RowLook:
    """How rows are drawn, beyond the view state: attributes, change markers, glyphs, which folders are closed."""

    def __init__(
        self,
        show_attributes: bool = True,
        markers: bool = False,
        glyphs: Glyphs = UNICODE_GLYPHS,
        is_collapsed: Callable[[Node], bool] | None = None,
    ) -> None:
        self.show_attributes = show_attributes
        self.markers = markers
        """A ``+``/``~``/``-`` before each changed row, for monochrome terminals and colour-blind users."""
        self.glyphs = glyphs
        self.is_collapsed = is_collapsed or (lambda _node: False)
        self.compact = False
        """Narrow pane: the attributes leave out uid:gid and shorten the size column, so names keep room."""

    @property
    def lead(self) -> int:
        return lead_width(self.show_attributes, self.markers, self.compact)


def draw_row(
    rows: RowSet,
    row: int,
    *,
    style: Callable[[str], Style],
    cursor: Style | None,
    notes: Notes,
    look: RowLook,
    lines: RowLines,
    scroll_x: int,
    width: int,
    part: int = 0,
) -> Strip:
    """Draws ``row`` (its line ``part`` when it wraps) ``width`` cells wide, scrolled ``scroll_x`` cells sideways.

    Args:
        style: the widget style plus a component class (``"base"`` for the widget style alone).
        cursor: the cursor's style laid over the row, or None when the cursor is elsewhere.
    """
    base = style("base")
    if row >= len(rows):
        return Strip.blank(width, base)
    node = rows.node(row)
    note = notes.get(node)
    entry = rows.entry(row)
    diff = rows.diff_type(row)
    attrs_text = _attributes_text(rows, row, entry, compact=look.compact) if look.show_attributes else ""
    if look.markers:
        attrs_text = DIFF_MARKS[diff] + " " + attrs_text
    is_last = rows.is_last(row)
    glyphs = tree_prefix(is_last, bool(node.children) and look.is_collapsed(node), look.glyphs)
    name_style = style(note[1] if note is not None and note[1] else CLASS_OF[diff])
    segments = [Segment(_name_text(node, entry, look.glyphs), name_style)]
    if note is not None:
        segments.append(Segment(" " + visible(note[0]), style("filetree--note")))
    attrs_style = style("filetree--attributes")
    fill = base
    if cursor is not None:
        # every segment above has a style (Segment's is optional: None would be the cursor alone)
        segments = [
            Segment(text, seg_style + cursor if seg_style is not None else cursor) for text, seg_style, _ in segments
        ]
        attrs_style, base = attrs_style + cursor, base + cursor
        fill = style("filetree--cursor")
    lead_cells = len(attrs_text) + len(glyphs)
    if lines.starts is not None and (part or lead_cells + Strip(segments).cell_length > lines.wrap_width):
        indent = lines.indent(rows.depth(row), look.lead)
        if part:
            attrs_text = " " * len(attrs_text)
            glyphs = "".join(look.glyphs.blank if last else look.glyphs.through for last in is_last)
        lead = _wrapped_lead(attrs_text, glyphs, indent, attrs_style, base)
        chunk = lines.wrap_width - indent
        piece = Strip(segments).crop(part * chunk, (part + 1) * chunk)
        return Strip.join([Strip(lead), piece]).extend_cell_length(width, fill)
    lead = [Segment(attrs_text, attrs_style), Segment(glyphs, base)] if attrs_text else [Segment(glyphs, base)]
    return Strip(lead + segments).crop_extend(scroll_x, scroll_x + width, fill)


def header_text(look: RowLook) -> str:
    """dive's column header over the tree, aligned with the rows' columns."""
    marker = "  " if look.markers else ""
    if not look.show_attributes:
        attrs = ""
    elif look.compact:
        attrs = f"{'Permission':<10} {'Size':>{COMPACT_SIZE}}  "
    else:
        attrs = f"{'Permission':<10} {'UID:GID':>11} {'Size':>10}  "
    return f"{marker}{attrs}Filetree"


COMPACT_SIZE = 7
"""Cells of the compact size column: dive's sizes are at most ``1000 kB`` wide (999.5 kB rounds up)."""


def _attributes_text(rows: RowSet, row: int, entry: FileEntry | None, *, compact: bool = False) -> str:
    """dive's permission, uid:gid and size columns (blank owner and size for a path with no version).

    ``compact`` leaves out uid:gid (dive, too, drops attributes before names when the pane is narrow).
    """
    size = "" if entry is None else dive_size(rows.size(row))
    if compact:
        return f"{mode_text(entry)} {size:>{COMPACT_SIZE}}  "
    owner = f"{entry.uid}:{entry.gid}" if entry is not None else ""
    return f"{mode_text(entry)} {owner:>11} {size:>10}  "


def _name_text(node: Node, entry: FileEntry | None, glyphs: Glyphs) -> str:
    """The name (and link target) as drawn: control and bidi characters as escapes, never raw."""
    if entry is not None and entry.link and entry.kind in ("l", "h"):
        return f"{visible(node.name)}{glyphs.arrow}{visible(entry.link)}"
    return visible(node.name)


def _wrapped_lead(attrs_text: str, glyphs: str, indent: int, attrs_style: Style, base: Style) -> list[Segment]:
    """A wrapped row's lead, cut to its indent: attributes (or blanks) then the glyphs nearest the name.

    Deep rows in a narrow pane lose their outer glyphs, so every line keeps room for the name.
    """
    keep = max(indent - len(attrs_text), 0)
    return [Segment(attrs_text[:indent], attrs_style), Segment(glyphs[len(glyphs) - keep :], base)]
