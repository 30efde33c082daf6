"""Issue 24 item 5: one layer numbering everywhere, the explorer's (from 0).

The seed's one hint is the copy of ``webapps.dist`` (made in the Layers pane's layer 2) to ``webapps`` in the
Layers pane's layer 4; the explorer, ``--json``, ``--ci``, Markdown and JUnit must all name those two numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.cli.main import main
from dive_py.ui.app import DivepyApp
from dive_py.ui.hints_screen import HintsScreen
from tests.fixtures.paths import EXAMPLE

COPY_LAYER, SOURCE_LAYER = 4, 2
"""The Layers pane's rows: the layer that copies webapps.dist, and the one that made webapps.dist."""
FIX = f"instead of copying /usr/local/tomcat/webapps.dist (from layer {SOURCE_LAYER})"


def _layer_of(path: str, analysis: Analysis) -> int:
    """The layer (its index, as the Layers pane numbers it) whose own files first hold ``path``: the known
    answer, read from the layers' file lists rather than from any report."""
    for layer in analysis.image.layers:
        if analysis.tree.get(path.lstrip("/")).state(layer.index) is not None:
            return layer.index
    raise AssertionError(f"{path} is in no layer")


def test_the_expected_layers_are_the_layers_pane_rows(tomcat: Analysis) -> None:
    assert _layer_of("/usr/local/tomcat/webapps.dist", tomcat) == SOURCE_LAYER
    assert _layer_of("/usr/local/tomcat/webapps/ROOT", tomcat) == COPY_LAYER


async def test_the_explorer_names_layer_4_from_layer_2(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane = app.explorer.layers_pane
        assert pane.line_text(COPY_LAYER, 140).split()[0] == str(COPY_LAYER)  # unmarked: no compare mark
        pane.action_move(COPY_LAYER)
        await pilot.pause()
        details = app.explorer.layer_details.extras.render().plain
        assert FIX in details
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HintsScreen)
        assert screen.hint_list.line(0).split()[3] == str(COPY_LAYER)
        detail = str(screen.query_one("#hint-detail").render())
        assert f"Layer:   {COPY_LAYER}: " in detail and FIX in detail
        await pilot.press("enter")
        await pilot.pause()
        assert app.explorer.layers_pane.cursor_row == COPY_LAYER


def test_every_report_names_layer_4_from_layer_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, md, junit = tmp_path / "out.json", tmp_path / "s.md", tmp_path / "j.xml"
    argv = [str(EXAMPLE), "--ci", "--no-cache", "--json", str(out), "--markdown", str(md), "--junit", str(junit)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    hint = json.loads(out.read_text())["hints"][0]
    assert hint["layer"] == COPY_LAYER and FIX in hint["fix"]
    assert f"duplicate-content  layer {COPY_LAYER}: /usr/local/tomcat/webapps" in text and FIX in text
    markdown = md.read_text()
    # the Dockerfile column (the seed's last layer: made by docker commit) sits between layer and paths
    assert re.search(rf"\| duplicate-content \| {COPY_LAYER} \|[^|]*\| `/usr/local/tomcat/webapps` \|", markdown)
    assert FIX in markdown
    xml = junit.read_text()
    assert f"duplicate-content layer {COPY_LAYER} /usr/local/tomcat/webapps" in xml and FIX in xml
    assert "layer 0 at the left" in markdown  # the Mermaid chart's axis counts from 0 too
    chartless = re.sub(r"```mermaid.*?```", "", markdown, flags=re.S)
    every = "\n".join((text, chartless, xml, hint["fix"]))
    assert set(re.findall(r"layer (\d+)", every)) == {str(COPY_LAYER), str(SOURCE_LAYER)}
