"""Issue 14: the explorer as a dive user expects it, on any terminal (80x24, no colour, a C locale)."""

from __future__ import annotations

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.trees.rows import RowModel, TreeViewState
from dive_py.trees.view_state import DiffType
from dive_py.ui.app import DivepyApp
from dive_py.ui.config import UiConfig, load_ui_config, locale_is_ascii
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.layers import LayersPane, layer_label


def tree_of(app: DivepyApp) -> FileTreeView:
    return app.explorer.tree_view


def row_text(view: FileTreeView, row: int) -> str:
    """What the view draws for ``row``, as plain text."""
    return view.render_row(row, 0, view.scrollable_content_region.width).text


def screen_rows(view: FileTreeView) -> list[str]:
    """The rows on screen, as plain text."""
    height = view.scrollable_content_region.height
    top = view.scroll_offset.y
    return [row_text(view, row) for row in range(top, min(top + height, len(view.rows)))]


# -- 1. narrow terminals ------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (60, 20), (40, 15)])
async def test_names_are_visible_on_narrow_terminals(tomcat: Analysis, size: tuple[int, int]) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        view = tree_of(app)
        on_screen = screen_rows(view)
        assert "├── bin" in on_screen[0] and "├── [[" in on_screen[2] and "├── acpid" in on_screen[3]
        assert view.show_attributes == (view.size.width >= 60)
        assert app.screen.has_class("-narrow")
        layers = app.explorer.layers_pane
        assert layers.line_text(None, layers.scrollable_content_region.width).startswith("Layer")


async def test_attributes_come_back_on_a_wide_pane_and_ctrl_b_still_toggles(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        assert not view.show_attributes
        view.focus()
        await pilot.press("ctrl+b")
        assert view.show_attributes and "drwxr-xr-x" in row_text(view, 0)
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert view.show_attributes and not app.screen.has_class("-narrow")


async def test_help_fits_an_80_column_terminal(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query_one("#help-box").outer_size.width <= 80


# -- 2. ctrl+space is ctrl+@ ------------------------------------------------------------
async def test_ctrl_at_collapses_all(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        view = tree_of(app)
        view.focus()
        await pilot.press("ctrl+@")
        assert view.state.collapse_all and len(view.rows) < 10


# -- 3. tab: layers <-> tree ---------------------------------------------------------------
async def test_tab_toggles_layers_and_tree_and_arrows_leave_the_layers_pane(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, LayersPane)
        await pilot.press("tab")
        assert app.focused is tree_of(app)
        await pilot.press("tab")
        assert isinstance(app.focused, LayersPane)
        await pilot.press("right")
        assert app.focused is tree_of(app)
        await pilot.press("tab", "left")
        assert app.focused.id == "layer-details"
        await pilot.press("shift+tab")
        assert isinstance(app.focused, LayersPane)


# -- 4. the filter from any pane ---------------------------------------------------------------
@pytest.mark.parametrize("key", ["ctrl+f", "slash", "ctrl+underscore"])
async def test_filter_opens_from_the_layers_pane(tomcat: Analysis, key: str) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        pane = app.explorer.tree_pane
        assert pane.mode == "filter" and pane.has_focus_within
        await pilot.press(*"passwd")
        await pilot.press("enter")  # keeps the filter (a second ctrl+f clears it, as dive's: issue 24)
        view = tree_of(app)
        assert pane.mode == "" and app.focused is view and view.state.filter == "passwd"
        assert "/etc/passwd" in view.visible_paths()
        await pilot.press("escape")  # esc in the tree clears a kept filter
        assert view.state.filter == "" and "/bin" in view.visible_paths()


# -- 5. collapsed marker ----------------------------------------------------------------------
async def test_collapsed_folders_show_dives_marker(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        view = tree_of(app)
        view.focus()
        await pilot.press("space")
        assert "├─⊕ bin" in row_text(view, 0)
        await pilot.press("space")
        assert "├── bin" in row_text(view, 0)


# -- 6. folder sizes follow the filter and the hide toggles --------------------------------------
def test_folder_sizes_follow_the_filter(tomcat: Analysis) -> None:
    model = RowModel(tomcat.tree, len(tomcat.layers))
    rows = model.visible(TreeViewState(layer=4, filter="tomcat/LICENSE"))
    sizes = {rows.node(i).path: rows.size(i) for i in range(len(rows))}
    assert sizes["usr"] == sizes["usr/local/tomcat/LICENSE"] == 21284  # dive: usr 21 kB
    full = model.visible(TreeViewState(layer=4))
    assert full.size(full.row_of(tomcat.tree.get("usr"))) > 7_000_000


def test_folder_sizes_follow_the_hidden_diff_types(tomcat: Analysis) -> None:
    model = RowModel(tomcat.tree, len(tomcat.layers))
    state = TreeViewState(layer=4, hidden={DiffType.UNMODIFIED})
    rows = model.visible(state)
    usr = rows.size(rows.row_of(tomcat.tree.get("usr")))
    webapps = rows.size(rows.row_of(tomcat.tree.get("usr/local/tomcat/webapps")))
    assert usr == webapps > 0  # only the commit layer's copied webapps count


# -- 7. column header, padded owners -------------------------------------------------------------
async def test_column_header_over_the_tree(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(160, 40)) as pilot:  # a tree pane of 80+ columns: the full attributes
        await pilot.pause()
        header = app.explorer.tree_pane.query_one("#tree-header")
        assert str(header.render()) == "Permission     UID:GID       Size  Filetree"
        view = tree_of(app)
        assert row_text(view, 0).index("├── bin") == len("Permission     UID:GID       Size  ")
        assert "UID:GID" in app.export_screenshot()
        view.focus()
        await pilot.press("ctrl+b")
        assert str(header.render()) == "Filetree"
        await pilot.pause()
        # Repainted on screen too: the header repaints only when its text changes (not on every cursor move).
        assert "UID:GID" not in app.export_screenshot()
        await pilot.press("down")
        await pilot.pause()
        assert "UID:GID" not in app.export_screenshot()


def test_owner_column_fits_nobody() -> None:
    from dive_py.model import FileEntry
    from dive_py.ui.panes.tree_draw import _attributes_text

    class OneRow:
        def size(self, _row: int) -> int:
            return 5

    entry = FileEntry("nobody.txt", kind="f", mode=0o644, uid=65534, gid=65534, size=5)
    assert _attributes_text(OneRow(), 0, entry) == "-rw-r--r-- 65534:65534        5 B  "


# -- 8. layers pane --------------------------------------------------------------------------------
async def test_layers_pane_has_no_horizontal_scrollbar_and_dives_from_label(tomcat: Analysis) -> None:
    assert layer_label(tomcat.layers[0]) == "FROM 6aa56b81af03ef2"
    app = DivepyApp(tomcat)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        layers = app.explorer.layers_pane
        assert not layers.show_horizontal_scrollbar
        width = layers.scrollable_content_region.width
        line = layers.line_text(2, width)
        assert len(line) == width or line.endswith(tomcat.layers[2].short_command)


# -- 12. markers without colour ------------------------------------------------------------------------
async def test_no_color_shows_change_markers(tomcat: Analysis, plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("NO_COLOR", "1")
    assert load_ui_config([]).markers
    app = DivepyApp(tomcat)  # Textual reads (and removes) NO_COLOR itself
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        view = tree_of(app)
        texts = [row_text(view, row) for row in range(len(view.rows))]
        assert any(t.startswith("+ -rw-r--r--") for t in texts)
        assert any(t.startswith("~ drwx") for t in texts)
        assert any(t.startswith("  ") and "passwd" in t for t in texts)  # unmodified: no marker


async def test_markers_with_colour_by_key(tomcat: Analysis, plain_env: pytest.MonkeyPatch) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        view = tree_of(app)
        assert not view.markers and row_text(view, 0).startswith("drwx")
        view.focus()
        await pilot.press("c")
        assert row_text(view, 0).startswith("+ drwx")


def test_markers_from_the_config(tmp_path, plain_env: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    path = tmp_path / "config.yaml"
    path.write_text("filetree:\n  show-markers: true\ntheme: ansi-dark\n")
    config = load_ui_config([path])
    assert config.markers and config.theme == "ansi-dark" and not config.ascii_only


# -- 13. a C locale --------------------------------------------------------------------------------------
def test_locale_detection() -> None:
    assert locale_is_ascii({"LANG": "C"}) and locale_is_ascii({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"})
    assert locale_is_ascii({"LANG": "C", "LC_CTYPE": "C.UTF-8"})  # Python's own coercion (PEP 538)
    assert not locale_is_ascii({"LANG": "en_US.UTF-8"}) and not locale_is_ascii({"LANG": "C.utf8"})


async def test_lang_c_draws_an_ascii_tree(tomcat: Analysis, plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("LANG", "C")
    config = load_ui_config([])
    assert config.ascii_only
    app = DivepyApp(tomcat, config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        texts = screen_rows(view)
        assert "|-- bin" in texts[0] and any("|   |-- " in t for t in texts)
        assert all(ch < "\x80" for t in texts for ch in t)
        assert app.screen.has_class("-ascii")
        assert app.explorer.layers_pane.line_text(0, 8).startswith("*")


async def test_ansi_theme_from_the_config(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat, config=UiConfig(theme="ansi-dark"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "ansi-dark"


# -- 16. the layer's changes on arrival ---------------------------------------------------------------------
async def test_arriving_at_a_layer_shows_its_first_change(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        view = tree_of(app)
        assert view.cursor_path == "/usr/local/tomcat/webapps/ROOT"  # webapps itself was there already
        assert "ROOT" in " ".join(screen_rows(view))
        await pilot.press("ctrl+a", "k")  # aggregated: the cursor stays on its path (here, what is left of it)
        assert view.cursor_path == "/usr/local/tomcat/webapps"


async def test_first_change_can_be_turned_off(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat, config=UiConfig(cursor_to_first_change=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        assert tree_of(app).cursor_path == "/bin"


# -- 11. the footer fits; the help lists each key once ---------------------------------------------------------
@pytest.mark.parametrize("width", [60, 80, 120, 160])
async def test_footer_fits_and_starts_with_tab_and_filter(tomcat: Analysis, width: int) -> None:
    """Every key, whole; abbreviated, then wrapped, never dropped (issue 24, item 17)."""
    app = DivepyApp(tomcat)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one("KeyBar")
        tree_of(app).focus()
        await pilot.pause()
        lines = [line.plain for line in bar.lines(width)]
        assert all(len(line) <= width for line in lines)
        assert len(lines) <= (2 if width >= 120 else 4)
        assert lines[0].startswith(" tab Switch") and " ^f Filter" in lines[0] and lines[-1].endswith("? Help")
        shown = [item.split(" ", 1)[0] for line in lines for item in line.strip().split("  ")]
        assert shown == [key for key, _ in bar.items()]
        if width >= 160:
            assert "o Only changes" in " ".join(lines) and "m Min size" in " ".join(lines)
        await pilot.press("slash")
        assert bar.lines(width)[0].plain.startswith("typing filters paths by regex")


def test_help_lists_each_key_once() -> None:
    from dive_py.ui.app import help_sections

    for _title, keys in help_sections():
        names = [key for key, _ in keys]
        assert len(names) == len(set(names))


# -- 14. layer details never break a digest ---------------------------------------------------------------------
async def test_layer_details_keep_digests_whole(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        fields = app.explorer.layer_details.fields
        lines = fields.render().plain.split("\n")
        digest = tomcat.layers[0].digest
        assert any(line.endswith(digest) for line in lines)
        assert fields.size.width >= max(len(line) for line in lines)  # whole, scrolled sideways if need be


# -- 17. small things -----------------------------------------------------------------------------------------------
async def test_search_counts_and_empty_filter_note(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        view = tree_of(app)
        view.focus()
        await pilot.press("s", *"etc/passwd")
        field = app.explorer.tree_pane.query_one("#tree-input")
        assert field.border_subtitle in ("1 match", "2 matches")
        await pilot.press("escape", "s")
        assert field.value == ""
        await pilot.press("escape", "slash", *"no-such-path")
        assert row_text(view, 0).startswith("no path matches the filter")
        await pilot.press("escape", "ctrl+e")
        assert app.screen.id == "extract"
