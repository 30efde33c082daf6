"""Provides the read-only panes: layer details and image details (with the inefficient files)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.values import Extras
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.format import age
from dive_py.format import size as dive_size
from dive_py.model import Layer
from dive_py.ui.hints import extras_texts
from dive_py.ui.panes.line_list import LineList


class DetailsText(Widget):
    """One of several texts, as tall as the tallest: switching texts repaints it without a relayout
    (a relayout repaints the whole screen)."""

    DEFAULT_CSS = "DetailsText { height: auto; }"

    def __init__(self, texts: list[Text], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.texts = texts
        self.index = 0

    def render(self) -> Text:
        return self.texts[self.index] if self.texts else Text()

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        console = self.app.console
        return max((len(text.wrap(console, max(width, 1))) for text in self.texts), default=1)

    def get_content_width(self, container, viewport) -> int:  # noqa: ANN001
        """As wide as the widest line of any text (what the unwrapped id and digest lines need)."""
        return max((line.cell_len for text in self.texts for line in text.split("\n")), default=1)

    def select(self, index: int) -> None:
        if index != self.index:
            self.index = index
            self.refresh()


class LayerDetailsPane(ScrollableContainer):
    """Tags, id, digest, size and the full command of the selected layer.

    Ids and digests are never broken across lines (so they can be copied whole): those lines scroll
    sideways when the pane is narrow; only the command wraps.
    """

    DEFAULT_CSS = """
    LayerDetailsPane #layer-details-fields { width: auto; }
    LayerDetailsPane #layer-details-command, LayerDetailsPane #layer-details-extras { width: 100%; }
    """
    BINDINGS = [
        Binding("k", "scroll_up", show=False),
        Binding("j", "scroll_down", show=False),
        Binding("h", "scroll_left", show=False),
        Binding("l", "scroll_right", show=False),
    ]

    def __init__(self, layers: list[Layer], tags: list[str], lines: DockerfileLines = NO_LINES) -> None:
        super().__init__(id="layer-details", can_focus=True)
        self.tags = tags
        self.lines = lines
        self.border_title = "Layer Details"
        self.fields = DetailsText([self.describe(layer) for layer in layers], id="layer-details-fields")
        self.command = DetailsText([self.command_text(layer) for layer in layers], id="layer-details-command")
        self.extras = DetailsText(extras_texts(None, len(layers)), id="layer-details-extras")
        """The layer's hints and packages (:mod:`dive_py.ui.hints`), once computed in the background."""

    def compose(self):  # noqa: ANN201
        yield self.fields
        yield self.command
        yield self.extras

    def set_extras(self, extras: Extras) -> None:
        """Shows the hints and packages now computed (the pane's height may change: a relayout)."""
        self.extras.texts = extras_texts(extras, len(self.fields.texts))
        self.extras.refresh(layout=True)

    @property
    def text(self) -> DetailsText:
        """The id, digest and size lines (the command is in ``command``)."""
        return self.fields

    def command_text(self, layer: Layer) -> Text:
        text = Text()
        if self.lines.of_layer(layer.index) is not None:  # (a docker commit's comment and author are above)
            text.append("Dockerfile:\n", style="bold")
            text.append(self.lines.label(layer.index) + "\n")
        text.append("Command:\n", style="bold")
        text.append(layer.command or "(none)")
        return text

    def describe(self, layer: Layer) -> Text:
        """The lines that never wrap: tags, ids, digests, size, date, comment."""
        text = Text(no_wrap=True, overflow="ignore")
        rows = [("Layer:  ", layer.label)] if layer.label else []
        rows += [
            ("Tags:   ", ", ".join(self.tags) or "(none)"),
            ("Id:     ", layer.id),
            ("Digest: ", layer.digest),
            ("DiffID: ", layer.diff_id),
            ("Size:   ", dive_size(layer.size_bytes)),
        ]
        if layer.created:
            ago = age(layer.created)
            # the age first: these lines are cut at the pane's edge, not wrapped
            rows.append(("Created:", f" {ago}, {layer.created}" if ago else " " + layer.created))
        if layer.author or layer.comment:
            rows.append(("Comment:", f" {layer.comment} ({layer.author})" if layer.author else " " + layer.comment))
        for label, value in rows:
            text.append(label, style="bold")
            text.append(f"{value}\n")
        text.rstrip()
        return text

    def show(self, layer: Layer) -> None:
        self.fields.select(layer.index)
        self.command.select(layer.index)
        self.extras.select(min(layer.index, len(self.extras.texts) - 1))


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
        yield Static(self._summary(), id="image-summary")
        items = a.inefficiencies
        yield LineList(
            f"{'Count':>5}  {'Total Space':>11}  Path",
            len(items),
            lambda i: f"{items[i].count:>5}  {dive_size(items[i].cumulative_bytes):>11}  {items[i].path}",
            id="inefficiencies",
        )

    def _summary(self) -> Text:
        a = self.analysis
        walk = a.walk_ready()  # None until the explorer's worker has walked the tree
        summary = Text()
        for label, value in (
            ("Image name: ", a.image.name),
            ("Total Image size: ", dive_size(a.size_bytes)),
            ("Potential wasted space: ", dive_size(a.wasted_bytes)),
            ("Image efficiency score: ", f"{a.efficiency * 100:.0f} %"),
            ("Reclaimable by squashing: ", _pending_size(walk and walk.reclaimable_bytes)),
            ("Duplicate content: ", _pending_size(walk and walk.duplicate_content_bytes)),
        ):
            summary.append(label, style="bold")
            summary.append(value + "\n")
        return summary

    def show_figures(self) -> None:
        """Shows the figures the explorer completed after its first paint."""
        self.query_one("#image-summary", Static).update(self._summary())

    def on_line_list_chosen(self, event: LineList.Chosen) -> None:
        event.stop()
        self.post_message(self.PathChosen(self.analysis.inefficiencies[event.index].path))


def _pending_size(value: int | None) -> str:
    """A size, or what stands for it while the explorer still computes it."""
    return "..." if value is None else dive_size(value)
