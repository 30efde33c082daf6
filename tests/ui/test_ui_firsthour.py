"""Issue 24, items 14-22: the explorer side by side with dive 0.13.1 (clicks, widths, keys, words)."""

from __future__ import annotations

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.ui.app import DivepyApp, help_sections
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.layers import LayersPane
from dive_py.ui.panes.line_list import LineList
from tests.fixtures.ui_probes import open_file_view, record_notes


def tree_of(app: DivepyApp) -> FileTreeView:
    return app.explorer.tree_view


def header_of(view: FileTreeView) -> str:
    return app_header(view)


def app_header(view: FileTreeView) -> str:
    """The tree's column header as painted."""
    return str(view.parent.query_one("#tree-header").render())


# -- 14. a click selects the row under the mouse ------------------------------------------------------------------
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_click_on_a_layer_row_selects_that_layer(tomcat: Analysis, size: tuple[int, int]) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        layers = app.explorer.layers_pane
        last = len(tomcat.layers) - 1
        for index in (last, 2, 0, last):  # the border, then the header, are above layer 0's row
            assert await pilot.click(LayersPane, offset=(3, 2 + index))
            assert layers.cursor_row == index
        await pilot.click(LayersPane, offset=(3, 1))  # the header selects nothing
        assert layers.cursor_row == last


async def test_a_click_on_an_inefficient_file_chooses_that_row(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert await pilot.click(app.screen.query_one("#inefficiencies"), offset=(3, 2))  # row 1 (the header is row 0)
        await pilot.pause()
        assert app.screen.query_one("#inefficiencies", LineList).cursor == 1
        node = tree_of(app).cursor_node
        assert "/" + node.path == tomcat.inefficiencies[1].path


# -- 16. the focused pane gets the room; owners wherever they fit --------------------------------------------------
@pytest.mark.parametrize("width", [110, 120, 139])
async def test_owners_show_from_110_to_139_columns_and_ctrl_b_brings_them_back(tomcat: Analysis, width: int) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        assert "UID:GID" in app_header(view) and "0:0" in view.render_row(0, 0, view.size.width).text
        view.focus()
        await pilot.press("ctrl+b")
        assert "UID:GID" not in app_header(view)
        await pilot.press("ctrl+b")
        assert "UID:GID" in app_header(view)


@pytest.mark.parametrize("width", [90, 100, 109])
async def test_from_90_to_109_columns_the_focused_side_gets_the_room(tomcat: Analysis, width: int) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        layers = app.explorer.layers_pane
        shown = layers.line_text(None, layers.scrollable_content_region.width)
        assert shown.startswith("Cmp") and "Command" in shown  # dive at 100 columns: Cmp Size Command
        assert "mkdir -p" in layers.line_text(1, layers.scrollable_content_region.width)
        await pilot.press("tab")  # the tree: the left column shrinks, the tree shows its owners
        await pilot.pause()
        assert app.screen.has_class("-narrow") and "UID:GID" in app_header(tree_of(app))
        await pilot.press("tab")
        await pilot.pause()
        assert not app.screen.has_class("-narrow")
        await pilot.press("left")  # Layer Details, too, is the left column
        await pilot.pause()
        assert app.focused.id == "layer-details" and not app.screen.has_class("-narrow")


async def test_below_90_columns_the_left_column_stays_compact_as_dives(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        assert "UID:GID" in app_header(tree_of(app))  # as dive at 80 columns


# -- 18. enter on an inefficient file, ctrl+o, page down, right in Layer Details ------------------------------------
async def test_enter_on_an_inefficient_file_goes_to_the_layer_that_holds_it(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    posted = record_notes(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.screen.query_one("#inefficiencies", LineList).focus()
        await pilot.press("enter")
        await pilot.pause()
        path = tomcat.inefficiencies[0].path
        holder = tomcat.tree.get(path).events[-1][0]
        assert holder != 0
        assert app.explorer.layers_pane.cursor_row == holder
        assert "/" + tree_of(app).cursor_node.path == path and app.focused is tree_of(app)
        assert not [n for n in posted if "not shown" in n.message]


async def test_sorting_by_size_goes_to_the_top(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        view.focus()
        await pilot.press("end")
        assert view.scroll_offset.y > 0
        await pilot.press("ctrl+o")
        assert view.cursor == 0 and view.scroll_offset.y == 0
        rows = view.rows
        assert view.state.sort_by_size and rows.size(0) == max(rows.size(i) for i in range(len(rows)))


async def test_page_down_pages_at_once(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        view.focus()
        await pilot.press("down", "down")
        height = view.scrollable_content_region.height
        await pilot.press("pagedown")
        assert view.scroll_offset.y == height - 1 and view.cursor == 2 + height - 1  # same place on screen
        await pilot.press("pageup")
        assert view.scroll_offset.y == 0 and view.cursor == 2
        await pilot.press("pageup")
        assert view.cursor == 0


async def test_right_in_layer_details_moves_on_and_l_scrolls(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("left")
        details = app.explorer.layer_details
        assert app.focused is details
        await pilot.press("l")
        assert details.scroll_x > 0  # the ids are wider than the pane at 100 columns
        await pilot.press("h", "right")
        assert app.focused is tree_of(app) and details.scroll_x == 0


# -- 19. ctrl+f clears the filter as dive's; whole ids and hashes ---------------------------------------------------
async def test_ctrl_f_closes_and_clears_the_filter_and_enter_keeps_it(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = tree_of(app)
        await pilot.press("ctrl+f", *"passwd", "ctrl+f")
        assert app.explorer.tree_pane.mode == "" and view.state.filter == ""
        assert "/bin" in view.visible_paths()
        await pilot.press("ctrl+f", *"passwd", "enter")
        assert view.state.filter == "passwd" and "/bin/ash" not in view.visible_paths()


async def test_ids_and_digests_are_whole_at_160_columns(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        details = app.explorer.layer_details
        for index in range(len(tomcat.layers)):
            await pilot.pause()
            lines = details.fields.render().plain.split("\n")
            assert any(line.endswith(tomcat.layers[index].digest) for line in lines)
            width = max(len(line) for line in lines)
            assert details.fields.region.right <= details.scrollable_content_region.right
            assert width <= details.scrollable_content_region.width
            await pilot.press("down")


@pytest.mark.parametrize("width", [160, 200])
async def test_a_command_wraps_between_words_never_inside_a_hash(tomcat: Analysis, width: int) -> None:
    """From 160 columns the pane holds ``file:`` and 64 hex digits on one line (narrower, a hash longer than
    the pane must fold: the hints below it wrap to the pane, not scroll)."""
    app = DivepyApp(tomcat)
    async with app.run_test(size=(width, 40)) as pilot:
        await pilot.pause()
        await pilot.press("left")
        body = app.explorer.layer_details.body
        words = tomcat.layers[0].command.split()
        file_word = next(word for word in words if word.startswith("file:"))
        lines = [strip.text for strip in body.render_lines(body.region.reset_offset)]
        assert any(file_word in line for line in lines)


# -- 20. small words and keys --------------------------------------------------------------------------------------
async def test_hints_follow_the_command_after_one_blank_line(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.explorer.extras is None:
            await pilot.pause(0.05)
        for index in range(len(tomcat.layers)):
            body = app.explorer.layer_details.body.texts[index].plain
            command = app.explorer.layer_details.commands[index].plain
            assert body.startswith(command + "\n\nHints:")


def test_help_names_esc_once() -> None:
    keys = [key for _title, section in help_sections() for key, _ in section]
    assert not [key for key in keys if "escape" in key]
    assert any(key.startswith("esc") for key in keys)


def test_counts_agree_with_their_nouns() -> None:
    from dive_py.format import counted

    assert counted(1, "path") == "1 path" and counted(2, "path") == "2 paths" and counted(0, "path") == "0 paths"
    assert counted(1, "added file is a copy", "added files are copies") == "1 added file is a copy"
    assert counted(1234, "file") == "1,234 files"


async def test_a_reopened_search_starts_without_the_old_count(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        tree_of(app).focus()
        await pilot.press("s", *"bin/", "enter")
        field = app.explorer.tree_pane.query_one("#tree-input")
        assert field.border_subtitle.startswith("2/")
        await pilot.press("escape", "s")
        assert field.border_subtitle == "" and field.value == ""


# -- 17. each screen shows its own keys, all of them --------------------------------------------------------------
def bar_text(app: DivepyApp) -> str:
    """The footer on screen now: the active screen's bar; the explorer's is hidden under a modal screen."""
    from dive_py.ui.key_bar import KeyBar

    shown = [bar for bar in app.screen_stack[-1].query(KeyBar) if bar.display]
    hidden = [bar for screen in app.screen_stack[:-1] for bar in screen.query(KeyBar) if bar.display]
    assert len(shown) == 1 and not hidden
    return " ".join(line.plain for line in shown[0].lines(app.size.width))


@pytest.mark.parametrize("width", [120, 80])
async def test_modal_screens_show_their_own_keys(tomcat: Analysis, width: int) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "down", "enter")  # the file view of /bin/[
        await pilot.pause()
        assert app.screen.id == "file-view"
        keys = bar_text(app).split()
        assert "tab" not in keys and keys.count("w") == 1 and "esc" in keys and "]" in keys and "⏎" not in keys
        await pilot.press("escape", "x")
        await pilot.pause()
        assert app.screen.id == "extract"
        text = bar_text(app)
        assert "enter extracts" in text and "esc Cancel" in text and "tab" not in text.split()
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert app.screen.id == "help" and bar_text(app).split()[:2] == ["esc", "Close"]
        await pilot.press("escape", "w")
        await pilot.pause()
        assert app.screen.id == "hints"
        keys = bar_text(app).split()
        assert "enter" in keys and "⏎" not in keys and "w" not in keys
        await pilot.press("escape")
        await pilot.pause()
        assert "Switch" in bar_text(app)  # the explorer's bar is back


async def test_a_config_that_quits_on_ctrl_c_alone_names_it_in_the_footer(tomcat: Analysis) -> None:
    from dive_py.ui.config import UiConfig
    from dive_py.ui.key_bar import KeyBar

    app = DivepyApp(tomcat, config=UiConfig(keymap={"quit": "ctrl+c"}))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        items = app.screen.query_one(KeyBar).items()
        assert ("^c", "Quit") in items and ("q", "Quit") not in items
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        items = app.screen.query_one(KeyBar).items()
        assert ("q", "Quit") in items and ("^c", "Quit") not in items


async def test_the_hints_screen_shows_the_whole_fix_at_60x20(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(60, 20)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        box = app.screen.query_one("#hint-detail-box")
        detail = app.screen.query_one("#hint-detail")
        assert box.max_scroll_y == 0 and box.region.bottom <= app.size.height - 1
        lines = [strip.text for strip in detail.render_lines(detail.region.reset_offset)]
        hint = app.screen.hints[0]
        assert hint.fix.split()[-1] in " ".join(lines) and any(line.strip().startswith("Fix:") for line in lines)


async def test_the_file_views_line_numbers_stay_when_the_text_scrolls_sideways(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_file_view(app, pilot, "/usr/local/tomcat/RUNNING.txt")  # lines of 206 characters
        gutter = screen.query_one("#file-lines")
        before = gutter.region
        await pilot.press("right", "right")
        await pilot.pause()
        assert screen.content_scroll.scroll_x > 0 and gutter.region == before and gutter.display
        numbers = [strip.text.strip() for strip in gutter.render_lines(gutter.region.reset_offset)]
        assert numbers[:3] == ["1", "2", "3"]
        await pilot.press("w")  # wrapped: the numbers are Syntax's own, beside each first line
        await pilot.pause()
        assert not gutter.display and screen.content_scroll.max_scroll_x == 0


# -- 15. the ANSI theme by itself on a 16-colour terminal ------------------------------------------------------------
def _diff_colours(app: DivepyApp) -> tuple[object, object, object]:
    view = tree_of(app)
    style = view.get_component_rich_style
    return style("filetree--modified").color, style("filetree--removed").color, style("filetree--added").color


@pytest.mark.parametrize("term", ["linux", "screen"])
async def test_a_16_colour_terminal_gets_the_ansi_theme(tomcat: Analysis, monkeypatch, term: str) -> None:  # noqa: ANN001
    monkeypatch.setenv("TERM", term)
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "ansi-dark"
        modified, removed, added = _diff_colours(app)
        assert (modified.number, removed.number, added.number) == (3, 1, 2)  # the terminal's yellow, red, green


async def test_a_truecolor_terminal_or_a_chosen_theme_is_left_alone(tomcat: Analysis, monkeypatch) -> None:  # noqa: ANN001
    from dive_py.ui.config import UiConfig

    app = DivepyApp(tomcat)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme != "ansi-dark"
    monkeypatch.setenv("TERM", "linux")
    monkeypatch.delenv("COLORTERM")
    app = DivepyApp(tomcat, config=UiConfig(theme="textual-light"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-light"


# -- 21. the waste figures: fixable bytes first, each explained -----------------------------------------------------
async def test_image_details_lead_with_the_fixable_bytes_and_the_help_explains_each_figure(tomcat: Analysis) -> None:
    from dive_py.format import size

    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        details = app.explorer.image_details
        lines = str(details.query_one("#image-summary").render()).split("\n")
        figures = [line.split(":")[0] for line in lines[2:] if line]
        assert figures[0].startswith("Fixable") and lines[2].split(": ")[1].startswith(
            size(tomcat.hints().fixable_bytes)
        )
        assert "?" in details.border_subtitle
        await pilot.press("question_mark")
        await pilot.pause()
        explained = dict(dict(app.screen.sections)["Image Details figures"])
        for figure in figures:
            assert any(figure.startswith(name) for name in explained), figure


# -- 22. the first paint: no loading screen for an image read at once --------------------------------------------
async def test_a_quick_load_goes_straight_to_the_explorer_and_a_slow_one_shows_the_loading_screen(
    tomcat: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import dive_py.ui.app as app_module
    from dive_py.ui.screens import LoadingScreen

    made: list[str] = []

    class CountedLoadingScreen(LoadingScreen):
        def __init__(self, ref: str) -> None:
            made.append(ref)
            super().__init__(ref)

    monkeypatch.setattr(app_module, "LoadingScreen", CountedLoadingScreen)
    app = DivepyApp(load=lambda progress: tomcat, ref="quick")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.screen is app.explorer and made == []
    gate = threading.Event()

    def slow(progress):  # noqa: ANN001, ANN202
        gate.wait(10)
        return tomcat

    app = DivepyApp(load=slow, ref="slow")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadingScreen) and made == ["slow"]
        gate.set()
        while app.explorer is None:
            await pilot.pause(0.02)
        await pilot.pause()
        assert app.screen is app.explorer


async def test_page_down_in_the_inefficient_files_pages_at_once(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        files = app.screen.query_one("#inefficiencies", LineList)
        files.focus()
        height = files.scrollable_content_region.height
        assert height > 4 and files.count > height  # more than a page
        await pilot.press("pagedown")
        await pilot.pause()
        assert files.cursor == height - 2  # a page on (the header is the first row)
        assert 0 < files.scroll_offset.y == min(height - 2, files.max_scroll_y)  # the rows scrolled at once
        await pilot.press("pageup")
        await pilot.pause()
        assert files.scroll_offset.y == 0 and files.cursor == 0


async def test_the_gc_paused_for_the_first_paint_runs_again_once_painted(tomcat: Analysis) -> None:
    import gc

    app = DivepyApp(tomcat)
    app.gc_paused = True  # as run_tui leaves it
    gc.disable()
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert gc.isenabled() and not app.gc_paused and app.explorer.extras is not None
    finally:
        gc.enable()


async def test_extracting_one_file_says_1_path(tomcat: Analysis, tmp_path) -> None:  # noqa: ANN001
    from textual.widgets import Input

    app = DivepyApp(tomcat)
    posted = record_notes(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.explorer.go_to_path("/etc/passwd")
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one(Input).value = str(tmp_path / "out")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in posted]
        assert any(m.startswith("extracted 1 path to ") for m in messages), messages
