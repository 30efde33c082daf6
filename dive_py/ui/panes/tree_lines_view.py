"""Provides ``TreeLinesView``: the line-API widget under the file tree: rows, wrapped lines, drawing, cursor."""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from dive_py.trees.row_set import RowSet
from dive_py.trees.row_text import UNICODE_GLYPHS, Glyphs
from dive_py.trees.rows import RowModel
from dive_py.trees.tree import Node
from dive_py.trees.view_state import TreeViewState
from dive_py.ui.panes.tree_draw import RowLook, draw_row
from dive_py.ui.panes.tree_layout import Notes, RowLines

ATTRIBUTES_MIN_WIDTH = 60
"""Below this many cells the tree pane hides the attribute columns by itself, so names stay visible
(``ctrl+b`` still shows them)."""
COMPACT_ATTRIBUTES_BELOW = ATTRIBUTES_MIN_WIDTH
"""Below this many cells the attributes ``ctrl+b`` shows leave out uid:gid (the full columns take 35 cells, the
compact ones 20); wherever the pane shows attributes by itself the owners are in them (a chown shows)."""


class TreeLinesView(ScrollView):
    """The visible rows of a :class:`RowModel` for a :class:`TreeViewState`, one line each (more when wrapping).

    It draws, scrolls and moves the cursor; :class:`~dive_py.ui.panes.file_tree_view.FileTreeView` adds the
    keys that change what is shown, and the styles.
    """

    DEFAULT_CSS = """
    /* No horizontal scrollbar: it would take one of few rows (80x24). Long rows wrap (ctrl+p) or shift+wheel. */
    TreeLinesView { overflow-x: hidden; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Row of the cursor in the visible rows."""

    class CursorMoved(Message):
        """The cursor is on another path (or the rows changed under it)."""

        def __init__(self, node: Node | None) -> None:
            super().__init__()
            self.node = node

    def __init__(
        self,
        model: RowModel,
        state: TreeViewState,
        *,
        show_attributes: bool = True,
        markers: bool = False,
        glyphs: Glyphs = UNICODE_GLYPHS,
        notes: Notes | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.state = state
        self.look = RowLook(show_attributes, markers, glyphs, lambda node: state.is_collapsed(node.path))
        self.attributes_wanted = show_attributes
        """The user's choice (config, ``ctrl+b``); a narrow pane hides the attributes whatever it is."""
        self._narrow: bool | None = None
        self.notes = notes or {}
        """Per node: a suffix drawn after the name (``← moved from /a``) and a component class for the
        name instead of its diff colour (None keeps it)."""
        self.wrap = False
        """Wrap long rows onto continuation lines instead of scrolling sideways."""
        self.rows: RowSet = model.visible(state)
        self.lines = RowLines(model, self.notes)
        self.filter_error: str | None = None
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._generation = 0
        self._update_virtual_size()

    @property
    def show_attributes(self) -> bool:
        """Draw the permission, uid:gid and size columns."""
        return self.look.show_attributes

    @show_attributes.setter
    def show_attributes(self, value: bool) -> None:
        self.look.show_attributes = value

    @property
    def markers(self) -> bool:
        """Draw a change marker before each changed row."""
        return self.look.markers

    @markers.setter
    def markers(self, value: bool) -> None:
        self.look.markers = value

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
        row = rows.nearest_row(keep)
        if row is None:
            row = min(old_row, max(len(rows) - 1, 0))  # nothing of the path is left: stay on the same line
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
        return self.lines.line_count(len(self.rows))

    def line_of(self, row: int) -> int:
        """First screen line (in the scrolled content) of ``row``."""
        return self.lines.line_of(row)

    def row_height(self, row: int) -> int:
        return self.lines.row_height(row)

    def row_at(self, line: int) -> tuple[int, int]:
        """The row drawn on content line ``line`` and which of its lines it is (0 for the first)."""
        return self.lines.row_at(line, len(self.rows))

    def _layout_lines(self) -> None:
        width = self.size.width - self.styles.scrollbar_size_vertical  # kept free whether or not it shows
        self.lines.layout(self.rows, width, self.wrap, self.look.lead)

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_attributes(event.size.width):
            self.rebuild()
        elif self.wrap:
            self._generation += 1
            self._cache.clear()
            self._layout_lines()
            self._update_virtual_size()
            self.refresh()

    def _fit_attributes(self, width: int) -> bool:
        """Hides the attribute columns on a narrow pane, compacts them on a middling one; True if either changed."""
        changed = False
        narrow = width < ATTRIBUTES_MIN_WIDTH
        if narrow != self._narrow:  # only on crossing the limit, so ctrl+b is obeyed until the next crossing
            self._narrow = narrow
            if self.show_attributes != (self.attributes_wanted and not narrow):
                self.show_attributes = self.attributes_wanted and not narrow
                changed = True
        compact = width < COMPACT_ATTRIBUTES_BELOW
        if compact != self.look.compact:
            self.look.compact = compact
            changed = True
        return changed

    @property
    def allow_horizontal_scroll(self) -> bool:
        """Sideways by the mouse (shift+wheel) though no scrollbar shows, unless long rows wrap."""
        return not self.wrap and self.max_scroll_x > 0

    def _update_virtual_size(self) -> None:
        width = self.lines.max_name_width + 40 + self.look.lead
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
        key = (row, part, row == self.cursor, self.has_focus, scroll_x, width, self._generation, self.look.lead)
        strip = self._cache.get(key)
        if strip is None:
            strip = self.render_row(row, scroll_x, width, part)
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

    def render_row(self, row: int, scroll_x: int, width: int, part: int = 0) -> Strip:
        """Draws ``row`` (its line ``part`` when it wraps), ``width`` cells from ``scroll_x``."""
        if row == 0 and not len(self.rows):
            return Strip([Segment(self.empty_note(), self._style("filetree--note"))]).extend_cell_length(width)
        cursor = self.get_component_rich_style("filetree--cursor", partial=True) if row == self.cursor else None
        return draw_row(
            self.rows,
            row,
            style=self._style,
            cursor=cursor,
            notes=self.notes,
            look=self.look,
            lines=self.lines,
            scroll_x=scroll_x,
            width=width,
            part=part,
        )

    def empty_note(self) -> str:
        """Said in the pane when no row is left to show."""
        if self.state.filter:
            return f"no path matches the filter {self.state.filter!r}"
        if self.state.hidden or self.state.only_changes or self.state.min_size:
            return "nothing left to show: every path is hidden"
        return "nothing to show at this layer"

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
        self.page(-1)

    def action_page_down(self) -> None:
        self.page(1)

    def page(self, direction: int) -> None:
        """dive's page keys: the view scrolls a page at once and the cursor keeps its place on screen (it
        reaches the first or last row only where the view can scroll no further)."""
        if not len(self.rows):
            return
        step = max(self.scrollable_content_region.height - 1, 1)
        on_screen = self.line_of(self.cursor) - self.scroll_offset.y
        self.cursor = min(max(self.cursor + direction * step, 0), len(self.rows) - 1)
        top = min(max(self.line_of(self.cursor) - on_screen, 0), self.max_scroll_y)
        self.scroll_to(y=top, animate=False, force=True, immediate=True)
        self._scroll_to_cursor()

    def action_cursor_home(self) -> None:
        self.move_cursor(0)

    def action_cursor_end(self) -> None:
        self.move_cursor(len(self.rows) - 1)
