"""Provides the layers pane: one row per layer; moving the cursor selects the layer.

Drawn with the line API, one line a layer cut to the pane's width: no horizontal scrollbar, the command as
wide as the pane allows, and on a narrow pane (dive's 8-column left column) only the indexes.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.format import size as dive_size
from dive_py.model import Layer
from dive_py.safe_text import visible
from dive_py.ui.text import short_id

COMPARE_MARK = "●"
"""Marks the layers inside the compared range."""
ASCII_COMPARE_MARK = "*"
"""The mark where the terminal cannot draw ``●`` (a C locale)."""
NARROW = 24
"""Below this many cells the pane shows only the mark and the index (dive's narrow ``Layer`` column)."""
FROM_ID_CHARS = 15
"""Characters of the first layer's id after ``FROM`` (as dive)."""


class LayersPane(ScrollView, can_focus=True):
    """The image's layers, oldest first: compare mark, index, size and command."""

    COMPONENT_CLASSES = {"layers--header", "layers--cursor"}
    DEFAULT_CSS = """
    LayersPane { height: auto; overflow-x: hidden; scrollbar-size-vertical: 1; }
    LayersPane > .layers--header { text-style: bold; }
    LayersPane > .layers--cursor { background: $primary 40%; }
    LayersPane:focus > .layers--cursor { background: $primary; color: $text; text-style: bold; }
    """
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,u", "page(-1)", "Page up", show=False),
        Binding("pagedown,d", "page(1)", "Page down", show=False),
        Binding("home,g", "move(-1000000)", "Top", show=False),
        Binding("end,G", "move(1000000)", "Bottom", show=False),
        Binding("right,l", "pane('tree')", "Tree", show=False),
        Binding("left,h", "pane('layer-details')", "Details", show=False),
        Binding("ctrl+l", "compare_layer", "Layer changes", id="compare-layer"),
        Binding("ctrl+a", "compare_aggregated", "Aggregated", id="compare-all"),
    ]

    cursor_row: reactive[int] = reactive(0, repaint=False)
    """The selected layer (its index)."""

    class LayerSelected(Message):
        """Another layer is under the cursor."""

        def __init__(self, layer: int) -> None:
            super().__init__()
            self.layer = layer

    class CompareChanged(Message):
        """The compare mode changed."""

        def __init__(self, aggregated: bool) -> None:
            super().__init__()
            self.aggregated = aggregated

    def __init__(
        self,
        layers: list[Layer],
        aggregated: bool = False,
        *,
        ascii_only: bool = False,
        lines: DockerfileLines = NO_LINES,
    ) -> None:
        super().__init__(id="layers")
        self.image_layers = layers
        self.aggregated = aggregated
        """Compare with the first layer rather than with the layer below."""
        self.mark = ASCII_COMPARE_MARK if ascii_only else COMPARE_MARK
        self.border_title = "Layers"
        self.sizes = [dive_size(layer.size_bytes) for layer in layers]
        self.labels = [layer_label(layer, lines) for layer in layers]

    def on_mount(self) -> None:
        self.virtual_size = Size(0, len(self.image_layers) + 1)

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        return len(self.image_layers) + 1

    @property
    def selected(self) -> int:
        return self.cursor_row

    # -- drawing ------------------------------------------------------------
    def line_text(self, index: int | None, width: int) -> str:
        """The header (``index`` None) or a layer's line, cut to ``width`` cells."""
        digits = max(len(str(len(self.image_layers) - 1)), 1)
        size_width = max((len(s) for s in self.sizes), default=4)
        if width < NARROW:
            if index is None:
                return "Layer"[:width]
            mark = self.mark if self._marked(index) else " "
            return f"{mark} {index:>{digits}}"[:width]
        if index is None:
            return f"Cmp {'#':>{digits}}  {'Size':>{size_width}}  Command"[:width]
        mark = self.mark if self._marked(index) else " "
        return f" {mark}  {index:>{digits}}  {self.sizes[index]:>{size_width}}  {self.labels[index]}"[:width]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style: Style = base + self.get_component_rich_style("layers--header", partial=True)
            return Strip([Segment(self.line_text(None, width), style)]).extend_cell_length(width, base)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.image_layers):
            return Strip.blank(width, base)
        style = base
        if index == self.cursor_row:
            style = base + self.get_component_rich_style("layers--cursor", partial=True)
        return Strip([Segment(self.line_text(index, width), style)]).extend_cell_length(width, style)

    def _marked(self, index: int) -> bool:
        selected = self.cursor_row
        return index <= selected if self.aggregated else index == selected

    # -- cursor -------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh()
        if old != new:
            self.post_message(self.LayerSelected(new))

    def action_move(self, step: int) -> None:
        if not self.image_layers:
            return
        self.cursor_row = min(max(self.cursor_row + step, 0), len(self.image_layers) - 1)
        height = max(self.scrollable_content_region.height - 1, 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False)

    def action_page(self, direction: int) -> None:
        """dive's page keys: the rows scroll a page at once, the cursor keeping its place on screen."""
        on_screen = self.cursor_row - self.scroll_offset.y
        self.action_move(direction * max(self.scrollable_content_region.height - 2, 1))
        top = min(max(self.cursor_row - on_screen, 0), self.max_scroll_y)
        self.scroll_to(y=top, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        # The offset in the content area: the pane's border is above the header row (event.y counts it).
        offset = event.get_content_offset(self)
        index = -1 if offset is None else self.scroll_offset.y + offset.y - 1
        if 0 <= index < len(self.image_layers):
            self.action_move(index - self.cursor_row)

    def action_pane(self, pane_id: str) -> None:
        """dive's left/right in the Layers pane: on to another pane."""
        for widget in self.screen.query(f"#{pane_id}"):
            if widget.focusable:
                widget.focus()
                return

    # -- compare mode -------------------------------------------------------
    def action_compare_layer(self) -> None:
        self._set_compare(False)

    def action_compare_aggregated(self) -> None:
        self._set_compare(True)

    def _set_compare(self, aggregated: bool) -> None:
        if aggregated != self.aggregated:
            self.aggregated = aggregated
            self.refresh()
            self.post_message(self.CompareChanged(aggregated))


def layer_label(layer: Layer, lines: DockerfileLines = NO_LINES) -> str:
    """dive's command column: ``FROM`` and 15 characters of the id for the first layer, else the command;
    a layer the source names (a container's writable layer) shows its name first; a layer whose Dockerfile
    line is known shows it (``Dockerfile:7 RUN chmod -R 755 /opt/tools``)."""
    if lines.of_layer(layer.index) is not None:
        return lines.label(layer.index)
    if layer.label:
        return visible(f"{layer.label}: {layer.short_command}" if layer.short_command else layer.label)
    if layer.index == 0:
        return visible(f"FROM {short_id(layer.id or layer.digest, FROM_ID_CHARS)}")
    return visible(layer.short_command) if layer.short_command else "(no command)"
