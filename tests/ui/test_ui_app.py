"""Drives the explorer with keys (Pilot) and asserts its state: layer, cursor, rows, hidden types, filter, extract."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.from_reference import load_analysis
from dive_py.errors import DivepyError
from dive_py.load.options import LoadOptions
from dive_py.trees.rows import DiffType
from dive_py.ui.app import DivepyApp
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.layers import LayersPane
from dive_py.ui.screens import ExtractScreen, FileViewScreen, HelpScreen
from tests.fixtures.paths import EXAMPLE
from tests.fixtures.stand_ins import built

TOMCAT = EXAMPLE
SIZE = (120, 40)


@pytest.fixture(scope="module")
def dive_image() -> Analysis:
    return load_analysis(str(built("test-docker-image.tar")))  # dive's test image, built in code


def tree_of(app: DivepyApp) -> FileTreeView:
    return app.explorer.tree_view


async def focus_tree(app: DivepyApp, pilot) -> FileTreeView:  # noqa: ANN001
    view = tree_of(app)
    while app.focused is not view:
        await pilot.press("tab")
    return view


async def test_starts_on_the_layers_pane_with_the_first_layer(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, LayersPane)
        view = tree_of(app)
        assert view.state.layer == 0
        assert view.cursor_path == "/bin"
        assert {view.rows.diff_type(i) for i in range(len(view.rows))} == {DiffType.ADDED}


async def test_commit_layer_shows_webapps_added(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "down", "j")
        view = tree_of(app)
        assert view.state.layer == 4
        row = view.rows.row_of(tomcat.tree.get("usr/local/tomcat/webapps/ROOT/index.html"))
        assert row is not None and view.rows.diff_type(row) == DiffType.ADDED
        webapps = view.rows.row_of(tomcat.tree.get("usr/local/tomcat/webapps"))
        assert view.rows.diff_type(webapps) == DiffType.MODIFIED  # the folder existed; its contents are new
        await pilot.press("k")
        assert view.state.layer == 3


async def test_compare_mode_keys_in_the_layers_pane(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "ctrl+a")
        view = tree_of(app)
        assert (view.state.layer, view.state.aggregated) == (4, True)
        passwd = view.rows.row_of(tomcat.tree.get("etc/passwd"))
        assert view.rows.diff_type(passwd) == DiffType.MODIFIED  # changed in layer 4, compared with layer 1
        await pilot.press("ctrl+l")
        assert not view.state.aggregated
        assert view.rows.diff_type(view.rows.row_of(tomcat.tree.get("etc/passwd"))) == DiffType.UNMODIFIED


async def test_tree_navigation_collapse_and_expand(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        view = await focus_tree(app, pilot)
        assert view.cursor_path == "/bin"
        await pilot.press("space")
        assert view.state.is_collapsed("bin")
        assert view.visible_paths()[:2] == ["/bin", "/etc"]
        await pilot.press("right", "right")
        assert view.cursor_path == "/bin/["
        await pilot.press("left")
        assert view.cursor_path == "/bin"
        await pilot.press("ctrl+t")
        assert view.visible_paths() == ["/bin", "/etc", "/home", "/root", "/tmp", "/usr", "/var"]
        await pilot.press("ctrl+t", "G")
        assert view.cursor == len(view.rows) - 1
        await pilot.press("g", "j", "down")
        assert view.cursor == 2


async def test_hide_diff_types(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        view = await focus_tree(app, pilot)
        await pilot.press("ctrl+u")
        assert view.state.hidden == {DiffType.UNMODIFIED}
        types = {view.rows.diff_type(i) for i in range(len(view.rows))}
        assert types == {DiffType.ADDED, DiffType.MODIFIED}
        assert "/bin" not in view.visible_paths()
        await pilot.press("ctrl+a")
        assert view.visible_paths()[-1] == "/usr/local/tomcat/webapps"  # folders holding changes stay
        assert {view.rows.diff_type(i) for i in range(len(view.rows))} == {DiffType.MODIFIED}
        await pilot.press("ctrl+a", "ctrl+u", "ctrl+n", "ctrl+r")
        assert view.state.hidden == {DiffType.MODIFIED, DiffType.REMOVED}
        assert "/usr/local/tomcat/webapps/ROOT/index.html" in view.visible_paths()


async def test_filter_is_live_and_survives_bad_regex(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        view = await focus_tree(app, pilot)
        await pilot.press("slash", *"s/ROOT/ind")
        paths = view.visible_paths()
        assert paths == [
            "/usr",
            "/usr/local",
            "/usr/local/tomcat",
            "/usr/local/tomcat/webapps",
            "/usr/local/tomcat/webapps/ROOT",
            "/usr/local/tomcat/webapps/ROOT/index.html",
        ]  # the regex runs on the full path: webapps.dist/ROOT does not match
        await pilot.press("(")
        assert view.filter_error is not None
        assert view.visible_paths() == paths  # the last good rows stay
        await pilot.press("backspace", "enter")
        assert app.focused is view and view.state.filter == "s/ROOT/ind"
        await pilot.press("ctrl+f", "escape")
        assert view.state.filter == ""
        assert len(view.rows) > 1000


async def test_filter_line_scrolls_its_text_and_typing_does_not_lay_out_the_screen(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await focus_tree(app, pilot)
        await pilot.press("slash")
        await pilot.pause()
        field = app.screen.query_one("#tree-input", Input)
        layouts = []
        app.screen.screen_layout_refresh_signal.subscribe(app.screen, lambda _: layouts.append(1), immediate=True)
        rows = len(view.rows)
        text = ".*" * 45  # matches every path, so the tree keeps its rows (and scrollbars); wider than the line
        await pilot.press(*text)
        await pilot.pause()
        assert field.value == view.state.filter == text and len(view.rows) == rows
        assert layouts == []  # a keystroke repaints the line and the tree, not every pane
        assert field.scroll_x == field.max_scroll_x > 0  # scrolled to the end of the text, where the cursor is
        await pilot.press(*["backspace"] * 70)
        await pilot.pause()
        assert field.value == ".*" * 10 and field.scroll_x == 0
        await pilot.resize_terminal(100, 30)  # the hook itself: a real layout is seen
        await pilot.pause()
        assert layouts


async def test_search_expands_and_cycles(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        view = await focus_tree(app, pilot)
        await pilot.press("ctrl+t", "s", *"index.html")
        assert view.cursor_path == "/usr/local/tomcat/webapps/ROOT/index.html"
        await pilot.press("enter")
        second = view.cursor_path
        assert second != "/usr/local/tomcat/webapps/ROOT/index.html" and second.endswith("index.html")
        await pilot.press("escape", "N")
        assert view.cursor_path == "/usr/local/tomcat/webapps/ROOT/index.html"


async def test_sort_attributes_and_size_filter(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        view = await focus_tree(app, pilot)
        await pilot.press("ctrl+o")
        assert view.state.sort_by_size and view.visible_paths()[0] == "/usr"
        await pilot.press("up", "ctrl+b")
        assert not view.show_attributes
        await pilot.press("m", *"100k", "enter")
        assert view.state.min_size == 100_000
        assert all(view.rows.size(i) >= 100_000 for i in range(len(view.rows)))
        await pilot.press("o")
        assert view.state.only_changes
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "up")
        assert view.state.sort_by_size and view.state.layer == 3  # kept across layer changes


async def test_inefficient_file_jumps_to_the_path(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "ctrl+t")
        await pilot.press("shift+tab", "shift+tab", "enter")  # shift+tab reaches every pane
        view = tree_of(app)
        assert app.focused is view
        assert view.cursor_path == tomcat.inefficiencies[0].path


async def test_file_view_shows_content_and_versions(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        app.explorer.go_to_path("/etc/passwd")
        await pilot.press("enter")
        assert isinstance(app.screen, FileViewScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "tomcat:x:1000" in app.screen.shown_text
        assert app.screen.query_one("#versions").row_count == 2
        await pilot.press("escape")
        assert not isinstance(app.screen, FileViewScreen)


async def test_extract_writes_inside_the_folder_and_never_overwrites(tomcat: Analysis, tmp_path: Path) -> None:
    app = DivepyApp(tomcat)
    dest = tmp_path / "out"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        app.explorer.go_to_path("/usr/local/tomcat/webapps/ROOT")
        for attempt in range(2):
            await pilot.press("x")
            assert isinstance(app.screen, ExtractScreen)
            app.screen.query_one("Input").value = str(dest)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            if attempt == 0:
                assert not isinstance(app.screen, ExtractScreen)
            else:
                assert isinstance(app.screen, ExtractScreen)  # refused: the folder exists
                assert "already exists" in str(app.screen.query_one("#extract-status").render())
                await pilot.press("escape")
    index = dest / "ROOT" / "index.html"
    assert index.read_bytes().startswith(b"<!DOCTYPE html>") or index.stat().st_size == 1905
    assert (dest / "ROOT" / "META-INF" / "context.xml").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["ROOT"]


async def test_help_screen_lists_keys(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_dive_test_image_removed_paths(dive_image: Analysis) -> None:
    app = DivepyApp(dive_image)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(9):
            await pilot.press("down")
        view = tree_of(app)
        assert view.state.layer == 9  # rm -rf /root/example/
        removed = [p for i, p in enumerate(view.visible_paths()) if view.rows.diff_type(i) == DiffType.REMOVED]
        assert removed == [
            "/root/example",
            "/root/example/really",
            "/root/example/really/nested",
            "/root/example/somefile1.txt",
            "/root/example/somefile2.txt",
        ]
        await pilot.press("down")
        assert "/root/example" not in view.visible_paths()
        await pilot.press("ctrl+a")
        gone = view.rows.row_of(dive_image.tree.get("root/example/somefile1.txt"))
        assert view.rows.diff_type(gone) == DiffType.REMOVED  # existed within the aggregated range
        assert view.rows.diff_type(view.rows.row_of(dive_image.tree.get("root/saved.txt"))) == DiffType.ADDED


async def wait_for_load(app: DivepyApp, pilot) -> None:  # noqa: ANN001
    app.loader.done.wait(30)
    for _ in range(100):
        if app.return_code is not None or app.explorer is not None:
            return
        await pilot.pause(0.05)


async def test_load_error_exits_with_code_2() -> None:
    def load(progress):  # noqa: ANN001, ANN202
        progress("layer 1/1", 0, 10)
        raise DivepyError("not an image")

    app = DivepyApp(load=load, ref="nothing.tar")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_load(app, pilot)
    assert app.return_code == 2


async def test_loading_screen_then_explorer(tomcat: Analysis) -> None:
    seen = []

    def load(progress):  # noqa: ANN001, ANN202
        progress("layer 1/5", 5, 10)
        seen.append("loaded")
        return tomcat

    app = DivepyApp(load=load, ref=str(TOMCAT))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_load(app, pilot)
        await pilot.pause()
        assert seen == ["loaded"]
        assert app.explorer is not None and app.screen is app.explorer
        await pilot.press("q")
    assert app.return_code == 0


def test_binary_content_is_shown_as_hex_and_text_with_syntax() -> None:
    from rich.syntax import Syntax
    from rich.text import Text

    from dive_py.ui.screens import render_content

    dump = render_content("lib.jar", b"PK\x03\x04\x00\x01binary")
    assert isinstance(dump, Text) and dump.plain.startswith("00000000  50 4b 03 04 00 01")
    assert isinstance(render_content("a.py", b"print('hi')\n"), Syntax)


async def test_the_explorer_paints_before_the_walk_and_shows_its_figures_after(tmp_path: Path) -> None:
    """The CLI's explorer leaves the walk over the tree for after its first paint (~0.4 s at 10^6 files); the
    figures it gives appear once it is done, equal those of a complete analysis, and are cached then."""
    complete = load_analysis(str(TOMCAT), LoadOptions(use_cache=False))
    deferred = []

    def load(progress):  # noqa: ANN001, ANN202
        analysis = load_analysis(str(TOMCAT), LoadOptions(cache_dir=str(tmp_path)), walk_later=True)
        deferred.append(analysis.walk_ready())
        return analysis

    app = DivepyApp(load=load, ref=str(TOMCAT))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_load(app, pilot)
        while app.explorer.extras is None:
            await pilot.pause(0.05)
        await pilot.pause()
        shown = str(app.explorer.query_one("#image-summary").render())
        analysis = app.explorer.analysis
        await pilot.press("q")
    assert deferred == [None]  # nothing of the walk before the first paint
    assert analysis.walk_ready() == complete.walk()
    assert "Reclaimable by squashing: ..." not in shown and "Duplicate content: " in shown
    cached = load_analysis(str(TOMCAT), LoadOptions(cache_dir=str(tmp_path)), walk_later=True)
    assert cached.cached and cached.walk_ready() == complete.walk()  # from the cache, no walk
