"""Provides the explorer's side of issue 15's hints: the hints screen (``w``) and the layer details' extras.

Hints and packages are made on demand by the :class:`~dive_py.analysis.analyze.Analysis`
(:meth:`~dive_py.analysis.analyze.Analysis.extras`); the explorer asks for them in its worker once it is on
screen, so they never delay the first paint. Until they arrive the screen and the layer
details say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.format import percent
from dive_py.format import size as dive_size
from dive_py.safe_text import visible
from dive_py.ui.key_bar import KeyBar
from dive_py.ui.panes.line_list import LineList

if TYPE_CHECKING:  # the hints and packages come after the first paint: their modules too
    from dive_py.analysis.hints import Hint, HintReport
    from dive_py.analysis.packages import LayerPackages
    from dive_py.analysis.values import Extras

PACKAGE_ROWS = 8
"""Packages listed per change in the layer details (the rest counted; ``--json`` has them all)."""


def hint_line(hint: Hint) -> str:
    """One row of the hints list: bytes, kind, layer and the first path."""
    more = f" (+{len(hint.paths) - 1} more)" if len(hint.paths) > 1 else ""
    return f"{dive_size(hint.bytes):>9}  {hint.kind:<17}  {hint.layer:>5}  {hint.paths[0]}{more}"


HINT_HEADER = f"{'Bytes':>9}  {'Kind':<17}  {'Layer':>5}  Path"


class HintsScreen(ModalScreen["Hint | None"]):
    """The image's hints, biggest first; the selected one's command, paths and fix below the list.

    ``enter`` closes the screen with the chosen hint (the explorer jumps to its layer and first path).
    Layers are numbered from 0, as in the Layers pane.
    """

    BINDINGS = [Binding("escape,q,w", "dismiss", "Close")]

    def __init__(self, report: HintReport | None, lines: DockerfileLines = NO_LINES) -> None:
        super().__init__(id="hints")
        self.report = report
        self.lines = lines
        self.hints: list[Hint] = []
        self.hint_list = LineList(HINT_HEADER, 0, lambda i: hint_line(self.hints[i]), id="hint-list")

    def compose(self) -> ComposeResult:
        with Vertical(id="hints-box") as box:
            box.border_title = "Waste hints"
            yield self.hint_list
            with VerticalScroll(id="hint-detail-box"):
                yield Static("", id="hint-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.watch(self.hint_list, "cursor", self._show_detail)
        self.set_report(self.report)
        self.hint_list.focus()

    def set_report(self, report: HintReport | None) -> None:
        """Shows ``report`` (None: still being computed)."""
        self.report = report
        self.hints = report.hints if report is not None else []
        box = self.query_one("#hints-box")
        if report is None:
            box.border_subtitle = "computing..."
        else:
            share = percent(report.fixable_ratio)
            box.border_subtitle = f"{dive_size(report.fixable_bytes)} ({share} of the image) fixable"
        self.hint_list.count = len(self.hints)
        self.hint_list.on_mount()  # the virtual size follows the count
        self.hint_list.refresh(layout=True)  # and so does its height
        self._show_detail(self.hint_list.cursor)

    def _show_detail(self, index: int) -> None:
        detail = self.query_one("#hint-detail", Static)
        if self.report is None:
            detail.update(Text("Computing the hints...", style="italic"))
        elif not self.hints:
            detail.update(Text(f"No hint of at least {dive_size(self.report.min_bytes)}.", style="italic"))
        else:
            detail.update(hint_detail(self.hints[min(index, len(self.hints) - 1)], self.lines))

    def on_line_list_chosen(self, event: LineList.Chosen) -> None:
        event.stop()
        self.dismiss(self.hints[event.index])


def hint_detail(hint: Hint, lines: DockerfileLines = NO_LINES) -> Text:
    """The selected hint in full: layer and command (and Dockerfile line, or how the layer was made), paths, fix."""
    text = Text()
    where = lines.label(hint.layer)
    for label, value in (
        ("Layer:   ", f"{hint.layer}: {visible(hint.command or '(no command)')}"),
        *((("At:      ", visible(where)),) if where else ()),
        ("Saves:   ", f"{dive_size(hint.bytes)} ({hint.kind})"),
        ("Paths:   ", "\n         ".join(visible(path) for path in hint.paths)),
        ("Fix:     ", visible(hint.fix)),
    ):
        text.append(label, style="bold")
        text.append(value + "\n")
    text.append("enter: go to the layer and the first path", style="italic")
    return text


def layer_extras_text(hints: list[Hint], packages: LayerPackages | None) -> Text:
    """The layer details' lines on a layer's hints and packages."""
    text = Text()
    text.append("Hints:", style="bold")
    if not hints:
        text.append(" (none)\n")
    for hint in hints:
        more = f" (+{len(hint.paths) - 1} more)" if len(hint.paths) > 1 else ""
        text.append(f"\n  {dive_size(hint.bytes)} {hint.kind} {visible(hint.paths[0])}{more}\n")
        text.append("    fix: ", style="dim")
        text.append(visible(hint.fix) + "\n")
    text.append("Packages:", style="bold")
    if not packages:
        text.append(" (no change)")
        return text
    for change, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
        items = getattr(packages, change)
        if items:
            text.append(f"\n  {len(items)} {change}:")
        for package in items[:PACKAGE_ROWS]:
            size = dive_size(package.size_bytes)
            state = f", {package.state}" if package.state else ""
            named = visible(f"{package.name} {package.version}")
            text.append(f"\n    {mark} {named} ({package.manager}, {size}{state})")
        if len(items) > PACKAGE_ROWS:
            text.append(f"\n    ... and {len(items) - PACKAGE_ROWS} more (--json lists them all)")
    return text


def extras_texts(extras: Extras | None, layer_count: int) -> list[Text]:
    """Per layer, what the layer details show of the extras (a placeholder until they are computed)."""
    if extras is None:
        return [Text("Hints and packages: computing...", style="italic")] * max(layer_count, 1)
    hints, layers = extras.hints, extras.packages.layers
    return [layer_extras_text(hints.of_layer(i), layers[i] if i < len(layers) else None) for i in range(layer_count)]


__all__ = ["HintsScreen", "extras_texts", "hint_detail", "hint_line"]
