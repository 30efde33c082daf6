"""The three renderings of an image comparison (``divepy diff`` text, the diff view's summary pane, the Markdown
change section) pinned byte for byte against golden files, so that sharing their figures changes no output.

Set ``DIVEPY_UPDATE_GOLDEN=1`` to rewrite the golden files (then review the diff).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import ImageComparison, compare
from dive_py.analysis.from_reference import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import build_rules, evaluate
from dive_py.cli.diff import render_diff
from dive_py.reports.markdown import markdown_summary
from dive_py.reports.text import _PlainWriter
from tests.fixtures.paths import EXAMPLE, REPO, shared_image
from tests.fixtures.truncate import write_first_layers

GOLDEN = Path(__file__).parent / "__snapshots__" / "test_diff_summary"
UPDATE = os.environ.get("DIVEPY_UPDATE_GOLDEN") == "1"


def _analyze(path: Path, name: str) -> Analysis:
    analysis = load_analysis(str(path))
    analysis.image.name = name  # not the temporary path: the golden files hold the names
    return analysis


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Callable[[str], Analysis]:
    """tomcat02 and its parent; edits-mini and its first layers (removed, modified and moved files), each
    loaded when a test asks for it: the edits pairs skip without ../shared, the tomcat ones always run."""
    folder = tmp_path_factory.mktemp("golden")

    def edits() -> Path:
        return shared_image("corpus", "edits-mini.docker.tar")

    builders = {
        "tomcat": lambda: _analyze(EXAMPLE, "tomcat"),
        "tomcat-parent": lambda: _analyze(write_first_layers(EXAMPLE, folder / "tomcat-mini.tar", 4), "tomcat-parent"),
        "edits": lambda: _analyze(edits(), "edits"),
        "edits-1": lambda: _analyze(write_first_layers(edits(), folder / "edits-1.tar", 1), "edits-1"),
        "edits-2": lambda: _analyze(write_first_layers(edits(), folder / "edits-2.tar", 2), "edits-2"),
    }
    loaded: dict[str, Analysis] = {}

    def image(name: str) -> Analysis:
        if name not in loaded:
            loaded[name] = builders[name]()
        return loaded[name]

    return image


PAIRS = [
    ("tomcat-parent", "tomcat"),
    ("tomcat", "tomcat-parent"),
    ("edits-1", "edits"),
    ("edits", "edits-1"),
    ("edits-2", "edits"),
    ("edits", "edits"),
]


def _text(comparison: ImageComparison) -> str:
    out = io.StringIO()
    render_diff(_PlainWriter(out), comparison)
    return out.getvalue()


def _pane(comparison: ImageComparison) -> str:
    """The summary pane's text and its styled spans."""
    from dive_py.ui.diff_view import summary_text

    text = summary_text(comparison)
    spans = "".join(f"{s.start}-{s.end} {s.style}\n" for s in text.spans)
    return f"{text.plain}\n-- spans --\n{spans}"


def _markdown(comparison: ImageComparison) -> str:
    report = evaluate(build_rules(CiConfig()), comparison.new, comparison.base)
    return markdown_summary(report, comparison)


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed"


@pytest.mark.parametrize(("base", "new"), PAIRS)
def test_diff_renderings_are_unchanged(images, base: str, new: str) -> None:
    comparison = compare(images(base), images(new))
    for kind, render in (("text", _text), ("pane", _pane), ("markdown", _markdown)):
        _check(f"{base}--{new}.{kind}.txt", render(comparison))


def test_reports_import_neither_textual_nor_the_ui_nor_the_cli() -> None:
    modules = ["diff_summary", "export", "rule_figures", "junit", "markdown", "text"]
    probe = (
        f"import importlib, sys; [importlib.import_module('dive_py.reports.' + m) for m in {modules!r}]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
        "or m.startswith(('dive_py.ui', 'dive_py.cli'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
