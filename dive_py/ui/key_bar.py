"""Provides ``KeyBar``: the footer that fits. Tab and the filter first, then the focused pane's keys in the
order they are declared (the order of use), help and quit last; it wraps onto more lines rather than cut a key.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

FIRST = ("app.toggle_view", "filter", "hints")
"""Actions shown before the pane's keys, whatever pane has focus (as dive's ``Tab`` and ``^F``; then divepy's
hints, which a screen binds and would otherwise be the first to give way)."""
GAP = " "
MAX_LINES = 2
"""Lines the bar may take; the pane's later keys give way beyond them."""


class KeyBar(Widget):
    """Every shown key of the focused pane, wrapped to the screen's width; what typing does in an input line."""

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--hint"}
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $panel; color: $text; }
    KeyBar > .key-bar--key { color: $accent; text-style: bold; }
    KeyBar > .key-bar--hint { text-style: italic; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen) -> None:
        self.refresh(layout=True)

    def items(self) -> list[tuple[str, str]]:
        """(key as shown, description) in the bar's order, one per action."""
        first: dict[str, tuple[str, str]] = {}
        by_node: dict[int, list[tuple[str, str]]] = {}
        last: list[tuple[str, str]] = []
        seen: set[str] = set()
        # The chain runs from the app to the focused widget, one entry per key, each node's keys in the
        # order declared: the focused widget's keys lead, in their order; an action shows its first key.
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            item = (key_display(self.app, binding), binding.description)
            if binding.action in FIRST:
                first[binding.action] = item
            elif isinstance(node, App):
                last.append(item)
            else:
                by_node.setdefault(id(node), []).append(item)
        pane = [item for items in reversed(by_node.values()) for item in items]
        return [first[action] for action in FIRST if action in first] + pane + last

    def hint(self) -> str | None:
        """What typing does, while an input line has focus (the pane that owns it says)."""
        focused = self.app.focused
        ask = getattr(focused.parent, "input_hint", None) if focused is not None else None
        return ask() if ask is not None else None

    def lines(self, width: int) -> list[Text]:
        """The bar laid out in lines of ``width`` cells: whole keys only, never cut.

        It wraps onto a second line; past that, the pane's least used keys give way (``?`` lists them all).
        """
        hint = self.hint()
        items = self.items()
        first = len([a for a in FIRST if a in {b.action for _, b, _, _ in self.screen.active_bindings.values()}])
        app_items = [item for item in items[first:] if item[0] in ("q", "?")]
        pane = [item for item in items[first:] if item not in app_items]
        while True:
            lines = self._layout(hint, items[:first] + pane + app_items, width)
            if len(lines) <= MAX_LINES or not pane:
                return lines
            pane.pop()

    def _layout(self, hint: str | None, items: list[tuple[str, str]], width: int) -> list[Text]:
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        pieces = []
        if hint:
            pieces.append(Text(hint, style=self.get_component_rich_style("key-bar--hint", partial=True)))
        for key, description in items:
            piece = Text(" ")
            piece.append(key, style=key_style)
            piece.append(" " + description)
            pieces.append(piece)
        lines: list[Text] = [Text()]
        for piece in pieces:
            line = lines[-1]
            if line.cell_len and line.cell_len + len(GAP) + piece.cell_len > width:
                lines.append(Text())
                line = lines[-1]
            if line.cell_len:
                line.append(GAP)
            line.append_text(piece)
        return lines

    def render(self) -> Text:
        return Text("\n").join(self.lines(self.size.width or 80))

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        return len(self.lines(width))


KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "ctrl+underscore": "^_",
    "ctrl+@": "^@",
    "enter": "enter",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def key_display(app: App, binding: Binding) -> str:
    """The binding's first key as the footer shows it (``^f``, ``tab``, ``?``)."""
    first = binding.key.split(",")[0].strip()
    if first in KEY_NAMES:
        return KEY_NAMES[first]
    return app.get_key_display(Binding(first, binding.action, binding.description, key_display=binding.key_display))
