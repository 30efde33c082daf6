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
from dive_py.format import age, percent
from dive_py.format import size as dive_size
from dive_py.model import Layer
from dive_py.safe_text import visible, visible_lines
from dive_py.ui.hints_screen import extras_texts
from dive_py.ui.panes.line_list import LineList

FIGURES = [
    ("Fixable", "What the hints (w) show how to save; each byte once"),
    ("Reclaimable by squashing", "Lower layers' bytes that later layers replace or delete"),
    ("Duplicate content", "Final files' bytes also present at another path (copies)"),
    ("Potential wasted space", "dive's: all versions of paths stored twice, 1st included"),
    ("Image efficiency score", "dive's score: 100 % when no path is stored twice"),
]
"""What each figure of Image Details means (the help lists them)."""


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
    LayerDetailsPane #layer-details-body { width: 100%; }
    """
    BINDINGS = [
        Binding("k", "scroll_up", show=False),
        Binding("j", "scroll_down", show=False),
        Binding("h", "scroll_left", "Scroll left", show=False),
        Binding("l", "scroll_right", "Scroll right", show=False),
        # The arrows move on, as in the Layers pane (h and l scroll the ids sideways).
        Binding("right", "pane('tree')", "Tree", show=False),
        Binding("left", "pane('layers')", "Layers", show=False),
    ]

    def __init__(self, layers: list[Layer], tags: list[str], lines: DockerfileLines = NO_LINES) -> None:
        super().__init__(id="layer-details", can_focus=True)
        self.tags = tags
        self.lines = lines
        self.border_title = "Layer Details"
        self.fields = DetailsText([self.describe(layer) for layer in layers], id="layer-details-fields")
        self.commands = [self.command_text(layer) for layer in layers]
        # The command and the hints and packages in one text per layer: a short command is followed by its
        # hints at once, the blank lines (of the tallest layer's text) come last.
        self.body = DetailsText(_joined(self.commands, extras_texts(None, len(layers))), id="layer-details-body")

    @property
    def extras(self) -> DetailsText:
        """The command, then the layer's hints and packages (:mod:`dive_py.ui.hints_screen`) once computed."""
        return self.body

    def compose(self):  # noqa: ANN201
        yield self.fields
        yield self.body

    def action_pane(self, pane_id: str) -> None:
        """left and right: on to another pane."""
        self.screen.query_one(f"#{pane_id}").focus()

    def set_extras(self, extras: Extras) -> None:
        """Shows the hints and packages now computed (the pane's height may change: a relayout)."""
        self.body.texts = _joined(self.commands, extras_texts(extras, len(self.commands)))
        self.body.refresh(layout=True)

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
        text.append(visible_lines(layer.command) if layer.command else "(none)")
        return text

    def describe(self, layer: Layer) -> Text:
        """The lines that never wrap: tags, ids, digests, size, date, comment."""
        text = Text(no_wrap=True, overflow="ignore")
        rows = [("Layer:  ", layer.label)] if layer.label else []
        rows += [
            ("Tags:   ", ", ".join(visible(tag) for tag in self.tags) or "(none)"),
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
            text.append(f"{visible(value)}\n")  # ids, dates and comments are the image's text too
        text.rstrip()
        return text

    def show(self, layer: Layer) -> None:
        self.fields.select(layer.index)
        self.body.select(layer.index)


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
        self.border_subtitle = "? says what each figure means"
        self.fixable: tuple[int, float] | None = None
        """The hints' bytes and their share of the image, once computed (the figure that leads)."""

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
        """The figures, the fixable bytes first (what the hints, ``w``, say how to save); the help (``?``) says
        what each means (:data:`FIGURES`)."""
        a = self.analysis
        fixable = "..." if self.fixable is None else f"{dive_size(self.fixable[0])} ({percent(self.fixable[1])})"
        walk = a.walk_ready()  # None until the explorer's worker has walked the tree
        summary = Text()
        for label, value in (
            ("Image name: ", a.image.name),
            ("Total Image size: ", dive_size(a.size_bytes)),
            ("Fixable (hints, w): ", fixable),
            ("Reclaimable by squashing: ", _pending_size(walk.reclaimable_bytes if walk else None)),
            ("Duplicate content: ", _pending_size(walk.duplicate_content_bytes if walk else None)),
            ("Potential wasted space: ", dive_size(a.wasted_bytes)),
            ("Image efficiency score: ", f"{a.efficiency * 100:.0f} %"),
        ):
            summary.append(label, style="bold")
            summary.append(visible(value) + "\n")
        summary.rstrip()  # the files' header right below: rows are few at 30 lines
        return summary

    def show_figures(self) -> None:
        """Shows the figures the explorer completed after its first paint."""
        self.query_one("#image-summary", Static).update(self._summary())

    def set_fixable(self, fixable_bytes: int, ratio: float) -> None:
        """Shows the hints' total, now computed."""
        self.fixable = (fixable_bytes, ratio)
        self.show_figures()

    def on_line_list_chosen(self, event: LineList.Chosen) -> None:
        event.stop()
        self.post_message(self.PathChosen(self.analysis.inefficiencies[event.index].path))


def _joined(commands: list[Text], extras: list[Text]) -> list[Text]:
    """Per layer, its command, a blank line, its hints and packages."""
    return [Text("\n\n").join([command, extra]) for command, extra in zip(commands, extras, strict=False)]


def _pending_size(value: int | None) -> str:
    """A size, or what stands for it while the explorer still computes it."""
    return "..." if value is None else dive_size(value)
