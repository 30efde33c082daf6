"""Provides the read-only panes: layer details and image details (with the inefficient files)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from dive_py.analysis import Analysis
from dive_py.image.model import Layer
from dive_py.ui.text import size_text


class LayerDetailsPane(VerticalScroll):
    """Tags, id, digest, size and the full command of the selected layer."""

    BINDINGS = [Binding("k", "scroll_up", show=False), Binding("j", "scroll_down", show=False)]

    def __init__(self, tags: list[str]) -> None:
        super().__init__(id="layer-details", can_focus=True)
        self.tags = tags
        self.border_title = "Layer Details"

    def compose(self):  # noqa: ANN201
        yield Static(id="layer-details-text")

    def show(self, layer: Layer) -> None:
        text = Text()
        rows = [
            ("Tags:   ", ", ".join(self.tags) or "(none)"),
            ("Id:     ", layer.id),
            ("Digest: ", layer.digest),
            ("DiffID: ", layer.diff_id),
            ("Size:   ", size_text(layer.size_bytes)),
        ]
        if layer.created:
            rows.append(("Created:", " " + layer.created))
        if layer.author or layer.comment:
            rows.append(("Comment:", f" {layer.comment} ({layer.author})" if layer.author else " " + layer.comment))
        for label, value in rows:
            text.append(label, style="bold")
            text.append(f"{value}\n")
        text.append("Command:\n", style="bold")
        text.append(layer.command or "(none)")
        self.query_one(Static).update(text)


class ImageDetailsPane(Vertical):
    """Image-wide figures and the inefficient-files table; selecting a row jumps to the path."""

    class PathChosen(Message):
        """A row of the inefficient-files table was chosen."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, analysis: Analysis) -> None:
        super().__init__(id="image-details")
        self.analysis = analysis
        self.border_title = "Image Details"

    def compose(self):  # noqa: ANN201
        a = self.analysis
        summary = Text()
        for label, value in (
            ("Image name: ", a.image.name),
            ("Total Image size: ", size_text(a.size_bytes)),
            ("Potential wasted space: ", size_text(a.wasted_bytes)),
            ("Image efficiency score: ", f"{a.efficiency * 100:.0f} %"),
            ("Reclaimable by squashing: ", size_text(a.reclaimable_bytes)),
            ("Duplicate content: ", size_text(a.duplicate_content_bytes)),
        ):
            summary.append(label, style="bold")
            summary.append(value + "\n")
        yield Static(summary, id="image-summary")
        table: DataTable = DataTable(id="inefficiencies", cursor_type="row")
        table.add_columns("Count", "Total Space", "Path")
        for item in a.inefficiencies:
            table.add_row(str(item.count), size_text(item.cumulative_bytes), item.path, key=item.path)
        yield table

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.PathChosen(event.row_key.value))
