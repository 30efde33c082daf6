"""Issue 14, the rest: -v, a dive.yaml binding ctrl+m, h and l as dive, the file view's long lines and layer
numbers, extract's modification times, the tree at 80x24 (no horizontal scrollbar, compact attributes) and
ASCII everywhere in a C locale."""

from __future__ import annotations

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.trees.view_state import DiffType
from dive_py.ui.app import DivepyApp
from dive_py.ui.config import load_ui_config
from dive_py.ui.panes.file_tree_view import FileTreeView
from tests.fixtures.ui_probes import open_file_view, record_notes


def tree_of(app: DivepyApp) -> FileTreeView:
    return app.explorer.tree_view


def row_text(view: FileTreeView, row: int) -> str:
    """What the view draws for ``row``, as plain text."""
    return view.render_row(row, 0, view.scrollable_content_region.width).text


# -- 9. -v, and a ~/.dive.yaml binding ctrl+m ---------------------------------------------------------------------
def test_dash_v_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    from dive_py import __version__
    from dive_py.cli.options import parse_args

    for flag in ("-v", "--version"):
        with pytest.raises(SystemExit) as done:
            parse_args([flag])
        assert done.value.code == 0
        assert capsys.readouterr().out.strip() == f"divepy {__version__}"


async def test_dive_yaml_binding_ctrl_m_keeps_ctrl_n_and_warns_once(
    tomcat: Analysis,
    tmp_path,
    plain_env: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    dive_yaml = tmp_path / ".dive.yaml"
    dive_yaml.write_text("keybinding:\n  toggle-modified-files: ctrl+m\n  toggle-added-files: ctrl+m,ctrl+y\n")
    config = load_ui_config([dive_yaml])
    assert "toggle-modified-files" not in config.keymap and config.keymap["toggle-added-files"] == "ctrl+y"
    assert len(config.warnings) == 2 and all("ctrl+m reaches divepy as enter" in w for w in config.warnings)
    app = DivepyApp(tomcat, config=config)
    posted = record_notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        view = tree_of(app)
        view.focus()
        assert len(posted) == 2
        await pilot.press("ctrl+n")
        assert view.state.hidden == {DiffType.MODIFIED}
        app.explorer.go_to_path("/etc/passwd")
        await pilot.press("enter")  # Enter still opens the file view
        assert app.screen.id == "file-view"


# -- 10. h and l as in dive ------------------------------------------------------------------------------------------
async def test_h_goes_to_the_parent_and_l_opens_and_steps_in(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        view = tree_of(app)
        view.focus()
        app.explorer.go_to_path("/usr/local/tomcat")
        await pilot.press("h")  # an open folder: to its parent, and it stays open (dive)
        assert view.cursor_path == "/usr/local" and not view.state.is_collapsed("usr/local/tomcat")
        await pilot.press("space")  # closed
        assert view.state.is_collapsed("usr/local")
        await pilot.press("l")  # opens it and steps in
        assert not view.state.is_collapsed("usr/local") and view.cursor_path == "/usr/local/tomcat"
        await pilot.press("l")  # an open folder: steps in
        assert view.cursor_path.startswith("/usr/local/tomcat/")
        await pilot.press("g", "h")  # a top-level folder has no parent row: stays
        assert view.cursor_path == "/bin"


# -- 17. the file view: long lines, layer numbers; extract keeps modification times -----------------------------------
async def test_file_view_scrolls_or_wraps_long_lines_and_counts_layers_from_0(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_file_view(app, pilot, "/usr/local/tomcat/RUNNING.txt")  # lines of 206 characters
        assert screen.query_one("#file-view-box").border_title.endswith("at layer 4")  # the Layers pane's index
        assert screen.query_one("#versions").get_row_at(0)[0] == "2"  # added by the layer the pane calls 2
        scroll = screen.content_scroll
        assert scroll.max_scroll_x > 0
        await pilot.press("right")
        assert scroll.scroll_x > 0
        await pilot.press("left")
        assert scroll.scroll_x == 0
        await pilot.press("w")
        await pilot.pause()
        assert scroll.max_scroll_x == 0 and "Licensed to the Apache" in screen.shown_text


def _tar_mtime(archive: str, path: str) -> int:
    """The modification time of ``path`` in the topmost layer of a ``docker save`` archive that holds it."""
    import json
    import tarfile

    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        mtime = None
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                try:
                    mtime = inner.getmember(path).mtime
                except KeyError:
                    continue
    return mtime


async def test_extract_from_the_explorer_keeps_modification_times(tomcat: Analysis, tmp_path) -> None:  # noqa: ANN001
    app = DivepyApp(tomcat)
    dest = tmp_path / "out"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        app.explorer.go_to_path("/usr/local/tomcat/webapps/ROOT")
        await pilot.press("x")
        assert app.screen.query_one("#extract-box").border_title.endswith("as in layer 4")
        app.screen.query_one("Input").value = str(dest)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    for rel in ("index.html", "META-INF/context.xml", ""):
        expected = _tar_mtime("examples/tomcat02.tar", "usr/local/tomcat/webapps/ROOT" + (f"/{rel}" if rel else ""))
        assert int((dest / "ROOT" / rel).stat().st_mtime) == expected


# -- the tree at 80x24: no horizontal scrollbar, compact attributes ----------------------------------------------------
async def test_tree_has_no_horizontal_scrollbar_and_owners_at_80x24(tomcat: Analysis) -> None:
    """Owners wherever the row fits them (issue 24, item 16: dive shows UID:GID at 80 columns); the compact
    columns only where ctrl+b asks for attributes on a pane too narrow for them (60x20)."""
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        assert not view.show_horizontal_scrollbar and view.scrollable_content_region.height == view.size.height
        assert view.show_attributes and not view.look.compact
        assert row_text(view, 0).startswith("drwxr-xr-x         0:0     2.0 MB  ├── bin")
        header = app.explorer.tree_pane.query_one("#tree-header")
        assert str(header.render()) == "Permission     UID:GID       Size  Filetree"
        view.focus()
        await pilot.press("ctrl+b")
        assert row_text(view, 0).startswith("├── bin")
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.press("ctrl+b")
        assert view.look.compact and row_text(view, 0).startswith("drwxr-xr-x  2.0 MB  ├── bin")
        assert str(header.render()) == "Permission    Size  Filetree"
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert not view.look.compact and "0:0" in row_text(view, 0)


def test_compact_attributes_leave_out_the_owner() -> None:
    from dive_py.model import FileEntry
    from dive_py.ui.panes.tree_draw import _attributes_text
    from dive_py.ui.panes.tree_layout import COMPACT_ATTRIBUTES_WIDTH

    class OneRow:
        def size(self, _row: int) -> int:
            return 999_499

    entry = FileEntry("big.bin", kind="f", mode=0o644, uid=65534, gid=65534, size=999_499)
    text = _attributes_text(OneRow(), 0, entry, compact=True)
    assert text == "-rw-r--r-- 1000 kB  " and len(text) == COMPACT_ATTRIBUTES_WIDTH  # dive's widest size


# -- 13. a C locale: scrollbars, subtitle and footer hints in ASCII -----------------------------------------------
async def test_lang_c_subtitle_hints_and_scrollbars_are_ascii(tomcat: Analysis, plain_env: pytest.MonkeyPatch) -> None:
    from textual.scrollbar import ScrollBar

    from dive_py.ui.app import AsciiScrollBarRender

    plain_env.setenv("LANG", "C")
    app = DivepyApp(tomcat, config=load_ui_config([]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert ScrollBar.renderer is AsciiScrollBarRender
        view = tree_of(app)
        view.focus()
        await pilot.press("m", *"1MB", "enter")
        subtitle = app.explorer.tree_pane.border_subtitle
        assert subtitle.startswith(">= 1.0 MB - sort: name") and subtitle.isascii()
        await pilot.press("slash")
        bar = app.screen.query_one("KeyBar")
        assert all(line.plain.isascii() for line in bar.lines(80))
    assert ScrollBar.renderer is not AsciiScrollBarRender  # put back for the next app
