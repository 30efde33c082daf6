"""SVG snapshots of the explorer's main screens on the bundled tomcat02 example (120x40)."""

from __future__ import annotations

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import ImageComparison
from dive_py.ui.app import DivepyApp
from dive_py.ui.config import UiConfig
from dive_py.ui.diff_view import DivepyDiffApp

SIZE = (120, 40)


async def _no_blink(pilot) -> None:  # noqa: ANN001
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False


def _settled(*keys: str):  # noqa: ANN202 - a run_before
    """Presses ``keys``, then waits for the background workers (the hints and packages reach the layer
    details from a thread: without the wait a shot could catch them either way)."""

    async def go(pilot) -> None:  # noqa: ANN001
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return go


class TestExplorer:
    def test_overview(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        assert snap_compare(DivepyApp(tomcat), run_before=_settled(), terminal_size=SIZE)

    def test_commit_layer_webapps_added(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        async def go(pilot) -> None:  # noqa: ANN001
            await pilot.press("end")
            pilot.app.explorer.go_to_path("/usr/local/tomcat/webapps")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

        assert snap_compare(DivepyApp(tomcat), run_before=go, terminal_size=SIZE)

    def test_aggregated(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        assert snap_compare(DivepyApp(tomcat), run_before=_settled("end", "ctrl+a"), terminal_size=SIZE)


class TestTreeTools:
    def test_filter(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        async def go(pilot) -> None:  # noqa: ANN001
            await pilot.press("end")
            pilot.app.explorer.tree_view.focus()
            await pilot.press("slash")
            await _no_blink(pilot)
            await pilot.press(*"webapps/ROOT")
            await pilot.app.workers.wait_for_complete()

        assert snap_compare(DivepyApp(tomcat), run_before=go, terminal_size=SIZE)

    def test_file_view(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        async def go(pilot) -> None:  # noqa: ANN001
            await pilot.press("end")
            pilot.app.explorer.go_to_path("/etc/passwd")
            await pilot.press("enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

        assert snap_compare(DivepyApp(tomcat), run_before=go, terminal_size=SIZE)

    def test_help(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        assert snap_compare(DivepyApp(tomcat), run_before=_settled("question_mark"), terminal_size=SIZE)


class TestDiff:
    def test_diff_view(self, snap_compare, tomcat_diff: ImageComparison) -> None:  # noqa: ANN001, F811
        async def go(pilot) -> None:  # noqa: ANN001
            await pilot.press("ctrl+u")
            pilot.app.explorer.go_to_path("/usr/local/tomcat/webapps/ROOT/index.html")
            await pilot.pause()

        assert snap_compare(DivepyDiffApp(tomcat_diff), run_before=go, terminal_size=SIZE)


class TestSmallTerminals:
    """Issue 14: names on the most common terminal size and smaller, without colour, in a C locale."""

    def test_80x24(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        assert snap_compare(DivepyApp(tomcat), run_before=_settled("end", "tab"), terminal_size=(80, 24))

    def test_60x20(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        assert snap_compare(DivepyApp(tomcat), run_before=_settled("tab"), terminal_size=(60, 20))

    def test_ascii_with_markers_80x24(self, snap_compare, tomcat: Analysis) -> None:  # noqa: ANN001
        config = UiConfig(markers=True, ascii_only=True)
        assert snap_compare(DivepyApp(tomcat, config=config), run_before=_settled("end", "tab"), terminal_size=(80, 24))
