"""Provides the layers pane: one row per layer; moving the cursor selects the layer."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from dive_py.format import size_text
from dive_py.model import Layer
from dive_py.ui.text import short_id

COMPARE_MARK = "●"
"""Marks the layers inside the compared range."""


class VimTable(DataTable):
    """A row-cursor table with dive's (vim-like) movement keys."""

    BINDINGS = [
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("u", "page_up", "Page up", show=False),
        Binding("d", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_top", "Top", show=False),
        Binding("end,G", "scroll_bottom", "Bottom", show=False),
    ]


class LayersPane(VimTable):
    """The image's layers, oldest first."""

    BINDINGS = [
        Binding("ctrl+l", "compare_layer", "Layer changes", id="compare-layer"),
        Binding("ctrl+a", "compare_aggregated", "Aggregated changes", id="compare-all"),
    ]

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

    def __init__(self, layers: list[Layer], aggregated: bool = False) -> None:
        super().__init__(id="layers", cursor_type="row", zebra_stripes=False)
        self.image_layers = layers
        self.aggregated = aggregated
        """Compare with the first layer rather than with the layer below."""
        self.border_title = "Layers"
        self._posted = 0
        self._marks: dict[int, str] = {}

    def on_mount(self) -> None:
        self.add_column("Cmp", key="cmp")
        self.add_column("Size", key="size")
        self.add_column("Command", key="command")
        for layer in self.image_layers:
            self._marks[layer.index] = self._mark(layer.index, 0)
            self.add_row(
                self._mark(layer.index, 0), size_text(layer.size_bytes), Text(layer_label(layer)), key=str(layer.index)
            )

    @property
    def selected(self) -> int:
        return self.cursor_row

    def _mark(self, index: int, selected: int) -> str:
        marked = index <= selected if self.aggregated else index == selected
        return COMPARE_MARK if marked else " "

    def _update_marks(self) -> None:
        """Rewrites only the marks that change: each cell update costs a repaint of the table."""
        selected = self.cursor_row
        for layer in self.image_layers:
            mark = self._mark(layer.index, selected)
            if self._marks.get(layer.index) != mark:
                self._marks[layer.index] = mark
                self.update_cell(str(layer.index), "cmp", mark)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.cursor_row != self._posted:
            self._posted = event.cursor_row
            self._update_marks()
            self.post_message(self.LayerSelected(event.cursor_row))

    def action_compare_layer(self) -> None:
        self._set_compare(False)

    def action_compare_aggregated(self) -> None:
        self._set_compare(True)

    def _set_compare(self, aggregated: bool) -> None:
        if aggregated != self.aggregated:
            self.aggregated = aggregated
            self._update_marks()
            self.post_message(self.CompareChanged(aggregated))


def layer_label(layer: Layer) -> str:
    """dive's command column: ``FROM <id>`` for the first layer, else the command on one line."""
    if layer.index == 0:
        return f"FROM {short_id(layer.id or layer.digest)}"
    return layer.short_command or "(no command)"
