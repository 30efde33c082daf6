"""The diff view (``divepy diff`` in a terminal) driven by keys, its two-layer row model, and ctrl+p wrapping."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, FileChange, ImageComparison, build_diff_model
from dive_py.model import FileEntry, LayerScan
from dive_py.trees.rows import DiffType, render_rows
from dive_py.trees.tree import FileTree
from dive_py.ui.app import DivepyApp
from dive_py.ui.diff_view import DiffScreen, DivepyDiffApp
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.line_list import LineList
from dive_py.ui.screens import FileViewScreen

SIZE = (120, 40)
WEBAPPS = "/usr/local/tomcat/webapps/"


@pytest.fixture
def in_diff_folder(tomcat_diff: ImageComparison, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tomcat_diff.folder)  # type: ignore[attr-defined]


def name_colour(view: FileTreeView, row: int) -> str | None:
    """The colour the row's name is drawn in (its first non-blank segment after the tree glyphs)."""
    strip = view.render_row(row, 0, 200)
    for segment in strip:
        if segment.text.strip() and segment.text == view.rows.node(row).name:
            return segment.style.color.name if segment.style and segment.style.color else None
    return None


async def test_diff_view_colours_the_added_webapps(tomcat_diff: ImageComparison) -> None:
    app = DivepyDiffApp(tomcat_diff)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        view = app.explorer.tree_view
        assert app.focused is view
        await pilot.press("ctrl+u")  # hide unmodified: what changed
        paths = view.visible_paths()
        types = [view.rows.diff_type(i) for i in range(len(view.rows))]
        assert paths[:4] == ["/usr", "/usr/local", "/usr/local/tomcat", "/usr/local/tomcat/webapps"]
        assert types[:4] == [DiffType.MODIFIED] * 4  # folders holding the changes
        assert all(p.startswith(WEBAPPS) for p in paths[4:]) and set(types[4:]) == {DiffType.ADDED}
        files = [i for i in range(4, len(view.rows)) if not view.rows.node(i).children]
        assert len(files) == 539
        added = view.get_component_rich_style("filetree--added").color
        modified = view.get_component_rich_style("filetree--modified").color
        assert {name_colour(view, i) for i in files} == {added.name}
        assert name_colour(view, 3) == modified.name
        # Each added file names the base file it copies, after its name.
        index = view.rows.row_of(app.explorer.diff.tree.get(WEBAPPS + "ROOT/index.html"))
        text = view.render_row(index, 0, 300).text
        assert text.rstrip().endswith("index.html ← copy of /usr/local/tomcat/webapps.dist/ROOT/index.html")
        assert "539" in str(app.screen.query_one("#diff-figures").render())


@pytest.mark.slow  # about 4 s of key presses
async def test_diff_view_keys_hide_filter_collapse_and_jump(tomcat_diff: ImageComparison, in_diff_folder) -> None:
    app = DivepyDiffApp(tomcat_diff)
    async with app.run_test(size=SIZE) as pilot:
        view = app.explorer.tree_view
        await pilot.pause()
        total = len(view.rows)
        await pilot.press("ctrl+u", "ctrl+a")
        assert view.state.hidden == {DiffType.UNMODIFIED, DiffType.ADDED}
        assert view.visible_paths() == ["/usr", "/usr/local", "/usr/local/tomcat", "/usr/local/tomcat/webapps"]
        await pilot.press("ctrl+a", "ctrl+u", "ctrl+r", "ctrl+n")
        assert view.state.hidden == {DiffType.REMOVED, DiffType.MODIFIED}
        modified = [p for i, p in enumerate(view.visible_paths()) if view.rows.diff_type(i) == DiffType.MODIFIED]
        assert modified == ["/usr", "/usr/local", "/usr/local/tomcat", "/usr/local/tomcat/webapps"]  # hold added
        await pilot.press("ctrl+r", "ctrl+n")
        assert len(view.rows) == total
        await pilot.press("slash", *"webapps/ROOT/ind", "enter")
        assert view.visible_paths()[-1] == WEBAPPS + "ROOT/index.html"
        await pilot.press("ctrl+f", "escape", "ctrl+t")
        assert view.visible_paths() == ["/bin", "/etc", "/home", "/root", "/tmp", "/usr", "/var"]
        await pilot.press("ctrl+t")
        # The summary pane's biggest changes: enter jumps to the path in the tree.
        await pilot.press("tab")
        assert isinstance(app.focused, LineList)
        await pilot.press("enter")
        biggest = app.screen.query_one("#diff-summary").biggest[0].path
        assert app.focused is view and view.cursor_path == biggest
        await pilot.press("enter")  # the file as it is in the new image
        assert isinstance(app.screen, FileViewScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.shown_text and "contents can only be read" not in app.screen.shown_text


async def test_diff_app_loads_in_the_background(tomcat_diff: ImageComparison) -> None:
    app = DivepyDiffApp(load=lambda progress: tomcat_diff, ref="a and b")
    async with app.run_test(size=SIZE) as pilot:
        app.loader.done.wait(30)
        for _ in range(100):
            if app.explorer is not None:
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, DiffScreen) and app.diff.comparison is tomcat_diff
        await pilot.press("q")
    assert app.return_code == 0


def test_moves_removals_and_modifications_as_rows() -> None:
    """The two-layer model colours what the comparison lists; a move shows both ends with notes."""

    def f(path: str, size: int, content: int) -> FileEntry:
        return FileEntry(path, "f", size, 0o644, hash=content)

    def image(*entries: FileEntry) -> SimpleNamespace:
        tree = FileTree()
        tree.apply_layer(0, LayerScan(entries={e.path: e for e in entries}))
        return SimpleNamespace(tree=tree, layers=[None])

    d = FileEntry("a", "d", 0, 0o755)
    base = image(d, f("a/old", 10, 1), f("a/gone", 5, 2), f("a/same", 3, 3), f("a/edit", 4, 4))
    new = image(d, f("a/new", 10, 1), f("a/same", 3, 3), f("a/edit", 6, 5), f("a/fresh", 7, 6))
    comparison = ImageComparison(
        base=base,  # type: ignore[arg-type]
        new=new,  # type: ignore[arg-type]
        shared_layers=0,
        changes=[
            FileChange("/a/edit", Change.MODIFIED, f("a/edit", 4, 4), f("a/edit", 6, 5)),
            FileChange("/a/fresh", Change.ADDED, None, f("a/fresh", 7, 6)),
            FileChange("/a/gone", Change.REMOVED, f("a/gone", 5, 2), None),
            FileChange("/a/new", Change.MOVED, f("a/old", 10, 1), f("a/new", 10, 1), moved_from="/a/old"),
        ],
    )
    diff = build_diff_model(comparison)
    rows = diff.model.visible(diff.state())
    assert render_rows([rows.row(i) for i in range(len(rows))]) == "\n".join(
        [
            "M └── a",
            "M     ├── edit",
            "A     ├── fresh",
            "R     ├── gone",
            "A     ├── new",
            "R     ├── old",
            ".     └── same",
        ]
    )
    notes = {node.path: note.text for node, note in diff.notes.items()}
    assert notes == {"a/new": "← moved from /a/old", "a/old": "→ moved to /a/new"}
    assert all(note.moved for note in diff.notes.values())
    assert diff.change(diff.tree.get("a/new")).change == Change.MOVED


async def test_ctrl_p_wraps_long_names_onto_continuation_lines(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        view = app.explorer.tree_view
        view.focus()
        await pilot.press("ctrl+b")  # no attribute columns: the names get the width
        width = view.size.width
        assert view.line_count == len(view.rows) and view.virtual_size.width > width  # scrolls sideways
        await pilot.press("ctrl+p")
        assert view.wrap and view.virtual_size.width == 0
        assert view.line_count > len(view.rows)
        path = "/usr/local/tomcat/webapps.dist/examples/WEB-INF/classes/compressionFilters/"
        path += "CompressionFilterTestServlet.class"
        assert app.explorer.go_to_path(path)
        await pilot.pause()
        row = view.cursor
        assert view.row_height(row) >= 2
        top = view.line_of(row) - view.scroll_offset.y
        lines = [view.render_line(top + part).text.rstrip() for part in range(view.row_height(row))]
        assert all(len(line) <= width for line in lines)
        assert "".join(line.rsplit(" ", 1)[-1].lstrip("│├└─ ") for line in lines) == path.rsplit("/", 1)[-1]
        assert lines[1].startswith("│   ") and "├" not in lines[1]  # continuation: the glyphs of the levels above
        # Lines map back to rows: a click on a continuation line picks the row, and moving keeps it on screen.
        assert view.row_at(view.line_of(row) + 1) == (row, 1)
        await pilot.press("G")
        last = view.line_of(view.cursor) + view.row_height(view.cursor)
        assert view.scroll_offset.y + view.scrollable_content_region.height >= last
        await pilot.press("ctrl+p")
        assert not view.wrap and view.line_count == len(view.rows)
