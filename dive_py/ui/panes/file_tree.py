"""Provides ``FileTreePane``: the bordered file tree with its input line (filter, search, minimum size)."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.reactive import Reactive, reactive
from textual.widget import Widget
from textual.widgets import Input

from dive_py.errors import ConfigError
from dive_py.format import size as dive_size
from dive_py.safe_text import visible
from dive_py.trees.row_text import Glyphs
from dive_py.trees.tree import Node
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.tree_draw import header_text
from dive_py.ui.panes.tree_lines_view import TreeLinesView
from dive_py.units import parse_bytes

__all__ = ["FileTreePane"]


class TreeHeader(Widget):
    """The column header over the tree (``Permission  UID:GID  Size  Filetree``)."""

    DEFAULT_CSS = "TreeHeader { height: 1; text-style: bold; color: $text-muted; }"

    def __init__(self, view: TreeLinesView) -> None:
        super().__init__(id="tree-header")
        self.view = view
        self._shown = ""
        """The text last painted (:meth:`update` repaints only when it would change)."""

    def render(self) -> str:
        return header_text(self.view.look)

    def update(self) -> None:
        """Repaints when the columns changed (attributes or markers toggled), not on every cursor move: a
        repaint asked for while the tree's own is on its way goes out a frame later (~17-30 ms)."""
        if self.render() != self._shown:
            self.refresh()

    def render_lines(self, crop):  # noqa: ANN001, ANN201
        self._shown = self.render()
        return super().render_lines(crop)


class PaneInput(Input):
    """The input line under the tree: an :class:`Input` whose text changing repaints the line only.

    Input sets its virtual size (the text's width) at each keystroke, a reactive that lays out the whole
    screen again and so repaints every pane (~15 ms of each filter keystroke on the explorer). The line is
    of fixed size and scrolls its text itself (from the virtual size, read when needed): no layout is due.
    """

    virtual_size = Reactive(Size(0, 0), repaint=True, layout=False)


class FileTreePane(Vertical):
    """The bordered file tree, with the filter/search line under it."""

    BINDINGS = [
        Binding("escape", "close_input", "Close the input line, or clear a kept filter", show=False),
    ]

    mode: reactive[str] = reactive("")
    """What the input line is for: ``"filter"``, ``"search"``, ``"size"`` or ``""`` (closed)."""

    def __init__(self, view: FileTreeView, title: str | None = None) -> None:
        super().__init__(id="tree-pane")
        self.view = view
        self.title = title
        """The border title; None names the compare mode (the explorer's)."""
        self._shown: tuple[str | None, str | None] = (None, None)
        """The title and subtitle last set (the border getters give them back as markup)."""
        self.search_matches: list[Node] = []
        self.search_index = 0

    def compose(self):  # noqa: ANN201
        yield TreeHeader(self.view)
        yield self.view
        yield PaneInput(id="tree-input")

    def on_mount(self) -> None:
        self.query_one(Input).display = False
        self.update_title()

    def update_title(self) -> None:
        state = self.view.state
        mode = "aggregated" if state.aggregated else "layer"
        title = self.title or f"Current Layer Contents ({mode} changes)"
        # Content, never a str (Textual reads a str as markup): the diff's title names the images, the
        # subtitle the typed filter.
        if title != self._shown[0]:
            self.border_title = Content(visible(title))
            self._shown = (title, self._shown[1])
        notes = []
        if state.hidden:
            notes.append("hidden: " + " ".join(d.name.lower() for d in sorted(state.hidden)))
        if state.only_changes:
            notes.append("only changes")
        if state.min_size:
            notes.append(f"{self.glyphs.at_least} {dive_size(state.min_size)}")
        if state.filter:
            notes.append(f"filter: {state.filter}" + (" (invalid)" if self.view.filter_error else ""))
        notes.append("sort: size" if state.sort_by_size else "sort: name")
        notes.append(f"{len(self.view.rows):,} rows")
        subtitle = self.glyphs.separator.join(notes)
        if subtitle != self._shown[1]:  # setting it repaints the whole pane
            self.border_subtitle = Content(visible(subtitle))
            self._shown = (self._shown[0], subtitle)
        if self.is_mounted:
            self.query_one(TreeHeader).update()  # attributes or markers may have been toggled

    def input_hint(self) -> str | None:
        """What typing does in the open input line (the footer shows it while the line has focus)."""
        hint = {
            "filter": ("typing filters paths by regex", "enter keeps", "esc or ^f clears"),
            "search": ("typing finds a path fragment", "enter next match", "esc closes"),
            "size": ("type a size (1MB, 500k, 0 for all)", "enter applies", "esc closes"),
        }.get(self.mode)
        return self.glyphs.separator.join(hint) if hint else None

    @property
    def glyphs(self) -> Glyphs:
        """The tree's drawing characters (ASCII in a C locale), which the subtitle and the hints follow."""
        return self.view.look.glyphs

    def toggle_filter(self) -> None:
        """Opens the filter line (from any pane); when it is open, closes and clears it, as dive does (enter
        keeps it)."""
        if self.mode == "filter":
            self.action_close_input()
        else:
            self.open_input("filter", self.view.state.filter)

    # Search and the size filter are the pane's; opening and extracting a file go on to the screen.
    def on_file_tree_view_search_opened(self, event: FileTreeView.SearchOpened) -> None:
        event.stop()
        self.open_input("search")

    def on_file_tree_view_size_filter_opened(self, event: FileTreeView.SizeFilterOpened) -> None:
        event.stop()
        self.open_input("size", str(self.view.state.min_size or ""))

    def on_file_tree_view_next_match_chosen(self, event: FileTreeView.NextMatchChosen) -> None:
        event.stop()
        self.step_match(1)

    def on_file_tree_view_previous_match_chosen(self, event: FileTreeView.PreviousMatchChosen) -> None:
        event.stop()
        self.step_match(-1)

    def on_tree_lines_view_cursor_moved(self, event: TreeLinesView.CursorMoved) -> None:
        self.update_title()

    def open_input(self, mode: str, value: str = "") -> None:
        if mode == "filter":
            self.view.model.prepare_filter()  # the path list and name index now, not at the first keystroke
        elif mode == "search":
            self.view.model.paths()
        field = self.query_one(Input)
        field.placeholder = {
            "filter": "regex on the full path (esc closes and clears, enter keeps)",
            "search": "path fragment (enter: next match, esc: close)",
            "size": "only files of at least N bytes: 1MB, 500k, 0 for all",
        }[mode]
        field.border_title = mode
        field.border_subtitle = ""  # not the last search's count
        self.search_matches = []
        self.mode = mode
        field.value = value
        field.display = True
        field.focus()

    def action_close_input(self) -> None:
        """esc: closes the filter and clears it (or clears a kept filter, from the tree); closes the search."""
        if self.mode in ("filter", "") and self.view.state.filter:
            self.view.state.filter = ""
            self.view.filter_error = None
            self.view.rebuild()
        self.close_input()

    def close_input(self) -> None:
        field = self.query_one(Input)
        self.mode = ""
        field.display = False
        field.remove_class("invalid")
        self.view.focus()
        self.update_title()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.view.state.filter = event.value
            error = self.view.state.filter_error()
            self.view.filter_error = error
            event.input.set_class(error is not None, "invalid")
            event.input.border_subtitle = Content(visible(error or ""))  # it quotes the typed pattern
            if error is None:
                self.view.rebuild()
            self.update_title()
        elif self.mode == "search":
            self.find(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.mode == "search":
            self.step_match(1)
            return
        if self.mode == "size":
            try:
                size = parse_bytes(event.value)  # the sizes the CI rules take: 1.5MB, 20MiB, 32025
            except ConfigError:
                event.input.border_subtitle = "not a size"
                return
            self.view.state.min_size = size
            self.view.rebuild()
        self.close_input()

    # -- search -------------------------------------------------------------
    def find(self, fragment: str) -> None:
        """Finds the paths containing ``fragment`` that are shown at this layer, and jumps to the first."""
        self.search_matches = []
        self.search_index = 0
        if not fragment:
            return
        model, state = self.view.model, self.view.state
        codes = model.codes(state.layer, state.aggregated)
        needle = fragment.lower()
        nodes = model.order.nodes
        self.search_matches = [
            nodes[pos] for pos, path in enumerate(model.paths()) if codes[pos] and needle in path.lower()
        ]
        field = self.query_one(Input)
        count = len(self.search_matches)
        field.border_subtitle = f"{count} match" if count == 1 else f"{count} matches"
        if self.search_matches:
            self.view.expand_to(self.search_matches[0])

    def step_match(self, step: int) -> None:
        if not self.search_matches:
            return
        self.search_index = (self.search_index + step) % len(self.search_matches)
        row = self.view.expand_to(self.search_matches[self.search_index])
        field = self.query_one(Input)
        note = "" if row is not None else " (hidden by a filter)"
        field.border_subtitle = f"{self.search_index + 1}/{len(self.search_matches)}{note}"
