"""Provides the diff view: the explorer's file tree over a comparison of two images, with a summary pane.

Everything about the comparison comes from :mod:`dive_py.analysis.compare` (figures, changes, moves and copies)
and :mod:`dive_py.trees.diff_rows` (its two-layer tree); this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import ImageComparison, build_diff_model
from dive_py.contents.reader import ContentReader, ExtractResult
from dive_py.format import counted, signed
from dive_py.format import size as dive_size
from dive_py.model import ProgressCallback
from dive_py.reports.diff_summary import CHANGE_MARKS, biggest_first, summarize
from dive_py.safe_text import visible
from dive_py.trees.diff_rows import DiffModel
from dive_py.trees.tree import Node
from dive_py.trees.view_state import DiffType
from dive_py.ui.app import VIEW_BINDINGS, ViewerApp, help_sections
from dive_py.ui.config import UiConfig
from dive_py.ui.key_bar import KeyBar
from dive_py.ui.loading import BackgroundLoad
from dive_py.ui.panes.file_tree import FileTreePane
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.line_list import LineList
from dive_py.ui.screens import ExtractScreen, FileViewScreen, HelpScreen, default_extract_folder


def summary_text(c: ImageComparison) -> Text:
    """Both images, shared layers, counts and bytes per kind of change, size change per top-level folder."""
    summary = summarize(c)
    text = Text()
    for label, analysis in (("Base: ", c.base), ("New:  ", c.new)):
        image = analysis.image
        text.append(label, style="bold")
        text.append(f"{visible(image.name)}  ({len(image.layers)} layers, {dive_size(analysis.size_bytes)})\n")
    text.append("Shared layers: ", style="bold")
    text.append(f"{c.shared_layers} of {len(c.base.layers)} / {len(c.new.layers)}\n\n")
    text.append("Files and links\n", style="bold underline")
    for row in summary.changes:
        figure = "" if row.delta_bytes is None else signed(row.delta_bytes, dive_size)
        text.append(f"  {row.mark} {row.change.value:<9}", style=row.style)
        text.append(f"{row.count:>7,}  {figure:>10}\n")
    if summary.copies:
        copies = f"{counted(summary.copies, 'added file is a copy', 'added files are copies')} of base files"
        text.append(f"  ({copies})\n", style="dim")
    text.append("Final file system ", style="bold")
    text.append(signed(c.size_delta_bytes, dive_size) + " · ")
    text.append("image size ", style="bold")
    text.append(signed(c.image_size_delta_bytes, dive_size) + "\n")
    if summary.folders:
        text.append("\nSize by top-level folder\n", style="bold underline")
        for folder in summary.folders:
            sizes = f"{dive_size(folder.base_size_bytes):>9} → {dive_size(folder.size_bytes):>9}"
            text.append(f"  {visible(folder.path):<14} {sizes}")
            style = "green" if folder.delta_bytes > 0 else "red"
            text.append(f"  {signed(folder.delta_bytes, dive_size)}\n", style=style)
    return text


class DiffSummaryPane(Vertical):
    """The comparison's figures, and its biggest changes (``enter`` jumps to the path in the tree)."""

    class PathChosen(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, comparison: ImageComparison) -> None:
        super().__init__(id="diff-summary")
        self.comparison = comparison
        self.border_title = "Comparison"
        self.biggest = biggest_first(comparison.files)

    def compose(self) -> ComposeResult:
        yield Static(summary_text(self.comparison), id="diff-figures")
        items = self.biggest

        def line(i: int) -> str:
            item = items[i]
            mark = CHANGE_MARKS[item.change][0]
            return f"{mark} {item.change.value:<8} {signed(item.delta_bytes, dive_size):>10}  {item.path}"

        yield LineList(f"  {'Change':<8} {'Delta':>10}  Path (biggest first)", len(items), line, id="diff-biggest")

    def on_line_list_chosen(self, event: LineList.Chosen) -> None:
        event.stop()
        self.post_message(self.PathChosen(self.biggest[event.index].path))


class DiffScreen(Screen):
    """The summary pane and the file tree of the comparison, with the explorer's keys."""

    AUTO_FOCUS = "#tree"
    BINDINGS: ClassVar[list[BindingType]] = list(VIEW_BINDINGS)

    def __init__(self, diff: DiffModel, config: UiConfig) -> None:
        super().__init__(id="diff")
        self.diff = diff
        self.comparison = diff.comparison
        state = diff.state(collapse_all=config.collapse_dirs, hidden=set(config.hidden))
        notes = {node: (note.text, "filetree--moved" if note.moved else None) for node, note in diff.notes.items()}
        self.tree_view = FileTreeView(diff.model, state, show_attributes=config.show_attributes, notes=notes, id="tree")
        base, new = self.comparison.base.image.name, self.comparison.new.image.name
        self.tree_pane = FileTreePane(self.tree_view, title=f"Changes from {base} to {new}")
        self.readers = {id(a): ContentReader(a.image) for a in (self.comparison.base, self.comparison.new)}

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield DiffSummaryPane(self.comparison)
            yield self.tree_pane
        yield KeyBar()

    def toggle_view(self) -> None:
        """Tab: the summary's list of changes and the file tree, back and forth."""
        if self.tree_pane.has_focus_within:
            self.query_one("#diff-biggest").focus()
        else:
            self.tree_view.focus()

    def on_diff_summary_pane_path_chosen(self, event: DiffSummaryPane.PathChosen) -> None:
        self.go_to_path(event.path)

    def go_to_path(self, path: str) -> bool:
        """Moves the tree cursor to ``path`` (opening folders); False if it is filtered out."""
        node = self.diff.tree.get(path)
        row = self.tree_view.expand_to(node) if node is not None else None
        if row is None:
            self.notify(f"{visible(path)} is not shown or is filtered out", severity="warning", markup=False)
            return False
        self.tree_view.focus()
        return True

    def side_of(self, node: Node) -> tuple[Analysis, Node | None]:
        """The image whose version a row shows (the base for a removed path) and that image's node."""
        row = self.tree_view.rows.row_of(node)
        removed = row is not None and self.tree_view.rows.diff_type(row) == DiffType.REMOVED
        analysis = self.comparison.base if removed else self.comparison.new
        return analysis, analysis.tree.get(node.path)

    def on_file_tree_view_file_opened(self, event: FileTreeView.FileOpened) -> None:
        node = event.node
        analysis, side_node = self.side_of(node)
        if side_node is None:
            return
        top = len(analysis.layers) - 1
        if node.children and (entry := side_node.state(top)) is not None and entry.is_dir:
            self.tree_view.action_toggle_collapse()
        else:
            self.app.push_screen(FileViewScreen(self.readers[id(analysis)], analysis.tree, side_node, top))

    def on_file_tree_view_extract_chosen(self, event: FileTreeView.ExtractChosen) -> None:
        analysis, side_node = self.side_of(event.node)
        if side_node is None:
            return
        top = len(analysis.layers) - 1
        screen = ExtractScreen(self.readers[id(analysis)], analysis.tree, side_node, top, default_extract_folder())
        self.app.push_screen(screen, self._extracted)

    def _extracted(self, result: ExtractResult | None) -> None:
        if result is not None:
            skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
            message = visible(f"extracted {counted(len(result.written), 'path')} to {result.root}{skipped}")
            self.notify(message, markup=False)


class DivepyDiffApp(ViewerApp[ImageComparison, DiffModel]):
    """The diff view. Give it a finished ``comparison`` (tests, screenshots) or a ``load`` returning one (the CLI)."""

    TITLE = "divepy diff"

    def __init__(
        self,
        comparison: ImageComparison | None = None,
        *,
        load: Callable[[ProgressCallback], ImageComparison] | BackgroundLoad | None = None,
        ref: str = "",
        config: UiConfig | None = None,
    ) -> None:
        if load is not None and not isinstance(load, BackgroundLoad):
            load = BackgroundLoad(load, build_diff_model)
        super().__init__(load=load, ref=ref, config=config)
        self.comparison = comparison
        self.diff: DiffModel | None = None

    def _given(self) -> tuple[ImageComparison, DiffModel] | None:
        return (self.comparison, build_diff_model(self.comparison)) if self.comparison is not None else None

    def _show_explorer(self, comparison: ImageComparison, diff: DiffModel) -> None:
        self.comparison = comparison
        self.diff = diff
        self._show_screen(DiffScreen(diff, self.config))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        sections = [s for s in help_sections() if s[0] != "Layers"]
        sections.insert(
            1,
            (
                "Diff view",
                [
                    ("colours", "Green added, red removed, yellow modified, cyan moved (← from, → to)"),
                    ("← copy of", "An added file whose content is already in the base image"),
                    ("tab", "Summary pane: enter on a change jumps to its path"),
                ],
            ),
        )
        self.push_screen(HelpScreen(sections))


__all__ = ["DiffScreen", "DiffSummaryPane", "DivepyDiffApp", "summary_text"]
