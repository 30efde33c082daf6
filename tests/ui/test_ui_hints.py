"""Issue 15 in the explorer: the hints screen (``w``), enter to the hint's layer and path, the layer details'
hints and packages computed in the background; issue 18: a container's writable layer named in the Layers pane."""

from __future__ import annotations

from types import SimpleNamespace

from dive_py.analysis.analyze import Analysis
from dive_py.model import Layer
from dive_py.sources.container import with_writable_layer
from dive_py.sources.plan import ImagePlan, LayerRef
from dive_py.ui.app import DivepyApp, help_sections
from dive_py.ui.hints_screen import HintsScreen, hint_line
from dive_py.ui.key_bar import KeyBar
from dive_py.ui.panes.layers import layer_label

SEED_COPY = "/usr/local/tomcat/webapps"
SEED_COPY_BYTES = 3_369_944


async def _explorer_with_extras(app: DivepyApp, pilot) -> None:  # noqa: ANN001 - a Pilot
    """Waits until the background worker has handed over the hints and packages."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.explorer.extras is not None


async def test_hints_screen_lists_the_seed_copy_and_enter_goes_to_it(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await _explorer_with_extras(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HintsScreen)
        hint = screen.hints[0]
        assert (hint.kind, hint.layer, hint.bytes) == ("duplicate-content", 4, SEED_COPY_BYTES)
        assert hint.paths[0] == SEED_COPY
        assert SEED_COPY in screen.hint_list.line(0) and "duplicate-content" in screen.hint_list.line(0)
        assert "webapps.dist" in str(screen.query_one("#hint-detail").render())
        await pilot.press("enter")
        await pilot.pause()
        explorer = app.explorer
        assert app.screen is explorer and explorer.layers_pane.cursor_row == 4
        assert explorer.tree_view.state.layer == 4
        assert "/" + explorer.tree_view.cursor_node.path == SEED_COPY
        assert explorer.tree_view.has_focus


async def test_enter_on_the_shown_layer_still_moves_the_cursor(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await _explorer_with_extras(app, pilot)
        app.explorer.layers_pane.action_move(4)
        await pilot.pause()
        app.explorer.jump_to(4, SEED_COPY)
        await pilot.pause()
        assert "/" + app.explorer.tree_view.cursor_node.path == SEED_COPY


async def test_layer_details_show_the_layers_hints_and_packages(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        details = app.explorer.layer_details
        await _explorer_with_extras(app, pilot)
        app.explorer.layers_pane.action_move(4)
        await pilot.pause()
        shown = details.extras.render().plain
        assert "3.4 MB duplicate-content " + SEED_COPY in shown and "fix: use `mv`" in shown
        assert "Packages:" in shown
        app.explorer.layers_pane.action_move(-4)
        await pilot.pause()
        assert "Hints: (none)" in details.extras.render().plain


async def test_the_screen_waits_for_hints_still_being_computed(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(100, 30)) as pilot:
        await _explorer_with_extras(app, pilot)
        screen = HintsScreen(None)
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.hint_list.count == 0 and "Computing" in str(screen.query_one("#hint-detail").render())
        screen.set_report(app.explorer.extras.hints)
        await pilot.pause()
        assert screen.hint_list.count == 1 and screen.query_one("#hints-box").border_subtitle.endswith("fixable")
        await pilot.press("escape")
        assert app.screen is app.explorer


async def test_the_key_is_in_the_footer_and_the_help(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert ("w", "Hints") in app.explorer.query_one(KeyBar).items()[:3]
    everywhere = dict(help_sections()[0][1])
    assert everywhere["w"] == "Hints"


def test_hint_line_names_bytes_kind_layer_and_path(tomcat: Analysis) -> None:

    line = hint_line(tomcat.hints().hints[0])
    assert line.split() == ["3.4", "MB", "duplicate-content", "4", SEED_COPY]


# -- issue 18: the container's writable layer ----------------------------------------------------------
def test_a_writable_layer_is_named_as_its_container() -> None:
    plan = ImagePlan("docker", {"rootfs": {"diff_ids": []}, "history": []}, "sha256:0", [])
    info = {"Id": "f" * 64, "Name": "/tomcat01", "Config": {"Cmd": ["sleep", "1000"]}}
    top = with_writable_layer(plan, SimpleNamespace(digest="sha256:" + "a" * 64), info).layers[-1]
    assert top.label == "container tomcat01 (not committed)"
    layer = Layer(1, "f" * 64, "", "", "sleep 1000", label=top.label)
    assert layer_label(layer) == "container tomcat01 (not committed): sleep 1000"
    assert layer_label(Layer(1, "x", "", "", "sleep 1000")) == "sleep 1000"
    assert layer_label(Layer(0, "x", "", "", "", label="container c (not committed)")) == "container c (not committed)"
    assert LayerRef("b", "i", "d", "d", None, None).label == ""
