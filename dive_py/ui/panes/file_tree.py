"""Provides the file tree pane: a line-API view over the visible rows, plus its filter/search input."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from itertools import accumulate

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from dive_py.format import size_text
from dive_py.trees.rows import DiffType, RowSet, TreeModel, TreeViewState, tree_prefix
from dive_py.trees.tree import Node
from dive_py.ui.text import mode_text

ATTRIBUTES_WIDTH = 32
"""Cells of the permission, uid:gid and size columns (dive's layout)."""
MIN_WRAP = 12
"""Fewest cells of a name a wrapped continuation line holds (deep rows in a narrow pane indent less)."""

_CLASS_OF = {
    DiffType.ADDED: "filetree--added",
    DiffType.REMOVED: "filetree--removed",
    DiffType.MODIFIED: "filetree--modified",
    DiffType.UNMODIFIED: "filetree--unmodified",
}


class FileTreeView(ScrollView, can_focus=True):
    """The stacked file system at the selected layer, one line per visible row."""

    COMPONENT_CLASSES = {
        "filetree--added",
        "filetree--removed",
        "filetree--modified",
        "filetree--unmodified",
        "filetree--cursor",
        "filetree--attributes",
        "filetree--moved",
        "filetree--note",
    }
    DEFAULT_CSS = """
    FileTreeView { background: $surface; }
    FileTreeView > .filetree--added { color: $success; }
    FileTreeView > .filetree--removed { color: $error; }
    FileTreeView > .filetree--modified { color: $warning; }
    FileTreeView > .filetree--unmodified { }
    FileTreeView > .filetree--attributes { color: $text-muted; }
    FileTreeView > .filetree--moved { color: $accent; }
    FileTreeView > .filetree--note { color: $text-muted; text-style: italic; }
    FileTreeView > .filetree--cursor { background: $primary 40%; }
    FileTreeView:focus > .filetree--cursor { background: $primary; color: $text; text-style: bold; }
    FileTreeView:ansi > .filetree--added { color: ansi_green; }
    FileTreeView:ansi > .filetree--removed { color: ansi_red; }
    FileTreeView:ansi > .filetree--modified { color: ansi_yellow; }
    FileTreeView:ansi > .filetree--moved { color: ansi_cyan; }
    """
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,u", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown,d", "page_down", "Page down", show=False, id="page-down"),
        Binding("home,g", "cursor_home", "Top", show=False),
        Binding("end,G", "cursor_end", "Bottom", show=False),
        Binding("left,h", "collapse_or_parent", "Parent", show=False),
        Binding("right,l", "expand_or_child", "Expand", show=False),
        Binding("space", "toggle_collapse", "Collapse", id="toggle-collapse-dir"),
        Binding("ctrl+space,ctrl+t", "toggle_collapse_all", "Collapse all", id="toggle-collapse-all-dir"),
        Binding("ctrl+a", "toggle_added", "Added", id="toggle-added-files"),
        Binding("ctrl+r", "toggle_removed", "Removed", id="toggle-removed-files"),
        Binding("ctrl+n", "toggle_modified", "Modified", id="toggle-modified-files"),
        Binding("ctrl+u", "toggle_unmodified", "Unmodified", id="toggle-unmodified-files"),
        Binding("ctrl+b", "toggle_attributes", "Attributes", id="toggle-filetree-attributes"),
        Binding("ctrl+o", "sort_by_size", "Sort: name", id="toggle-sort-order"),
        Binding("ctrl+o", "sort_by_name", "Sort: size", id="toggle-sort-order-size"),
        Binding("ctrl+p", "toggle_wrap", "Wrap", id="toggle-wrap-tree"),
        Binding("enter", "view_file", "View", id="view-file"),
        Binding("x", "extract", "Extract", id="extract-file"),
        Binding("s", "search", "Search", id="search"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("o", "toggle_only_changes", "Only changes", id="only-changes"),
        Binding("m", "size_filter", "Min size", id="size-filter"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Row of the cursor in the visible rows."""

    class CursorMoved(Message):
        """The cursor is on another path (or the rows changed under it)."""

        def __init__(self, node: Node | None) -> None:
            super().__init__()
            self.node = node

    class Requested(Message):
        """The user asked for something the pane or the app carries out (view, extract, search, size)."""

        def __init__(self, what: str, node: Node | None) -> None:
            super().__init__()
            self.what = what
            self.node = node

    def __init__(
        self,
        model: TreeModel,
        state: TreeViewState,
        *,
        show_attributes: bool = True,
        notes: dict[Node, tuple[str, str | None]] | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.state = state
        self.show_attributes = show_attributes
        """Draw the permission, uid:gid and size columns."""
        self.notes = notes or {}
        """Per node: a suffix drawn after the name (``← moved from /a``) and a component class for the
        name instead of its diff colour (None keeps it)."""
        self.wrap = False
        """Wrap long rows onto continuation lines instead of scrolling sideways."""
        self.rows: RowSet = model.visible(state)
        self._line_starts: list[int] | None = None
        """When wrapping made some rows taller: the first line of each row (and the line count last)."""
        self._wrap_width = 0
        self._widths: array | None = None
        self.filter_error: str | None = None
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._generation = 0
        self._max_name_width = max(
            (
                4 * (depth + 1) + len(node.name)
                for node, depth in zip(model.order.nodes, model.order.depth, strict=True)
            ),
            default=0,
        )
        for node, (note, _cls) in self.notes.items():
            pos = model.pos_of.get(node)
            if pos is not None:
                width = 4 * (model.order.depth[pos] + 1) + len(node.name) + 1 + len(note)
                self._max_name_width = max(self._max_name_width, width)
        self._update_virtual_size()

    # -- rows ---------------------------------------------------------------
    @property
    def cursor_node(self) -> Node | None:
        return self.rows.node(self.cursor) if len(self.rows) else None

    @property
    def cursor_path(self) -> str | None:
        """Absolute path under the cursor (``/etc/passwd``)."""
        node = self.cursor_node
        return "/" + node.path if node is not None else None

    def visible_paths(self) -> list[str]:
        """Absolute paths of every visible row (tests and small trees)."""
        return ["/" + self.rows.node(i).path for i in range(len(self.rows))]

    def rebuild(self, keep: Node | None = None) -> None:
        """Recomputes the visible rows after a state change, keeping the cursor on ``keep`` if visible."""
        keep = keep if keep is not None else self.cursor_node
        try:
            rows = self.model.visible(self.state)
            self.filter_error = None
        except re.error as exc:
            self.filter_error = str(exc)
            return
        old_row = self.cursor
        self.rows = rows
        row = rows.row_of(keep) if keep is not None else None
        if row is None:
            # The path left the view: stay on the nearest visible ancestor, else the same line.
            node = keep.parent if keep is not None else None
            while row is None and node is not None and node.name:
                row = rows.row_of(node)
                node = node.parent
        if row is None:
            row = min(old_row, max(len(rows) - 1, 0))
        self._generation += 1
        self._cache.clear()
        self._layout_lines()
        self._update_virtual_size()
        self.cursor = row
        self._scroll_to_cursor()
        self.refresh()

    # -- wrapped lines --------------------------------------------------------
    @property
    def line_count(self) -> int:
        return self._line_starts[-1] if self._line_starts is not None else len(self.rows)

    def line_of(self, row: int) -> int:
        """First screen line (in the scrolled content) of ``row``."""
        return self._line_starts[row] if self._line_starts is not None else row

    def row_height(self, row: int) -> int:
        starts = self._line_starts
        return starts[row + 1] - starts[row] if starts is not None and row + 1 < len(starts) else 1

    def row_at(self, line: int) -> tuple[int, int]:
        """The row drawn on content line ``line`` and which of its lines it is (0 for the first)."""
        starts = self._line_starts
        if starts is None:
            return line, 0
        if line >= starts[-1]:
            return len(self.rows) + line - starts[-1], 0
        row = bisect_right(starts, line) - 1
        return row, line - starts[row]

    def _node_widths(self) -> array:
        """Cells of each node's glyphs, name, longest link target and note (name order); built once, on demand."""
        if self._widths is None:
            order, notes = self.model.order, self.notes
            widths = array("I")
            for node, depth in zip(order.nodes, order.depth, strict=True):
                width = 4 * (depth + 1) + cell_len(node.name)
                links = [e.link for _, e in node.events if e is not None and e.link and e.kind in ("l", "h")]
                if links:
                    width += 3 + max(cell_len(link) for link in links)
                note = notes.get(node)
                if note is not None:
                    width += 1 + cell_len(note[0])
                widths.append(width)
            self._widths = widths
        return self._widths

    def _indent(self, row: int) -> int:
        """Cells before a continuation line's text: the attribute column and the row's tree glyphs."""
        attrs = ATTRIBUTES_WIDTH if self.show_attributes else 0
        return max(min(attrs + 4 * (self.rows.depth(row) + 1), self._wrap_width - MIN_WRAP), 0)

    def _layout_lines(self) -> None:
        """Works out which rows wrap at the current width (only rows wider than the pane take more lines)."""
        self._line_starts = None
        width = self.size.width - self.styles.scrollbar_size_vertical  # kept free whether or not it shows
        rows = self.rows
        if not self.wrap or not len(rows) or width <= MIN_WRAP:
            return
        self._wrap_width = width
        widths = self._node_widths()
        order = rows.order
        positions = rows.positions if order.base is None else map(order.base.__getitem__, rows.positions)
        limit = width - (ATTRIBUTES_WIDTH if self.show_attributes else 0)
        long_rows = [row for row, cells in enumerate(map(widths.__getitem__, positions)) if cells > limit]
        if not long_rows:
            return
        heights = [1] * len(rows)
        for row in long_rows:
            pos = rows.positions[row]
            name_cells = widths[pos if order.base is None else order.base[pos]] - 4 * (rows.depth(row) + 1)
            heights[row] = max(-(-name_cells // (width - self._indent(row))), 1)
        self._line_starts = list(accumulate(heights, initial=0))

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self._generation += 1
            self._cache.clear()
            self._layout_lines()
            self._update_virtual_size()
            self.refresh()

    def _update_virtual_size(self) -> None:
        width = self._max_name_width + 40 + (ATTRIBUTES_WIDTH if self.show_attributes else 0)
        if self.wrap:
            width = 0
        new, old = Size(width, self.line_count), self.virtual_size
        if new == old:
            return
        cw, ch = self.container_size
        if self.is_mounted and ch and (new.height > ch) == (old.height > ch) and (new.width > cw) == (old.width > cw):
            # Same scrollbars: update them in place. Assigning virtual_size relayouts (and repaints) the screen.
            self.set_reactive(Widget.virtual_size, new)
            self._scroll_update(new)
            self.refresh()
        else:
            self.virtual_size = new

    # -- drawing ------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row, part = self.row_at(scroll_y + y)
        width = self.scrollable_content_region.width
        key = (row, part, row == self.cursor, self.has_focus, scroll_x, width, self._generation, self.show_attributes)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(row, scroll_x, width, part)
            self._cache[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        """The widget style plus a component class (cached: computing styles dominates drawing a row)."""
        style = self._styles.get(name)
        if style is None:
            base = self.rich_style
            style = base if name == "base" else base + self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def _render_row(self, row: int, scroll_x: int, width: int, part: int = 0) -> Strip:
        base = self._style("base")
        if row >= len(self.rows):
            return Strip.blank(width, base)
        rows = self.rows
        node = rows.node(row)
        note = self.notes.get(node)
        style = self._style(note[1] if note is not None and note[1] else _CLASS_OF[rows.diff_type(row)])
        entry = rows.entry(row)
        attrs_text = ""
        if self.show_attributes:
            owner = f"{entry.uid}:{entry.gid}" if entry is not None else ""
            size = "" if entry is None else size_text(rows.size(row))
            attrs_text = f"{mode_text(entry)} {owner:>9} {size:>10}  "
        is_last = rows.is_last(row)
        glyphs = tree_prefix(is_last)
        name = node.name
        if entry is not None and entry.link and entry.kind in ("l", "h"):
            name = f"{name} → {entry.link}"
        segments = [Segment(name, style)]
        if note is not None:
            segments.append(Segment(" " + note[0], self._style("filetree--note")))
        attrs_style = self._style("filetree--attributes")
        fill = base
        if row == self.cursor:
            cursor = self.get_component_rich_style("filetree--cursor", partial=True)
            segments = [Segment(text, seg_style + cursor) for text, seg_style, _ in segments]
            attrs_style, base = attrs_style + cursor, base + cursor
            fill = self._style("filetree--cursor")
        wrap = self._wrap_width
        lead_cells = len(attrs_text) + len(glyphs)
        if self._line_starts is not None and (part or lead_cells + Strip(segments).cell_length > wrap):
            # Wrapped: every line is a lead (attributes and glyphs, or blanks and the glyphs going on down)
            # cut to the row's indent, then the next chunk of the name.
            indent = self._indent(row)
            if part:
                attrs_text = " " * len(attrs_text)
                glyphs = "".join("    " if last else "│   " for last in is_last)
            keep = max(indent - len(attrs_text), 0)  # deep rows in a narrow pane lose their outer glyphs
            lead = [Segment(attrs_text[:indent], attrs_style), Segment(glyphs[len(glyphs) - keep :], base)]
            chunk = wrap - indent
            piece = Strip(segments).crop(part * chunk, (part + 1) * chunk)
            return Strip.join([Strip(lead), piece]).extend_cell_length(width, fill)
        lead = [Segment(attrs_text, attrs_style), Segment(glyphs, base)] if attrs_text else [Segment(glyphs, base)]
        return Strip(lead + segments).crop_extend(scroll_x, scroll_x + width, fill)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._cache.clear()
        self._styles.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._cache.clear()
        self._styles.clear()
        self.refresh()

    # -- cursor -------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        count = len(self.rows)
        if count and not 0 <= new < count:
            self.cursor = min(max(new, 0), count - 1)
            return
        self._refresh_row(old)
        self._refresh_row(new)
        self.post_message(self.CursorMoved(self.cursor_node))

    def _refresh_row(self, row: int) -> None:
        y = self.line_of(row) - self.scroll_offset.y if row < len(self.rows) else row - self.scroll_offset.y
        height = self.row_height(row)
        if -height < y < self.size.height:
            self.refresh(Region(0, max(y, 0), self.size.width, height + min(y, 0)))

    def move_cursor(self, row: int) -> None:
        if not len(self.rows):
            return
        self.cursor = min(max(row, 0), len(self.rows) - 1)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        line, lines = self.line_of(self.cursor), self.row_height(self.cursor)
        if height and top <= line and line + lines <= top + height:
            return  # already on screen: scrolling would repaint the whole view
        self.scroll_to_region(Region(0, line, 1, lines), animate=False, force=True, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_cursor_home(self) -> None:
        self.move_cursor(0)

    def action_cursor_end(self) -> None:
        self.move_cursor(len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        row, _part = self.row_at(self.scroll_offset.y + event.y)
        if 0 <= row < len(self.rows):
            if row == self.cursor and event.chain >= 2:
                self.action_toggle_collapse()
            self.move_cursor(row)

    # -- folders ------------------------------------------------------------
    def _is_folder(self, node: Node | None) -> bool:
        return node is not None and bool(node.children)

    def action_toggle_collapse(self) -> None:
        node = self.cursor_node
        if self._is_folder(node):
            self.state.set_collapsed(node.path, not self.state.is_collapsed(node.path))
            self.rebuild(node)

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if self._is_folder(node) and not self.state.is_collapsed(node.path):
            self.state.set_collapsed(node.path, True)
            self.rebuild(node)
        elif node.parent is not None and node.parent.name:
            row = self.rows.row_of(node.parent)
            if row is not None:
                self.move_cursor(row)

    def action_expand_or_child(self) -> None:
        node = self.cursor_node
        if not self._is_folder(node):
            return
        if self.state.is_collapsed(node.path):
            self.state.set_collapsed(node.path, False)
            self.rebuild(node)
        elif self.cursor + 1 < len(self.rows) and self.rows.node(self.cursor + 1).parent is node:
            self.move_cursor(self.cursor + 1)

    def action_toggle_collapse_all(self) -> None:
        self.state.collapse_all = not self.state.collapse_all
        self.state.toggled.clear()
        node = self.cursor_node
        while self.state.collapse_all and node is not None and node.parent is not None and node.parent.name:
            node = node.parent  # the top-level folder stays visible
        self.rebuild(node)

    def expand_to(self, node: Node) -> int | None:
        """Opens the folders above ``node`` and moves the cursor to it; the row, or None if it is filtered out."""
        parent = node.parent
        while parent is not None and parent.name:
            self.state.set_collapsed(parent.path, False)
            parent = parent.parent
        self.rebuild(node)
        row = self.rows.row_of(node)
        if row is not None:
            self.cursor = row
            region = Region(0, self.line_of(row), 1, self.row_height(row))
            self.scroll_to_region(region, animate=False, force=True, immediate=True, center=True)
        return row

    # -- view options -------------------------------------------------------
    def _toggle_hidden(self, diff: DiffType) -> None:
        self.state.hidden ^= {diff}
        self.rebuild()
        self.post_message(self.CursorMoved(self.cursor_node))

    def action_toggle_added(self) -> None:
        self._toggle_hidden(DiffType.ADDED)

    def action_toggle_removed(self) -> None:
        self._toggle_hidden(DiffType.REMOVED)

    def action_toggle_modified(self) -> None:
        self._toggle_hidden(DiffType.MODIFIED)

    def action_toggle_unmodified(self) -> None:
        self._toggle_hidden(DiffType.UNMODIFIED)

    def action_toggle_only_changes(self) -> None:
        self.state.only_changes = not self.state.only_changes
        self.rebuild()
        self.post_message(self.CursorMoved(self.cursor_node))

    def action_toggle_attributes(self) -> None:
        self.show_attributes = not self.show_attributes
        self.rebuild()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.scroll_to(x=0, animate=False, immediate=True)
        self.rebuild()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """One ctrl+o binding at a time, so the footer names the current sort order."""
        if action == "sort_by_size":
            return not self.state.sort_by_size
        if action == "sort_by_name":
            return self.state.sort_by_size
        return True

    def action_sort_by_size(self) -> None:
        self._set_sort(True)

    def action_sort_by_name(self) -> None:
        self._set_sort(False)

    def _set_sort(self, by_size: bool) -> None:
        self.state.sort_by_size = by_size
        self.rebuild()
        self.refresh_bindings()
        self.post_message(self.CursorMoved(self.cursor_node))

    def action_view_file(self) -> None:
        self.post_message(self.Requested("view", self.cursor_node))

    def action_extract(self) -> None:
        self.post_message(self.Requested("extract", self.cursor_node))

    def action_search(self) -> None:
        self.post_message(self.Requested("search", self.cursor_node))

    def action_size_filter(self) -> None:
        self.post_message(self.Requested("size", self.cursor_node))

    def action_next_match(self) -> None:
        self.post_message(self.Requested("next", self.cursor_node))

    def action_previous_match(self) -> None:
        self.post_message(self.Requested("previous", self.cursor_node))

    def set_view(self, layer: int, aggregated: bool) -> None:
        """Shows another layer or compare mode; the cursor stays on its path when it is still shown."""
        if (layer, aggregated) != (self.state.layer, self.state.aggregated):
            self.state.layer = layer
            self.state.aggregated = aggregated
            self.rebuild()
            self.post_message(self.CursorMoved(self.cursor_node))


class FileTreePane(Vertical):
    """The bordered file tree, with the filter/search line under it."""

    BINDINGS = [
        Binding("ctrl+f,slash", "open_filter", "Filter", id="filter-files"),
        Binding("escape", "close_input", "Close", show=False),
    ]

    mode: reactive[str] = reactive("")
    """What the input line is for: ``"filter"``, ``"search"``, ``"size"`` or ``""`` (closed)."""

    def __init__(self, view: FileTreeView, title: str | None = None) -> None:
        super().__init__(id="tree-pane")
        self.view = view
        self.title = title
        """The border title; None names the compare mode (the explorer's)."""
        self.search_matches: list[Node] = []
        self.search_index = 0

    def compose(self):  # noqa: ANN201
        yield self.view
        yield Input(id="tree-input")

    def on_mount(self) -> None:
        self.query_one(Input).display = False
        self.update_title()

    def update_title(self) -> None:
        state = self.view.state
        mode = "aggregated" if state.aggregated else "layer"
        title = self.title or f"Current Layer Contents ({mode} changes)"
        if title != self.border_title:
            self.border_title = title
        notes = []
        if state.hidden:
            notes.append("hidden: " + " ".join(d.name.lower() for d in sorted(state.hidden)))
        if state.only_changes:
            notes.append("only changes")
        if state.min_size:
            notes.append(f"≥ {size_text(state.min_size)}")
        if state.filter:
            notes.append(f"filter: {state.filter}" + (" (invalid)" if self.view.filter_error else ""))
        notes.append("sort: size" if state.sort_by_size else "sort: name")
        notes.append(f"{len(self.view.rows):,} rows")
        subtitle = " · ".join(notes)
        if subtitle != self.border_subtitle:  # setting it repaints the whole pane
            self.border_subtitle = subtitle

    def action_open_filter(self) -> None:
        self.open_input("filter", self.view.state.filter)

    def on_file_tree_view_requested(self, event: FileTreeView.Requested) -> None:
        """Search and the size filter are the pane's; viewing and extracting go on to the screen."""
        if event.what == "search":
            self.open_input("search")
        elif event.what == "size":
            self.open_input("size", str(self.view.state.min_size or ""))
        elif event.what in ("next", "previous"):
            self.step_match(1 if event.what == "next" else -1)
        else:
            return
        event.stop()

    def on_file_tree_view_cursor_moved(self, event: FileTreeView.CursorMoved) -> None:
        self.update_title()

    def open_input(self, mode: str, value: str = "") -> None:
        if mode in ("filter", "search"):
            self.view.model.paths()  # build the path list now, not on the first keystroke
        field = self.query_one(Input)
        field.placeholder = {
            "filter": "regex on the full path (esc closes and clears, enter keeps)",
            "search": "path fragment (enter: next match, esc: close)",
            "size": "only files of at least N bytes: 1MB, 500k, 0 for all",
        }[mode]
        field.border_title = mode
        self.mode = mode
        field.value = value
        field.display = True
        field.focus()

    def action_close_input(self) -> None:
        if self.mode == "filter":
            self.view.state.filter = ""
            self.view.rebuild()
        self.close_input()

    def close_input(self) -> None:
        field = self.query_one(Input)
        self.mode = ""
        field.display = False
        field.remove_class("invalid")
        self.view.focus()
        self.update_title()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.view.state.filter = event.value
            error = self.view.state.filter_error()
            self.view.filter_error = error
            event.input.set_class(error is not None, "invalid")
            event.input.border_subtitle = error or ""
            if error is None:
                self.view.rebuild()
            self.update_title()
        elif self.mode == "search":
            self.find(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.mode == "search":
            self.step_match(1)
            return
        if self.mode == "size":
            size = parse_size(event.value)
            if size is None:
                event.input.border_subtitle = "not a size"
                return
            self.view.state.min_size = size
            self.view.rebuild()
        self.close_input()

    # -- search -------------------------------------------------------------
    def find(self, fragment: str) -> None:
        """Finds the paths containing ``fragment`` that are shown at this layer, and jumps to the first."""
        self.search_matches = []
        self.search_index = 0
        if not fragment:
            return
        model, state = self.view.model, self.view.state
        codes = model.codes(state.layer, state.aggregated)
        needle = fragment.lower()
        nodes = model.order.nodes
        self.search_matches = [
            nodes[pos] for pos, path in enumerate(model.paths()) if codes[pos] and needle in path.lower()
        ]
        field = self.query_one(Input)
        field.border_subtitle = f"{len(self.search_matches)} matches"
        if self.search_matches:
            self.view.expand_to(self.search_matches[0])

    def step_match(self, step: int) -> None:
        if not self.search_matches:
            return
        self.search_index = (self.search_index + step) % len(self.search_matches)
        row = self.view.expand_to(self.search_matches[self.search_index])
        field = self.query_one(Input)
        note = "" if row is not None else " (hidden by a filter)"
        field.border_subtitle = f"{self.search_index + 1}/{len(self.search_matches)}{note}"


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(text: str) -> int | None:
    """``"1.5MB"`` -> 1500000; None when it is not a size."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
