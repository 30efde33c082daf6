"""Hostile text (issue 25): names, link targets, commands, authors and tags that try to act on the terminal,
forge report lines or become live Markdown; every text output shows them inert, JSON keeps them exact.

The explorer's side (markup in titles and notifications) is in ``tests/ui/test_ui_hostile.py``; random names
through every output in ``tests/reports/test_hostile_property.py``.
"""

from __future__ import annotations

import http.server
import json
import threading
import unicodedata
import xml.etree.ElementTree as ET

from markdown_it import MarkdownIt

from dive_py.safe_text import visible, visible_lines
from tests.fixtures import hostile as h
from tests.fixtures.cli_run import run

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LIVE_MARKDOWN = {"link_open", "image", "html_inline", "html_block"}
"""Tokens that would make a name act in a rendered report (the report itself has none)."""


def raw_controls(text: str) -> list[str]:
    """Characters that drive a terminal or reorder text, found raw in ``text`` (line breaks aside)."""
    return [
        c
        for c in text
        if (unicodedata.category(c) == "Cc" and c != "\n") or c in BIDI or unicodedata.category(c) == "Cs"
    ]


def markdown_tokens(text: str) -> list:
    """Every token of ``text`` as GitHub-like renderers parse it: tables, and bare URLs linked (linkify)."""
    parser = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])
    tokens = []
    for token in parser.parse(text):
        tokens.append(token)
        tokens.extend(token.children or [])
    return tokens


# -- the helper itself ------------------------------------------------------------------------------------------


def test_visible_escapes_controls_and_bidi_and_leaves_the_rest():
    assert visible(h.ESCAPE_NAME) == "\\x1b]52;c;cHduZWQ=\\x07\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe"
    assert visible("a\nb\tc\rd\x7f\u2066\u2028") == "a\\nb\\tc\\rd\\x7f\\u2066\\u2028"
    assert visible("tgt\udcff") == "tgt\\xff"  # an undecodable byte of a link target, as the byte
    for ordinary in ("usr/lib/python3.11/site-packages/é.py", "日本語 ファイル", "a\\nb", "[b]x[/b]", " ", ""):
        assert visible(ordinary) is ordinary  # untouched, not even copied
    assert visible_lines("line 1\n\tline 2\x1b[2J\r") == "line 1\n\tline 2\\x1b[2J\\r"
    assert not raw_controls(visible("".join(map(chr, range(0x110000)))))


# -- item 2: --ci, the summary, diff, warnings, error lines ------------------------------------------------------


def test_ci_report_shows_names_commands_and_tags_inert(in_tmp, capsys):
    for name in h.HOSTILE_NAMES:
        archive = h.hostile_text_image(in_tmp, name, archive="img.tar")
        code, out, err = run([archive, "--ci"], capsys)
        assert code == 1, err
        assert not raw_controls(out + err), (name, out)
        # a newline in a name forges no verdict: the rule lines are the 10 rules, one result line
        verdicts = [line for line in out.splitlines() if line.startswith(("  PASS:", "  FAIL:", "  SKIP:"))]
        assert len(verdicts) == 10 and sum(line.startswith("Result:") for line in out.splitlines()) == 1, out
        assert f"/srv/{visible(name)}" in out


def test_summary_shows_commands_and_names_inert(in_tmp, capsys):
    archive = h.hostile_text_image(in_tmp, h.ESCAPE_NAME, command=h.ESCAPE_NAME)
    code, out, err = run([archive], capsys)
    assert code == 0, err
    assert not raw_controls(out + err), out
    assert visible(h.ESCAPE_NAME) in out


def test_diff_text_shows_both_images_names_inert(in_tmp, capsys):
    base = h.hostile_text_image(in_tmp, h.ESCAPE_NAME, archive="base.tar")
    new = h.hostile_text_image(in_tmp, h.FORGED_NAME, archive="new.tar")
    code, out, err = run(["diff", base, new], capsys)
    assert code == 0, err
    assert not raw_controls(out + err), out
    assert visible(f"/srv/{h.FORGED_NAME}.lnk") in out and visible(f"/srv/{h.ESCAPE_NAME}.lnk") in out


def test_warnings_and_error_lines_are_one_inert_line(in_tmp, capsys):
    archive = h.hostile_text_image(in_tmp, h.ESCAPE_NAME)
    code, _out, err = run(["cat", archive, f"/srv/{h.ESCAPE_NAME}\n{h.FORGED_NAME}"], capsys)  # not there: quoted
    assert code == 2 and len(err.splitlines()) == 1 and not raw_controls(err), err
    assert err.startswith("divepy: error: ")
    # a hard link to a missing path is warned about, naming both
    layer = h.layer_tar(h.BASE + [h.M(f"etc/{h.ESCAPE_NAME}", "hardlink", link=f"gone/{h.FORGED_NAME}")])
    archive = h.docker_archive(in_tmp, [layer])
    code, _out, err = run([archive, "--json", "out.json"], capsys)
    assert code == 0 and "warning" in err, err
    assert not raw_controls(err), err
    assert all(line.startswith("divepy: warning: ") for line in err.splitlines()), err


def test_extract_warnings_and_result_line_are_inert(in_tmp, capsys):
    fifo = h.M(f"srv/{h.ESCAPE_NAME}.fifo", "fifo")
    archive = h.docker_archive(in_tmp, [h.layer_tar(h.BASE + [h.folder("srv"), fifo])])
    code, out, err = run(["extract", archive, "/srv", "out"], capsys)
    assert code == 0, err
    assert "skipped" in err and not raw_controls(out + err), err


# -- JSON keeps exact values ---------------------------------------------------------------------------------------


def test_json_keeps_names_commands_and_tags_exact(in_tmp, capsys):
    archive = h.hostile_text_image(in_tmp, h.FORGED_NAME, command=h.ESCAPE_NAME, link="tgt\udcff\x1b")
    code, out, err = run([archive, "--json", "-"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["image"]["tags"] == ["evil\x1b[2J[b]:latest"]
    assert data["image"]["fileReference"][0]["file"] == f"/srv/{h.FORGED_NAME}"
    files = {f["path"]: f for f in data["layer"][0]["fileList"]}
    assert files[f"srv/{h.FORGED_NAME}.lnk"]["linkName"] == "tgt\udcff\x1b"  # the byte 0xff, surrogate-escaped
    assert data["layer"][1]["command"].endswith(h.ESCAPE_NAME)


# -- item 3: Markdown and JUnit --------------------------------------------------------------------------------------


def test_markdown_report_makes_no_link_image_or_html_from_names(in_tmp, capsys):
    for name in h.HOSTILE_NAMES:
        archive = h.hostile_text_image(in_tmp, name, tag="[x](https://evil.example):latest")
        code, _out, err = run([archive, "--ci", "--markdown", "report.md"], capsys)
        assert code == 1, err
        text = (in_tmp / "report.md").read_text(encoding="utf-8")
        tokens = markdown_tokens(text)
        assert not [t for t in tokens if t.type in LIVE_MARKDOWN], (name, text)
        assert not raw_controls(text)
        # the path is one code span, whole: no backtick run in the name closed it early
        assert f"/srv/{visible(name)}" in [t.content for t in tokens if t.type == "code_inline"], text


def test_markdown_fence_outruns_the_names_longest_backtick_run(in_tmp, capsys):
    name = "a```b`c ``"
    archive = h.hostile_text_image(in_tmp, name)
    run([archive, "--ci", "--markdown", "report.md"], capsys)
    text = (in_tmp / "report.md").read_text(encoding="utf-8")
    assert f"```` /srv/{name} ````" in text
    assert f"/srv/{name}" in [t.content for t in markdown_tokens(text) if t.type == "code_inline"]


def test_junit_parses_whatever_the_names_hold(in_tmp, capsys):
    name = "ctl\x01\x08\x0b\x0c\x1b\x7f\ufffe-end"
    archive = h.hostile_text_image(in_tmp, name, archive="t\x01\x1b.tar")  # the image's name is its file's
    code, _out, err = run([archive, "--ci", "--junit", "report.xml"], capsys)
    assert code == 1, err
    root = ET.parse(in_tmp / "report.xml").getroot()  # XML 1.0 forbids \x01 etc.: raw, this would not parse
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["image"] == visible("t\x01\x1b.tar")
    out = "".join(e.text or "" for e in root.iter("system-out"))
    assert f"/srv/{visible(name)}" in out


class _HostileRegistry(http.server.BaseHTTPRequestHandler):
    """Answers every request with an error whose code and message drive the terminal."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        errors = [{"code": "\x9b31mBAD", "message": "\x1b]0;pwned\x07\x1b[2J\n  PASS: forged"}]
        body = json.dumps({"errors": errors}).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_registry_error_bodies_reach_the_error_line_inert(in_tmp, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostileRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        ref = f"registry://127.0.0.1:{server.server_address[1]}/x:latest"
        code, _out, err = run([ref, "--insecure", "--ci", "--no-cache"], capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("divepy: error: "), err
    assert not raw_controls(err), err
    assert "\\x1b]0;pwned" in err  # shown, as an escape
