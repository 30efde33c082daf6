"""The HTML report's treemap kept in the figures record: drawn again from the kept boxes it is the treemap drawn from
the tree (the seed, and an image of ties, lone small files, folders among the "N files" that have a view of their
own); a warm load draws the report without stacking the layers, with the same or other hinted paths; a damaged field
is drawn from the tree again.
"""

from __future__ import annotations

import json
import os

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.load.options import LoadOptions
from dive_py.reports.html_report import html_report
from dive_py.reports.treemap import final_boxes, render_treemap
from dive_py.reports.treemap_record import FIELD, _from_text, image_treemap, to_text
from tests.fixtures.images import file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import EXAMPLE

pytest.importorskip("squarify")


def _awkward_image(path):  # noqa: ANN001, ANN202 - Path
    """Folders whose drawing takes every branch of the kept boxes."""
    base = [folder("big"), file("big/large.bin", os.urandom(2_000_000))]
    base += [file(f"big/tiny{i:03d}", b"t" * (10 + i)) for i in range(400)]  # "N files": one kept box
    base += [folder("big/sub"), file("big/sub/a", b"a" * 300), file("big/sub/b", b"b" * 200)]  # a view, in the rest
    base += [folder("lone"), file("lone/large.bin", os.urandom(900_000)), file("lone/small", b"s" * 40)]
    upper = []
    for top in ("a", "b"):  # equal folders: equal sizes, equal names
        upper += [folder(top), folder(f"{top}/docs")]
        upper += [file(f"{top}/docs/{i}.html", bytes([65 + i]) * 40_000) for i in range(5)]
    upper += [file("big/tiny000", b"x" * 5)]  # an overwrite: a file of the upper layer among the small ones
    write_docker_archive(path, [layer_tar(base), layer_tar(upper)])
    return path


@pytest.mark.parametrize("which", ["seed", "awkward"])
def test_the_kept_boxes_draw_the_treemap_of_the_tree(which, tmp_path):
    image = EXAMPLE if which == "seed" else _awkward_image(tmp_path / "awkward.tar")
    analysis = load_analysis(str(image), LoadOptions(use_cache=False))
    outlined = {"/usr/local/tomcat/webapps", "/big/sub", "/a/docs"}.__contains__
    root = final_boxes(analysis.tree)
    drawn = render_treemap(root, outlined)
    text = to_text(root)
    assert text is not None and len(text) < 100_000
    again = render_treemap(_from_text(json.loads(json.dumps(text))), outlined)
    assert (again.views, again.anchors, again.cells) == (drawn.views, drawn.anchors, drawn.cells)
    if which == "awkward":
        assert list(drawn.anchors) == ["/", "/big", "/lone", "/a/docs", "/b/docs", "/big/sub"]  # ties: tree order
        assert "/big/…  402 more files in 401 entries" in "".join(drawn.views)  # 400 tiny ones kept as one box
        assert '"lone",' in text and '"small",40,0]' in text  # a lone small file is kept as itself


def test_a_warm_report_needs_no_stacking(tmp_path):
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    cold = load_analysis(str(EXAMPLE), options)
    page = html_report(cold)
    kept = cold.kept_extra(FIELD)
    assert isinstance(kept["boxes"], str) and kept["drawn"]["views"]  # text: a plain --ci never parses the boxes
    warm = load_analysis(str(EXAMPLE), options)
    assert html_report(warm) == page
    assert warm._tree is None  # drawn from the record
    # no hint: nothing outlined, so drawn again from the kept boxes
    other = load_analysis(str(EXAMPLE), options, hint_min_bytes=10**9)
    fresh = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False), hint_min_bytes=10**9)
    assert html_report(other) == html_report(fresh) != page
    assert other._tree is None


def test_a_damaged_treemap_field_is_drawn_from_the_tree(tmp_path):
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    page = html_report(load_analysis(str(EXAMPLE), options))
    damaged = load_analysis(str(EXAMPLE), options)
    damaged.keep_extra(FIELD, {"version": 1, "boxes": "[1, [2", "drawn": {"outlined": "x", "views": [3]}})
    hinted = {path for hint in damaged.hints().hints for path in hint.paths}
    views = image_treemap(damaged, hinted)
    assert damaged._tree is not None and "".join(views.views) in page


def test_a_kept_drawing_that_is_not_the_drawers_markup_is_never_put_in_the_page(tmp_path):
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    page = html_report(load_analysis(str(EXAMPLE), options))
    for forged in ('<script>alert(1)</script>', '<a href="javascript:alert(2)">x</a>', '<rect onload="alert(3)"/>',
                   '<style>body{display:none}</style>', '<g data-l="1">a</b>c</g>'):  # fmt: skip
        analysis = load_analysis(str(EXAMPLE), options)
        drawn = analysis.kept_extra(FIELD)["drawn"]
        drawn["views"] = [drawn["views"][0].replace("</svg>", forged + "</svg>"), *drawn["views"][1:]]
        assert html_report(analysis) == page  # drawn again from the kept boxes
        assert analysis._tree is None
