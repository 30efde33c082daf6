"""Provides ``FileTreeView``: the file tree's keys (folders, hidden diff types, sort, wrap) and its styles."""

from __future__ import annotations

from typing import TypeGuard

from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message

from dive_py.trees.tree import Node
from dive_py.trees.view_state import DiffType
from dive_py.ui.panes.tree_lines_view import TreeLinesView


class FileTreeView(TreeLinesView, can_focus=True):
    """The stacked file system at the selected layer: its keys, its colours and the requests it posts."""

    COMPONENT_CLASSES = {
        "filetree--added",
        "filetree--removed",
        "filetree--modified",
        "filetree--unmodified",
        "filetree--cursor",
        "filetree--attributes",
        "filetree--moved",
        "filetree--note",
    }
    DEFAULT_CSS = """
    FileTreeView { background: $surface; }
    FileTreeView > .filetree--added { color: $success; }
    FileTreeView > .filetree--removed { color: $error; }
    FileTreeView > .filetree--modified { color: $warning; }
    FileTreeView > .filetree--unmodified { }
    FileTreeView > .filetree--attributes { color: $text-muted; }
    FileTreeView > .filetree--moved { color: $accent; }
    FileTreeView > .filetree--note { color: $text-muted; text-style: italic; }
    FileTreeView > .filetree--cursor { background: $primary 40%; }
    FileTreeView:focus > .filetree--cursor { background: $primary; color: $text; text-style: bold; }
    FileTreeView:ansi > .filetree--added { color: ansi_green; }
    FileTreeView:ansi > .filetree--removed { color: ansi_red; }
    FileTreeView:ansi > .filetree--modified { color: ansi_yellow; }
    FileTreeView:ansi > .filetree--moved { color: ansi_cyan; }
    """
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,u", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown,d", "page_down", "Page down", show=False, id="page-down"),
        Binding("home,g", "cursor_home", "Top", show=False),
        Binding("end,G", "cursor_end", "Bottom", show=False),
        Binding("left,h", "parent", "Parent folder", show=False),
        Binding("right,l", "step_in", "Open folder and step in", show=False),
        # In order of use: the footer shows them so.
        Binding("enter", "view_file", "View", id="view-file"),
        Binding("space", "toggle_collapse", "Collapse", id="toggle-collapse-dir"),
        Binding("ctrl+space,ctrl+@,ctrl+t", "toggle_collapse_all", "Collapse all", id="toggle-collapse-all-dir"),
        Binding("s", "search", "Search", id="search"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("o", "toggle_only_changes", "Only changes", id="only-changes"),
        Binding("ctrl+a", "toggle_added", "Added", id="toggle-added-files"),
        Binding("ctrl+r", "toggle_removed", "Removed", id="toggle-removed-files"),
        Binding("ctrl+n", "toggle_modified", "Modified", id="toggle-modified-files"),
        Binding("ctrl+u", "toggle_unmodified", "Unmodified", id="toggle-unmodified-files"),
        Binding("ctrl+b", "toggle_attributes", "Attributes", id="toggle-filetree-attributes"),
        Binding("ctrl+o", "sort_by_size", "Sort: name", id="toggle-sort-order"),
        Binding("ctrl+o", "sort_by_name", "Sort: size", id="toggle-sort-order-size"),
        Binding("m", "size_filter", "Min size", id="size-filter"),
        Binding("x,ctrl+e", "extract", "Extract", id="extract-file"),
        Binding("c", "toggle_markers", "Marks", id="toggle-change-markers"),
        Binding("ctrl+p", "toggle_wrap", "Wrap", id="toggle-wrap-tree"),
    ]

    class FileOpened(Message):
        """Enter on a path: the screen shows the file (or opens or closes the folder)."""

        def __init__(self, node: Node) -> None:
            super().__init__()
            self.node = node

    class ExtractChosen(Message):
        """The user chose to extract the path under the cursor; the screen asks where to."""

        def __init__(self, node: Node) -> None:
            super().__init__()
            self.node = node

    # The pane carries these out on its input line; they name no path.
    class SearchOpened(Message):
        """The user opened the search line."""

    class SizeFilterOpened(Message):
        """The user opened the minimum size prompt."""

    class NextMatchChosen(Message):
        """The user asked for the next search match."""

    class PreviousMatchChosen(Message):
        """The user asked for the previous search match."""

    # -- mouse --------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        row, _part = self.row_at(self.scroll_offset.y + event.y)
        if 0 <= row < len(self.rows):
            if row == self.cursor and event.chain >= 2:
                self.action_toggle_collapse()
            self.move_cursor(row)

    # -- folders ------------------------------------------------------------
    def _is_folder(self, node: Node | None) -> TypeGuard[Node]:
        return node is not None and bool(node.children)

    def action_toggle_collapse(self) -> None:
        node = self.cursor_node
        if self._is_folder(node):
            self.state.set_collapsed(node.path, not self.state.is_collapsed(node.path))
            self.rebuild(node)

    def action_parent(self) -> None:
        """h / left, as dive: the cursor goes to the parent folder, which stays open (space closes it)."""
        node = self.cursor_node
        if node is not None and node.parent is not None and node.parent.name:
            row = self.rows.row_of(node.parent)
            if row is not None:
                self.move_cursor(row)

    def action_step_in(self) -> None:
        """l / right, as dive: a closed folder opens, and the cursor steps onto the folder's first row."""
        node = self.cursor_node
        if not self._is_folder(node):
            return
        if self.state.is_collapsed(node.path):
            self.state.set_collapsed(node.path, False)
            self.rebuild(node)
        if self.cursor + 1 < len(self.rows) and self.rows.node(self.cursor + 1).parent is node:
            self.move_cursor(self.cursor + 1)

    def action_toggle_collapse_all(self) -> None:
        self.state.collapse_all = not self.state.collapse_all
        self.state.toggled.clear()
        node = self.cursor_node
        while self.state.collapse_all and node is not None and node.parent is not None and node.parent.name:
            node = node.parent  # the top-level folder stays visible
        self.rebuild(node)

    def expand_to(self, node: Node) -> int | None:
        """Opens the folders above ``node`` and moves the cursor to it; the row, or None if it is filtered out."""
        parent = node.parent
        while parent is not None and parent.name:
            self.state.set_collapsed(parent.path, False)
            parent = parent.parent
        self.rebuild(node)
        row = self.rows.row_of(node)
        if row is not None:
            self.cursor = row
            region = Region(0, self.line_of(row), 1, self.row_height(row))
            self.scroll_to_region(region, animate=False, force=True, immediate=True, center=True)
        return row

    # -- view options -------------------------------------------------------
    def _toggle_hidden(self, diff: DiffType) -> None:
        self.state.hidden ^= {diff}
        self.rebuild()
        self.post_message(self.CursorMoved(self.cursor_node))

    def action_toggle_added(self) -> None:
        self._toggle_hidden(DiffType.ADDED)

    def action_toggle_removed(self) -> None:
        self._toggle_hidden(DiffType.REMOVED)

    def action_toggle_modified(self) -> None:
        self._toggle_hidden(DiffType.MODIFIED)

    def action_toggle_unmodified(self) -> None:
        self._toggle_hidden(DiffType.UNMODIFIED)

    def action_toggle_only_changes(self) -> None:
        self.state.only_changes = not self.state.only_changes
        self.rebuild()
        self.post_message(self.CursorMoved(self.cursor_node))

    def action_toggle_attributes(self) -> None:
        self.show_attributes = self.attributes_wanted = not self.show_attributes
        self.rebuild()

    def action_toggle_markers(self) -> None:
        self.markers = not self.markers
        self.rebuild()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.scroll_to(x=0, animate=False, immediate=True)
        self.rebuild()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """One ctrl+o binding at a time, so the footer names the current sort order."""
        if action == "sort_by_size":
            return not self.state.sort_by_size
        if action == "sort_by_name":
            return self.state.sort_by_size
        return True

    def action_sort_by_size(self) -> None:
        self._set_sort(True)

    def action_sort_by_name(self) -> None:
        self._set_sort(False)

    def _set_sort(self, by_size: bool) -> None:
        self.state.sort_by_size = by_size
        self.rebuild()
        self.move_cursor(0)  # as dive: the top, where the largest entries now are
        self.refresh_bindings()
        self.post_message(self.CursorMoved(self.cursor_node))

    # -- requests the pane or the screen carries out ----------------------------
    def action_view_file(self) -> None:
        node = self.cursor_node
        if node is not None:
            self.post_message(self.FileOpened(node))

    def action_extract(self) -> None:
        node = self.cursor_node
        if node is not None:
            self.post_message(self.ExtractChosen(node))

    def action_search(self) -> None:
        self.post_message(self.SearchOpened())

    def action_size_filter(self) -> None:
        self.post_message(self.SizeFilterOpened())

    def action_next_match(self) -> None:
        self.post_message(self.NextMatchChosen())

    def action_previous_match(self) -> None:
        self.post_message(self.PreviousMatchChosen())

    cursor_to_first_change = False
    """On arriving at another layer in layer-changes mode, move the cursor to the layer's first change
    (unless it is on a change already), so the changes are on screen."""

    def set_view(self, layer: int, aggregated: bool) -> None:
        """Shows another layer or compare mode; the cursor stays on its path when it is still shown."""
        if (layer, aggregated) != (self.state.layer, self.state.aggregated):
            arrived = layer != self.state.layer
            self.state.layer = layer
            self.state.aggregated = aggregated
            self.rebuild()
            if arrived and not aggregated and self.cursor_to_first_change:
                self._show_first_change()
            self.post_message(self.CursorMoved(self.cursor_node))

    def _show_first_change(self) -> None:
        node = self.cursor_node
        if node is not None and self.model.changed_by(node, self.state.layer):
            return
        first = self.model.first_change(self.state.layer)
        row = self.rows.nearest_row(first)
        if row is not None and row != self.cursor:
            self.cursor = row
            top = max(self.line_of(row) - 1, 0)  # the change near the top, what follows it below
            self.scroll_to(y=top, animate=False, force=True, immediate=True)
