"""``--html FILE``: the page of the seed (the commit layer last, ``webapps`` in its colour with the hint outlined),
its diff against its parent, escaping of everything from the image, the CLI's ways to write it, and the Markdown
summary's Mermaid chart and link line. The browser's view of the same pages is in test_html_browser.py.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dive_py.analysis.compare import compare
from dive_py.analysis.load import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import build_rules, evaluate
from dive_py.cli.main import main
from dive_py.load.options import LoadOptions
from dive_py.reports.html_diff import html_diff
from dive_py.reports.html_page import layer_colour
from dive_py.reports.html_report import html_report
from dive_py.reports.markdown import markdown_summary
from dive_py.safe_text import visible
from tests.fixtures.html_pages import HOSTILE_COMMAND, HOSTILE_NAMES, hostile_image, parse_page
from tests.fixtures.images import file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import EXAMPLE, PYTHON, child_env
from tests.fixtures.truncate import write_first_layers

pytest.importorskip("squarify")

NO_CACHE = LoadOptions(use_cache=False)
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "div", "b", "i", "a", "span",
    "table", "caption", "thead", "tbody", "tr", "th", "td", "code", "br", "section", "nav", "svg", "rect", "text",
    "g", "details", "summary", "ul", "li", "script",
}  # fmt: skip
"""Every element the reports write; anything else in a page came from an image's text."""


@pytest.fixture(scope="module")
def seed():  # noqa: ANN201 - Analysis
    return load_analysis(str(EXAMPLE), NO_CACHE)


@pytest.fixture(scope="module")
def seed_page(seed) -> str:  # noqa: ANN001
    return html_report(seed, evaluate(build_rules(CiConfig()), seed))


def _cells(page: str) -> dict[str, dict]:
    """The treemap's cells of the root view by the path their title starts with: fill, class, title."""
    root = page[page.index('id="tm-0"') : page.index("</section>", page.index('id="tm-0"'))]
    cells = {}
    for match in re.finditer(r"<(?:g|a)[^>]*><title>([^<]*)</title><rect ([^>]*)/>", root):
        title, attrs = match.group(1), match.group(2)
        cells[html.unescape(title).split("  ")[0]] = {"attrs": attrs, "title": title}
    return cells


def test_the_seed_shows_the_commit_layer_last_and_webapps_in_its_colour_with_the_hint_outlined(seed, seed_page):
    parsed = parse_page(seed_page)
    bar = [attrs for tag, attrs in parsed.tags if tag == "a" and attrs.get("href", "").startswith("#layer-")]
    assert [a["href"] for a in bar] == [f"#layer-{i}" for i in range(5)]
    assert "sleep 1000" in bar[-1]["title"] and layer_colour(4) in bar[-1]["style"]
    cells = _cells(seed_page)
    webapps = cells["/usr/local/tomcat/webapps/"]
    assert f'fill="{layer_colour(4)}"' in webapps["attrs"] and 'class="hint"' in webapps["attrs"]
    inside = [c for path, c in cells.items() if path.startswith("/usr/local/tomcat/webapps/") and "layer" in c["title"]]
    assert len(inside) > 20
    assert all(f'fill="{layer_colour(4)}"' in c["attrs"] for c in inside)  # every file there: the commit layer's
    dist = cells["/usr/local/tomcat/webapps.dist/"]
    assert f'fill="{layer_colour(2)}"' in dist["attrs"] and 'class="hint"' not in dist["attrs"]
    assert "duplicate-content" in seed_page and 'CI rules: <span class="pass">PASS</span>' in seed_page


def test_the_page_is_self_contained_and_every_chart_has_text(seed_page):
    parsed = parse_page(seed_page)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    for _tag, attrs in parsed.tags:
        assert "src" not in attrs
        assert not attrs.get("href", "#").split("#")[0], attrs  # only anchors in the page
    for svg in [attrs for tag, attrs in parsed.tags if tag == "svg"]:
        assert svg["role"] == "img" and svg["aria-label"]
    assert 'role="img" aria-label="Layer sizes' in seed_page and "Layers, bottom (0) to top" in seed_page
    assert len(seed_page) < 2_000_000


def test_names_and_commands_from_the_image_stay_text(tmp_path):
    analysis = load_analysis(str(hostile_image(tmp_path)), NO_CACHE, hint_min_bytes=1)
    page = html_report(analysis, evaluate(build_rules(CiConfig()), analysis))
    parsed = parse_page(page)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    assert not [attrs for _tag, attrs in parsed.tags if any(name.startswith("on") for name in attrs)]
    assert [attrs.get("type") for attrs, _ in parsed.scripts] == ["application/json", None]
    text = "".join(parsed.text)
    for name in HOSTILE_NAMES:
        assert visible(f"/srv/{name}") in text  # line separators shown as escapes, as everywhere (issue 25)
    assert HOSTILE_COMMAND in text
    data = json.loads(parsed.scripts[0][1])
    assert HOSTILE_COMMAND in [layer["command"] for layer in data["layers"]]
    assert data["hintPaths"] == ["/<dir>"]  # the copy of /srv: a hint names a markup path
    assert 'class="hint"' in _cells(page)["/<dir>/"]["attrs"]
    payload = parsed.scripts[0][1]
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in payload


def test_the_diff_page_names_copies_and_growth_by_folder_and_layer(tmp_path, seed):
    parent = load_analysis(str(write_first_layers(EXAMPLE, tmp_path / "parent.tar", 4)), NO_CACHE)
    page = html_diff(compare(parent, seed))
    parsed = parse_page(page)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    text = "".join(parsed.text)
    assert "copy of /usr/local/tomcat/webapps.dist/docs/manager-howto.html" in text
    assert "/usr/local/tomcat" in text and "+ new" in text and "sleep 1000" in text
    assert re.search(r"\+\s*539 added", text)
    folders = page[page.index('id="folders"') : page.index('id="biggest"')]
    assert re.search(r'>/usr/local/tomcat/webapps</td><td class="num" data-v="\d+">\+3\.4 MB<', folders)


def test_hostile_names_stay_text_in_the_diff_page(tmp_path, seed):
    hostile = load_analysis(str(hostile_image(tmp_path)), NO_CACHE)
    parsed = parse_page(html_diff(compare(seed, hostile)))
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    assert HOSTILE_COMMAND in "".join(parsed.text)


def test_markdown_has_a_mermaid_chart_of_the_layers_and_the_link(seed):
    report = evaluate(build_rules(CiConfig()), seed)
    text = markdown_summary(report, html_link="out/report <1>.html")
    chart = text[text.index("```mermaid") : text.index("```", text.index("```mermaid") + 3)]
    assert "xychart-beta" in chart and 'x-axis ["0", "1", "2", "3", "4"]' in chart
    bars = re.search(r"bar \[([^\]]*)\]", chart).group(1).split(", ")
    assert len(bars) == 5 and float(bars[4]) == pytest.approx(seed.layers[4].size_bytes / 1e6, abs=0.01)
    assert "[report \\<1\\>.html](report%20%3C1%3E.html)" in text
    assert "Full report" not in markdown_summary(report)


def test_cli_writes_the_page_with_ci_and_markdown(tmp_path, capsys):
    page, md = tmp_path / "report.html", tmp_path / "summary.md"
    code = main([str(EXAMPLE), "--ci", "--no-cache", "--html", str(page), "--markdown", str(md)])
    assert code == 0
    assert page.read_text().startswith("<!DOCTYPE html>") and "CI rules" in page.read_text()
    assert "[report.html](report.html)" in md.read_text() and "```mermaid" in md.read_text()
    assert "Result: PASS" in capsys.readouterr().out


def test_cli_html_to_stdout_moves_the_summary_to_stderr(tmp_path):
    result = subprocess.run(
        [PYTHON, "-m", "dive_py", str(EXAMPLE), "--no-cache", "--html", "-"],
        capture_output=True, text=True, env=child_env(), timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith("</html>")
    assert "efficiency" in result.stderr.lower()


def test_cli_diff_html(tmp_path, capsys):
    parent = write_first_layers(EXAMPLE, tmp_path / "parent.tar", 4)
    page = tmp_path / "diff.html"
    assert main(["diff", "--html", str(page), str(parent), str(EXAMPLE)]) == 0
    assert "Moves (0) and copies (539)" in page.read_text()
    assert "made by docker commit (comment: &#x27;edit webapps dir&#x27;" in page.read_text()  # layer 4's note
    assert "Shared layers" in capsys.readouterr().out


def test_without_squarify_one_line_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "squarify", None)  # import squarify now raises ImportError
    assert main([str(EXAMPLE), "--no-cache", "--html", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'divepy[html]'" in err
    assert not (tmp_path / "r.html").exists()


def test_an_unwritable_target_is_one_error_line(tmp_path, capsys):
    assert main([str(EXAMPLE), "--no-cache", "--html", str(tmp_path / "missing" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("divepy: error:")


def test_seed_page_file_is_under_the_size_it_was(tmp_path, seed_page):
    """A guard on the cell budget: the seed's ~600 files make a page of well under a megabyte."""
    assert len(seed_page.encode()) < 1_200_000
    assert Path(EXAMPLE).exists()


def test_divepy_build_keeps_html_for_itself():
    from dive_py.cli.build import split_build_args

    own, build, _engine = split_build_args(["--html", "r.html", "-t", "app", "."], set())
    assert own == ["--html", "r.html"] and build == ["-t", "app", "."]


def test_each_layer_bar_shows_its_dockerfile_line_or_commit_note(tmp_path, monkeypatch):
    from tests.reports.test_review_reports import COMMIT, DOCKERFILE, blob

    files_ = [file(f"app/m{i}.bin", blob(i)) for i in range(3)]
    layers = [
        layer_tar([folder("etc"), file("etc/os-release", "ID=test\n")]),
        layer_tar([folder("app"), *files_]),
        layer_tar([folder("app", mode=0o755), *[file(m.name, m.data, mode=0o755) for m in files_]]),
    ]
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
        {"created_by": "/bin/sh -c #(nop) COPY dir:4567 in /app "},
        {"created_by": "/bin/sh -c chmod -R 755 /app &&     touch /app/.done"},
    ]
    write_docker_archive(tmp_path / "image.tar", layers, history=history)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.chdir(tmp_path)
    assert main(["image.tar", "--no-cache", "--dockerfile", "Dockerfile", "--html", "out.html"]) == 0
    text = "".join(parse_page((tmp_path / "out.html").read_text()).text)
    assert "Dockerfile:4-5 RUN chmod -R 755 /app" in text and "Dockerfile:2 COPY app /app" in text
    assert main([str(EXAMPLE), "--no-cache", "--html", "seed.html"]) == 0
    assert COMMIT in "".join(parse_page((tmp_path / "seed.html").read_text()).text)


def test_packages_per_layer_with_their_marks(tmp_path):
    from tests.analysis.test_packages import DPKG_ONE, DPKG_TWO

    hostile = DPKG_TWO.replace("curl", "<script>alert(5)</script>")
    layers = [
        layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", DPKG_ONE)]),
        layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", hostile)]),
    ]
    analysis = load_analysis(str(write_docker_archive(tmp_path / "p.tar", layers)), NO_CACHE)
    page = html_report(analysis)
    section = page[page.index('id="packages"') : page.index('id="inefficient"')]
    rows = re.findall(r"<tr><td class=\"num\" data-v=\"(\d)\">\d</td><td class=\"mark (\w+)\">(.)</td>"
                      r"<td>dpkg</td><td>([^<]*)</td><td>([^<]*)</td>", section)  # fmt: skip
    assert rows == [
        ("0", "add", "+", "libc6", "2.36"),
        ("1", "add", "+", "&lt;script&gt;alert(5)&lt;/script&gt;", "7.88"),
        ("1", "mod", "~", "libc6", "2.37"),
    ]
    diff = html_diff(
        compare(load_analysis(str(write_docker_archive(tmp_path / "b.tar", layers[:1])), NO_CACHE), analysis)
    )
    assert "<td>&lt;script&gt;alert(5)&lt;/script&gt;</td>" in diff and "<script>alert(5)" not in diff


def test_every_treemap_link_has_its_view_when_the_budget_stops_early(seed, monkeypatch):
    import dive_py.reports.treemap as treemap

    monkeypatch.setattr(treemap, "CELL_BUDGET", 1200)
    page = html_report(seed)
    ids = set(re.findall(r'<section class="tmview[^"]*" id="(tm-\d+)"', page))
    links = set(re.findall(r'href="#(tm-\d+)"', page))
    assert 1 < len(ids) < 30 and links == ids
