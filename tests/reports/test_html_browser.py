"""The HTML reports in a real browser: headless Chromium (Debian's ``chromium``; .ci/services.sh installs it) opens
each page from disk over the DevTools protocol on a pipe. No console error, exception or dialog (an ``alert`` from
an image's name would be one); folder views open by their anchors; the screenshot has the window's shape and is not
blank, the page its expected height, never compared pixel by pixel. Skipped when Chromium is absent.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from dive_py.analysis.compare import compare
from dive_py.analysis.load import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import build_rules, evaluate
from dive_py.load.options import LoadOptions
from dive_py.reports.html_diff import html_diff
from dive_py.reports.html_report import html_report
from tests.fixtures.chromium import Chromium, find_chromium, png_size
from tests.fixtures.html_pages import HOSTILE_NAMES, hostile_image
from tests.fixtures.paths import EXAMPLE
from tests.fixtures.truncate import write_first_layers

pytest.importorskip("squarify")
pytestmark = pytest.mark.skipif(find_chromium() is None, reason="needs chromium (apt-get install chromium)")

NO_CACHE = LoadOptions(use_cache=False)
WIDTH, HEIGHT = 1280, 1600
PAGE_HEIGHT = "document.documentElement.scrollHeight"


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - Chromium
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def seed():  # noqa: ANN201 - Analysis
    return load_analysis(str(EXAMPLE), NO_CACHE)


def _distinct_bytes(png: bytes) -> int:
    """Distinct byte values in the image data: a blank page's filtered rows hold two or three, a drawn one many."""
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        if png[at + 4 : at + 8] == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(data)))


def _open(browser: Chromium, path: Path, **evaluate: str):  # noqa: ANN202 - PageRun
    return browser.open(path, WIDTH, HEIGHT, evaluate={"height": PAGE_HEIGHT, **evaluate})


def test_the_seed_page_opens_without_errors_and_has_its_shape(browser, seed, tmp_path):
    page = tmp_path / "seed.html"
    page.write_text(html_report(seed, evaluate(build_rules(CiConfig()), seed)), encoding="utf-8")
    run = _open(
        browser,
        page,
        views='[...document.querySelectorAll(".tmview")].filter(e => getComputedStyle(e).display !== "none").length',
        treemap='document.querySelector("#tm-0 svg").getBoundingClientRect().width',
        script="typeof window.divepyData === 'object' && window.divepyData.layers.length",
    )
    assert run.errors == []
    assert png_size(run.png) == (WIDTH, HEIGHT) and _distinct_bytes(run.png) > 50
    assert 2000 < run.values.pop("height") < 8000
    assert run.values == {"views": 1, "treemap": pytest.approx(WIDTH - 32, abs=40), "script": 5}
    assert 0 <= run.timings["load"] < 5000


def test_a_folder_view_opens_by_its_anchor_and_sorting_works(browser, seed, tmp_path):
    page = tmp_path / "seed.html"
    page.write_text(html_report(seed), encoding="utf-8")
    zoom = (
        'location.hash = "#tm-1"; [...document.querySelectorAll(".tmview")]'
        '.filter(e => getComputedStyle(e).display !== "none").map(e => e.id).join(",")'
    )
    sort = (
        'var t = document.querySelector("#inefficient + p + table"), th = t.querySelectorAll("th")[1], out = [];'
        "th.click(); out.push(+t.tBodies[0].rows[0].cells[1].getAttribute('data-v'));"
        "th.click(); out.push(+t.tBodies[0].rows[0].cells[1].getAttribute('data-v')); out"
    )
    hover = (
        "var cell = document.querySelector(\"#tm-0 [data-l='4'] rect\"), box = cell.getBoundingClientRect();"
        'cell.dispatchEvent(new MouseEvent("mousemove", {bubbles: true, clientX: box.x + 2, clientY: box.y + 2}));'
        'document.getElementById("tip").textContent'
    )
    run = _open(browser, page, hover=hover, zoom=zoom, sort=sort)
    assert run.errors == []
    assert "/usr/local/tomcat/webapps" in run.values["hover"] and "layer 4: sleep 1000" in run.values["hover"]
    assert run.values["zoom"] == "tm-1"
    wasted = [item.cumulative_bytes for item in seed.inefficiencies]
    assert run.values["sort"] == [min(wasted), max(wasted)]  # one click ascending, the next descending


def test_markup_names_run_no_script_in_the_browser(browser, tmp_path):
    analysis = load_analysis(str(hostile_image(tmp_path)), NO_CACHE, hint_min_bytes=1)
    page = tmp_path / "hostile.html"
    page.write_text(html_report(analysis, evaluate(build_rules(CiConfig()), analysis)), encoding="utf-8")
    run = _open(
        browser,
        page,
        text="document.body.textContent",
        scripts="document.scripts.length",
        images="document.images.length",
    )
    assert run.errors == []  # no alert dialog, no console error
    assert run.values["scripts"] == 2 and run.values["images"] == 0
    assert HOSTILE_NAMES[0] in run.values["text"]


def test_the_diff_page_opens_without_errors(browser, seed, tmp_path):
    parent = load_analysis(str(write_first_layers(EXAMPLE, tmp_path / "parent.tar", 4)), NO_CACHE)
    page = tmp_path / "diff.html"
    page.write_text(html_diff(compare(parent, seed)), encoding="utf-8")
    run = _open(browser, page, rows='document.querySelectorAll("#biggest + table tbody tr").length')
    assert run.errors == []
    assert png_size(run.png) == (WIDTH, HEIGHT) and _distinct_bytes(run.png) > 50
    assert run.values["height"] > 5000
    assert run.values["rows"] == 300


def test_the_page_reads_and_zooms_with_scripts_off(browser, seed, tmp_path):
    page = tmp_path / "seed.html"
    page.write_text(html_report(seed), encoding="utf-8")
    shown = '[...document.querySelectorAll(".tmview")].filter(e => getComputedStyle(e).display !== "none")'
    run = browser.open(
        page,
        WIDTH,
        HEIGHT,
        scripts=False,
        evaluate={
            "scripted": "window.divepyData === undefined && document.getElementById('tip') === null",
            "root": shown + ".map(e => e.id).join()",
            "zoomed": 'location.hash = "#tm-2"; ' + shown + ".map(e => e.id).join()",
            "cells": 'document.querySelectorAll("#tm-0 rect").length',
        },
    )
    assert run.errors == []
    assert run.values["scripted"] is True  # the page's script did not run
    assert run.values["root"] == "tm-0" and run.values["zoomed"] == "tm-2" and run.values["cells"] > 100
    assert _distinct_bytes(run.png) > 50
