"""Provides ``KeyBar``: the footer that fits. Tab and the filter first, then the focused pane's keys in the
order they are declared (the order of use), help and quit last; it abbreviates, then wraps onto more lines,
rather than cut or drop a key. Each screen has its own (a modal screen's shows its keys alone).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

FIRST = ("app.toggle_view", "filter", "hints")
"""Actions shown before the pane's keys, whatever pane has focus (as dive's ``Tab`` and ``^F``; then divepy's
hints, which a screen binds and would otherwise be the first to give way)."""
GAP = " "
ABBREVIATE_PAST = 2
"""Lines past which the bar tries the short descriptions."""
SHORT = {
    "Switch view": "Switch",
    "Layer changes": "Layer",
    "Aggregated": "All",
    "Collapse": "Fold",
    "Collapse all": "Fold all",
    "Only changes": "Changes",
    "Modified": "Mod",
    "Unmodified": "Unmod",
    "Attributes": "Attrs",
    "Sort: name": "Sort",
    "Sort: size": "Sort",
    "Min size": "Min",
    "Next page": "Next",
    "Previous page": "Prev",
    "Go to path": "Go",
}
"""The short form of a description, for a bar that would take more than two lines."""


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
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)
        self.app.screen_change_signal.unsubscribe(self)

    def _screen_changed(self, screen: Screen) -> None:
        # Under a modal screen the bar would show through beside the modal's own: that screen's keys only.
        self.display = screen is self.screen

    def _bindings_changed(self, _screen: Screen) -> None:
        self.refresh(layout=True)

    def items(self) -> list[tuple[str, str]]:
        """(key as shown, description) in the bar's order, one per action."""
        first: dict[str, tuple[str, str]] = {}
        by_node: dict[int, list[tuple[str, str]]] = {}
        last: list[tuple[str, str]] = []
        seen: set[str] = set()
        quit_keys: list[tuple[bool, tuple[str, str]]] = []
        # The chain runs from the app to the focused widget, one entry per key, each node's keys in the
        # order declared: the focused widget's keys lead, in their order; an action shows its first key.
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action in ("quit", "app.quit") and enabled and not self.screen.is_modal:
                quit_keys.append((isinstance(node, App), (key_display(self.app, binding), binding.description)))
            if not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            if isinstance(node, App) and self.screen.is_modal and binding.action != "quit":
                continue  # a modal screen's keys are its own (the filter or help do nothing useful there)
            item = (key_display(self.app, binding), binding.description)
            if binding.action in FIRST:
                first[binding.action] = item
            elif isinstance(node, App):
                last.append(item)
            else:
                by_node.setdefault(id(node), []).append(item)
        if "quit" not in seen and quit_keys:  # a config left quit only on a hidden key (ctrl+c): name it
            # The screen's (ctrl+c) before the app's (Textual's own ctrl+q, which quits too).
            last.insert(0, min(quit_keys, key=lambda found: found[0])[1])
        pane = [item for items in reversed(by_node.values()) for item in items]
        return [first[action] for action in FIRST if action in first] + pane + last

    def hint(self) -> str | None:
        """What typing does, while an input line has focus (the pane that owns it says)."""
        focused = self.screen.focused
        if focused is None or not isinstance(focused, Input):
            return None
        ask = getattr(focused.parent, "input_hint", None) or getattr(self.screen, "input_hint", None)
        return ask() if ask is not None else None

    def lines(self, width: int) -> list[Text]:
        """The bar laid out in lines of ``width`` cells: every key, whole, never cut or dropped.

        Past two lines the descriptions take their short forms (``Collapse all`` -> ``Fold all``), where that
        saves a line; then the bar wraps onto as many lines as it needs.
        """
        hint, items = self.hint(), self.items()
        lines = self._layout(hint, items, width)
        if len(lines) > ABBREVIATE_PAST:
            short = self._layout(hint, [(key, SHORT.get(text, text)) for key, text in items], width)
            if len(short) < len(lines):
                return short
        return lines

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
