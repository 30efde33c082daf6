"""Hostile text in the explorer (issue 25): a name is drawn as text, never as Textual markup, and its control and
bidi characters as escapes, in the tree, titles, notifications, details and the file view."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.content import Content

from dive_py.analysis.from_reference import load_analysis
from dive_py.safe_text import visible
from dive_py.ui.app import DivepyApp
from tests.fixtures import hostile as h
from tests.fixtures.ui_probes import record_notes, screen_text
from tests.load.test_hostile_display import raw_controls


def plain(markup: str) -> str:
    """A border title as shown (Textual gives titles back as markup)."""
    return Content.from_markup(markup).plain


async def test_markup_in_a_name_never_acts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where the name's app.screenshot would write
    analysis = load_analysis(str(tmp_path / h.hostile_text_image(tmp_path, h.MARKUP_NAME)))
    path = f"/srv/{h.MARKUP_NAME}"
    app = DivepyApp(analysis)
    posted = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        assert app.explorer.go_to_path(path)
        await pilot.press("enter")  # the file view
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert plain(app.screen.query_one("#file-view-box").border_title) == f"{path} at layer 0"
        await pilot.press("escape", "x")  # the extract dialog
        await pilot.pause()
        box = app.screen.query_one("#extract-box")
        assert plain(box.border_title) == f"Extract {path} as in layer 0"
        for x in range(12, 24):  # the cells the markup would make clickable ("click"): no click runs anything
            await pilot.click(box, offset=(x, 0))
        app.screen.query_one("Input").value = str(tmp_path / "out")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [(n.message, n.markup) for n in posted]
        assert (f"extracted 1 path to {tmp_path / 'out' / h.MARKUP_NAME}", False) in messages, messages
        assert not app.explorer.go_to_path("/[@click=app.quit]gone[/]")
        await pilot.pause()
        last = posted[-1]  # drawn as text: a click on the toast quits nothing
        assert (last.message, last.markup) == (
            "/[@click=app.quit]gone[/] is not shown at this layer or is filtered out",
            False,
        )
        for y in range(app.size.height - 8, app.size.height):
            await pilot.click(offset=(app.size.width - 20, y))
        assert app.is_running
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tar", "out"], "a click wrote a file"


async def test_escapes_in_names_commands_and_contents_are_drawn_visible(tmp_path: Path) -> None:
    command = h.ESCAPE_NAME + h.FORGED_NAME
    archive = h.hostile_text_image(tmp_path, h.ESCAPE_NAME, command=command, author=h.ESCAPE_NAME)
    analysis = load_analysis(str(tmp_path / archive))
    app = DivepyApp(analysis)
    async with app.run_test(size=(300, 50)) as pilot:
        assert app.explorer.go_to_path(f"/srv/{h.ESCAPE_NAME}")
        await pilot.pause()
        text = screen_text(app)
        assert not raw_controls(text), [c for c in raw_controls(text)][:5]
        assert visible(h.ESCAPE_NAME) in text  # the tree row and the inefficient files
        assert f"{visible(h.ESCAPE_NAME)}.lnk → {visible(h.ESCAPE_NAME)[:30]}" in text  # the link and its target
        app.explorer.layers_pane.focus()
        await pilot.press("down")  # layer 1: its command and author in the details
        await pilot.pause()
        text = screen_text(app)
        assert not raw_controls(text)
        assert visible(command)[:40] in text
        app.explorer.go_to_path(f"/srv/{h.ESCAPE_NAME}")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert not raw_controls(text)
        assert "\\x1b]52;c;cHduZWQ=\\x07" in app.screen.shown_text and "\x1b" not in app.screen.shown_text
