"""``divepy audit --html``'s page: the ranked table, a bar per image, the shared bases and the unreadable images, from
real archives audited in-process; markup in references, commands, hints and errors shown as text; and the same page
in headless Chromium with no console error, sortable with scripts and complete without them (skipped without
Chromium). The command line's ways to write it are in tests/cli/test_audit_cli.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dive_py.ci.audit import AuditSettings, audit_image
from dive_py.reports.html_audit import html_audit
from dive_py.reports.html_page import SCRIPT
from tests.fixtures.chromium import Chromium, find_chromium
from tests.fixtures.html_pages import HOSTILE_COMMAND, hostile_image, parse_page
from tests.fixtures.images import file, layer_tar, write_docker_archive
from tests.fixtures.paths import EXAMPLE

SETTINGS = AuditSettings(use_cache=False, hint_min_bytes=1)
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "div", "span", "b", "i", "table",
    "caption", "thead", "tbody", "tr", "th", "td", "code", "ul", "li", "script",
}  # fmt: skip
"""Every element the audit page writes; anything else came from an image's text."""
HOSTILE_REF = "<img src=x onerror=alert(5)>.tar"
"""An archive name that is markup (no ``/``: it is a file name); it does not exist, so its row is an error."""


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[dict]:
    folder = tmp_path_factory.mktemp("audit")
    base = layer_tar([file("base/data.bin", os.urandom(64_000))])
    for name, wasted in (("lean.tar", 0), ("fat.tar", 20_000)):
        top = [file("app/main", b"m" * 3000)] + ([file("base/data.bin", os.urandom(wasted))] if wasted else [])
        write_docker_archive(folder / name, [base, layer_tar(top)])
    refs = [str(folder / "lean.tar"), str(folder / "fat.tar"), str(EXAMPLE), str(hostile_image(folder)),
            str(folder / HOSTILE_REF)]  # fmt: skip
    return [audit_image(ref, SETTINGS) for ref in refs]


def test_the_page_ranks_the_images_and_lists_bars_bases_and_unreadable_ones(rows):
    page = html_audit(rows, ci=True)
    parsed = parse_page(page)
    ranked = page[page.index('id="ranked"') : page.index('id="sizes"')]
    order = sorted((row["ref"] for row in rows if not row["error"]), key=lambda ref: ranked.index(f'"mono">{ref}<'))
    assert [Path(ref).name for ref in order] == ["tomcat02.tar", "fat.tar", "hostile.tar", "lean.tar"]
    assert ranked.index("fat.tar") < ranked.index("lean.tar") < ranked.index("alert(5)")  # the unreadable one last
    bars = page[page.index('id="sizes"') : page.index('id="shared"')]
    assert bars.count('class="abar"') == 4 and bars.count('class="aw"') == 4 and bars.count('class="af"') == 4
    assert 'class="abar" style="width:100.00%"' in bars  # the seed, the biggest
    shared = page[page.index('id="shared"') : page.index('id="unreadable"')]
    assert '<td class="num" data-v="2">2</td>' in shared  # the base of lean and fat
    unreadable = page[page.index('id="unreadable"') :]
    assert "Images that could not be read (1)" in unreadable and "&lt;img src=x onerror=alert(5)&gt;.tar" in unreadable
    assert [attrs.get("class") for tag, attrs in parsed.tags if tag == "table"] == ["sortable", "sortable"]
    assert "PASS" in ranked and 'class="fail">unreadable' in ranked


def test_markup_from_images_stays_text(rows):
    page = html_audit(rows, ci=True)
    parsed = parse_page(page)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    assert not [attrs for _tag, attrs in parsed.tags if any(name.startswith("on") for name in attrs)]
    assert [text.strip() for _attrs, text in parsed.scripts] == [SCRIPT.strip()]  # the page's own script only
    text = "".join(parsed.text)
    assert HOSTILE_REF in text
    hostile = next(row for row in rows if row["ref"].endswith("hostile.tar"))
    assert hostile["top_hint"]["fix"] in text  # the fix names markup paths
    assert any(HOSTILE_COMMAND in layer["command"] for layer in hostile["layers"])


def test_an_audit_of_unreadable_images_only_is_still_a_page():
    rows = [{"ref": "</style><script>alert(6)</script>", "error": "\x1b[31mno such file", "warnings": []}]
    parsed = parse_page(html_audit(rows))
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    text = "".join(parsed.text)
    assert "</style><script>alert(6)</script>" in text and "\\x1b[31mno such file" in text


@pytest.mark.skipif(find_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_the_page_opens_in_chromium_without_errors_and_sorts(rows, tmp_path):
    page = tmp_path / "audit.html"
    page.write_text(html_audit(rows, ci=True), encoding="utf-8")
    first = 'document.querySelector("#ranked + table").tBodies[0].rows[0].cells[1].textContent'
    sort = 'document.querySelector("#ranked + table").querySelectorAll("th")[2].click(); ' + first
    with Chromium() as browser:
        run = browser.open(page, 1280, 900, evaluate={"text": "document.body.textContent", "sort": sort})
        off = browser.open(page, 1280, 900, scripts=False, evaluate={"first": first})
    assert run.errors == [] and off.errors == []  # no alert from a name, no console error
    assert HOSTILE_REF in run.values["text"]
    assert run.values["sort"].endswith("/" + HOSTILE_REF)  # sorted by size, ascending: the unreadable image (-1) first
    assert off.values["first"] == str(EXAMPLE)  # without scripts: the ranked order, most wasted first
