"""Random hostile text through every output (issue 25): control characters, bidi marks, markup, Markdown and
random bytes as file names, link targets, commands, authors and tags; nothing is interpreted anywhere.

Text reports (``--ci``, the summary, ``diff``) and the explorer (rows and titles, under Pilot) show no raw
control or bidi character and forge no line; ``--json`` gives back the exact values; the Markdown report, parsed
by markdown-it with tables and bare-URL linking, has no link, image or HTML token; the JUnit file parses; the
HTML page holds only its own elements.
Few examples, derandomized: the same cases on every run, in seconds.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.content import Content

from dive_py.analysis.from_reference import load_analysis
from dive_py.safe_text import visible
from dive_py.ui.app import DivepyApp
from tests.fixtures import hostile as h
from tests.fixtures.cli_run import run
from tests.fixtures.html_pages import parse_page
from tests.fixtures.ui_probes import screen_text
from tests.load.test_hostile_display import LIVE_MARKDOWN, markdown_tokens, raw_controls
from tests.reports.test_html_report import ALLOWED_TAGS

PIECES = [
    *"\x1b\x07\x9b\x85\x00\x7f\n\r\t\u202e\u2066\u200f\u2028[]@=()`|*_<>!&#~\\:. ",
    "[@click=app.quit]",
    "[b]",
    "[/]",
    "\x1b]52;c;cHduZWQ=\x07",
    "\x1b]0;title\x07",
    "\x1b[2J",
    "](javascript:alert(1))",
    "![i](x.png)",
    "www.evil.example",
    "a@evil.example",
    "<img src=x>",
    "```",
    "\n  PASS: forged\nResult: PASS",
]
"""What attacks: escape sequences, line breaks, bidi overrides, Textual markup, Markdown and HTML."""

hostile_text = st.lists(st.one_of(st.sampled_from(PIECES), st.characters(codec="utf-8")), min_size=1, max_size=10).map(
    "".join
)
random_bytes_text = st.binary(min_size=1, max_size=24).map(lambda b: b.decode("utf-8", "surrogateescape"))
"""Random bytes as Python keeps undecodable ones (surrogate escapes): a name that is not UTF-8 is refused."""


def usable_name(text: str) -> str:
    """``text`` as one member name: no NUL (tar ends a name there) or ``/``, not ``.``, ``..`` or a whiteout."""
    name = text.replace("\0", "").replace("/", "")
    return "n" + name if name in ("", ".", "..") or name.startswith(".wh.") else name


names = st.one_of(hostile_text, random_bytes_text).map(usable_name)
links = st.one_of(hostile_text, random_bytes_text).map(lambda text: text.replace("\0", ""))
"""Link targets (a NUL ends one on disk; how a tar's NUL is read is the tar reader's business, not the display's)."""
SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def build(folder: Path, name: str, command: str, tag: str, link: str, archive: str = "img.tar") -> str:
    return h.hostile_text_image(folder, name, command=command, author=command, tag=tag, link=link, archive=archive)


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=20, **SETTINGS)
@given(name=names, command=hostile_text, tag=hostile_text, link=links)
@example(name=h.FORGED_NAME, command=h.ESCAPE_NAME, tag=h.MARKUP_NAME, link="tgt\udcff\x1b")
@example(name="caf\udce9", command="c", tag="t:1", link="l")  # not UTF-8: refused
def test_reports_show_hostile_text_inert_and_json_keeps_it(name, command, tag, link, capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        monkeypatch.chdir(tmp)
        archive = build(tmp, name, command, tag, link)
        argv = [
            archive,
            "--ci",
            "--json",
            "out.json",
            "--markdown",
            "out.md",
            "--junit",
            "out.xml",
            "--html",
            "out.html",
        ]
        code, out, err = run(argv, capsys)
        assert not raw_controls(out + err), (out, err)
        if not is_utf8(name):  # refused: one inert error line
            assert code == 2 and len(err.splitlines()) == 1 and err.startswith("divepy: error: "), err
            return
        assert code == 1, err
        lines = out.splitlines()
        assert sum(line.startswith(("  PASS:", "  FAIL:", "  SKIP:")) for line in lines) == 10, out
        assert sum(line.startswith("Result:") for line in lines) == 1, out
        assert f"/srv/{visible(name)}" in out

        data = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
        assert data["image"]["tags"] == [tag]
        assert data["image"]["fileReference"][0]["file"] == f"/srv/{name}"
        assert data["layer"][1]["command"] == command
        files = {f["path"]: f for f in data["layer"][0]["fileList"]}
        assert files[f"srv/{name}.lnk"]["linkName"] == link

        markdown = (tmp / "out.md").read_text(encoding="utf-8")
        tokens = markdown_tokens(markdown)
        ours = [t for t in tokens if t.type == "link_open" and t.attrs.get("href") == "out.html"]  # --html's line
        assert len(ours) == 1 and not [t for t in tokens if t.type in LIVE_MARKDOWN and t not in ours], markdown
        assert f"/srv/{visible(name)}" in [t.content for t in tokens if t.type == "code_inline"], markdown

        ET.parse(tmp / "out.xml")  # raises on any character XML 1.0 forbids

        page = parse_page((tmp / "out.html").read_text(encoding="utf-8"))
        assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
        assert not [attrs for _tag, attrs in page.tags if any(key.startswith("on") for key in attrs)]
        assert f"/srv/{visible(name)}" in "".join(page.text)

        code, out, err = run([archive], capsys)  # the summary: commands too
        assert code == 0 and not raw_controls(out + err), out
        other = build(tmp, "plain", "true", "base:1", "target", archive="base.tar")
        code, out, err = run(["diff", other, archive], capsys)
        assert code == 0 and not raw_controls(out + err), out
        assert f"/srv/{visible(name)}.lnk" in out


async def _explore(archive: Path, name: str) -> None:
    app = DivepyApp(load_analysis(str(archive)))
    path = f"/srv/{name}"
    async with app.run_test(size=(240, 40)) as pilot:
        assert app.explorer.go_to_path(path)
        await pilot.pause()
        text = screen_text(app)
        assert not raw_controls(text)
        assert visible(path)[5:35] in text  # the row (and the inefficient files)
        await pilot.press("enter")  # the file view: its title is the name, read as text
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert Content.from_markup(app.screen.query_one("#file-view-box").border_title).plain == (
            f"{visible(path)} at layer 0"
        )
        assert not raw_controls(screen_text(app))
        await pilot.press("escape", "x")  # the extract dialog's title
        await pilot.pause()
        title = Content.from_markup(app.screen.query_one("#extract-box").border_title).plain
        assert title == f"Extract {visible(path)} as in layer 0"
        assert app.is_running


@settings(max_examples=4, **SETTINGS)
@given(name=hostile_text.map(usable_name), command=hostile_text, link=links)
@example(name=h.MARKUP_NAME, command=h.FORGED_NAME, link=h.ESCAPE_NAME)
def test_explorer_draws_hostile_text_inert(name, command, link):
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        archive = tmp / build(tmp, name, command, "t:1", link)
        asyncio.run(_explore(archive, name))
