"""Provides ``LineList``: a focusable, scrollable list of one-line rows drawn with the line API.

Used where a table may hold thousands of rows (the inefficient files): a ``DataTable`` measures
every cell of every row when it is filled, which costs about a second per few thousand rows.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dive_py.safe_text import visible


class LineList(ScrollView, can_focus=True):
    """Rows of text from ``line(index)``, a header line, a cursor; ``enter`` or a click chooses a row."""

    COMPONENT_CLASSES = {"line-list--header", "line-list--cursor"}
    DEFAULT_CSS = """
    LineList > .line-list--header { text-style: bold; }
    LineList > .line-list--cursor { background: $primary 40%; }
    LineList:focus > .line-list--cursor { background: $primary; color: $text; }
    """
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,u", "page(-1)", "Page up", show=False),
        Binding("pagedown,d", "page(1)", "Page down", show=False),
        Binding("home,g", "move(-1000000000)", "Top", show=False),
        Binding("end,G", "move(1000000000)", "Bottom", show=False),
        Binding("enter", "choose", "Go to path"),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)

    class Chosen(Message):
        """A row was chosen (enter or click)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, header: str, count: int, line: Callable[[int], str], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.header = header
        self.count = count
        self.line = line
        """Text of row ``index`` (called only for rows on screen)."""

    def on_mount(self) -> None:
        self.virtual_size = Size(max(len(self.header), 80), self.count + 1)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style: Style = base + self.get_component_rich_style("line-list--header", partial=True)
            return Strip([Segment(self.header, style)]).crop_extend(scroll_x, scroll_x + width, base)
        index = scroll_y + y - 1
        if index >= self.count:
            return Strip.blank(width, base)
        style = base
        if index == self.cursor:
            style = base + self.get_component_rich_style("line-list--cursor", partial=True)
        # Rows name paths: their control characters are drawn as escapes (issue 25).
        return Strip([Segment(visible(self.line(index)), style)]).crop_extend(scroll_x, scroll_x + width, style)

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        if not self.count:
            return
        self.cursor = min(max(self.cursor + step, 0), self.count - 1)
        height = max(self.scrollable_content_region.height - 1, 1)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_page(self, direction: int) -> None:
        """dive's page keys: the rows scroll a page at once, the cursor keeping its place on screen."""
        on_screen = self.cursor - self.scroll_offset.y
        self.action_move(direction * max(self.scrollable_content_region.height - 2, 1))
        top = min(max(self.cursor - on_screen, 0), self.max_scroll_y)
        self.scroll_to(y=top, animate=False, immediate=True)

    def action_choose(self) -> None:
        if self.count:
            self.post_message(self.Chosen(self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # a border or padding would shift event.y
        index = -1 if offset is None else self.scroll_offset.y + offset.y - 1
        if 0 <= index < self.count:
            self.cursor = index
            self.post_message(self.Chosen(index))

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        return self.count + 1
