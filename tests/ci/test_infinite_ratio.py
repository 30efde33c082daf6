"""An infinite user-wasted ratio (bytes wasted, none added above the first layer) fails
``highestUserWastedPercent`` as in dive, and every text output writes it as ``inf`` (ASCII, one spelling)."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.from_reference import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import CiReport, RuleStatus, build_rules, evaluate
from dive_py.cli.main import main
from dive_py.reports.junit import junit_xml
from dive_py.reports.markdown import markdown_summary
from dive_py.reports.text import _PlainWriter, render_ci
from tests.fixtures.images import M, file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import shared_image

WHITEOUT_IMAGE = ("external", "go-containerregistry", "pkg", "v1", "mutate", "testdata", "whiteout_image.tar")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``whiteout_image.tar`` built in code: 8 bytes in the first layer, then a whiteout and an empty layer."""
    layers = [
        layer_tar([folder("."), file("bar.txt", "bar\n", mode=0o555), file("foo.txt", "foo\n", mode=0o555)]),
        layer_tar([folder("."), M(".wh.foo.txt", mode=0o555)]),
        layer_tar([]),
    ]
    return write_docker_archive(tmp_path_factory.mktemp("inf") / "w.tar", layers)


@pytest.fixture(scope="module")
def analysis(archive: Path) -> Analysis:
    return load_analysis(str(archive))


def _report(analysis: Analysis, **rules: str) -> CiReport:
    config = CiConfig()
    config.rules.update(rules)
    return evaluate(build_rules(config), analysis)


def _result(report: CiReport):  # noqa: ANN202
    return next(r for r in report.results if r.key == "highestUserWastedPercent")


@pytest.mark.parametrize("threshold", ["0.1", "1", "0"])
def test_the_rule_fails_at_any_threshold(analysis: Analysis, threshold: str):
    result = _result(_report(analysis, highestUserWastedPercent=threshold))
    assert result.status == RuleStatus.FAIL
    assert result.actual == math.inf
    assert result.message.endswith(f"(%-user-wasted-bytes=inf > threshold={threshold})")


def test_a_disabled_rule_skips(analysis: Analysis):
    assert _result(_report(analysis, highestUserWastedPercent="disabled")).status == RuleStatus.SKIP


def test_ci_text(analysis: Analysis):
    out = io.StringIO()
    render_ci(_PlainWriter(out), _report(analysis), "defaults")
    text = out.getvalue()
    assert "  userWastedPercent:      inf %\n" in text
    assert "FAIL: highestUserWastedPercent: too many bytes wasted" in text
    assert "%-user-wasted-bytes=inf > threshold=0.1)" in text
    text.encode("ascii")  # a CI log of any encoding takes it


def test_junit(analysis: Analysis):
    case = ET.fromstring(junit_xml(_report(analysis))).find(".//testcase[@name='highestUserWastedPercent']")
    failure = case.find("failure")
    assert failure is not None
    assert failure.text.startswith("highestUserWastedPercent: actual inf %, threshold 0.1\n")
    assert "=inf > threshold=0.1" in failure.get("message")


def test_markdown(analysis: Analysis):
    text = markdown_summary(_report(analysis))
    assert "| highestUserWastedPercent | ❌ FAIL | inf % | 0.1 |" in text
    disabled = markdown_summary(_report(analysis, highestUserWastedPercent="disabled"))
    assert "| highestUserWastedPercent | ⏭️ SKIP (rule disabled) | inf % | disabled |" in disabled


def test_command_line_fails(archive: Path, capsys: pytest.CaptureFixture[str]):
    # efficiency 0.5 passes this threshold: the user-wasted rule alone fails the run
    assert main(["--ci", "--lowest-efficiency", "0.5", str(archive)]) == 1
    assert "FAIL: highestUserWastedPercent" in capsys.readouterr().out
    assert main(["--ci", "--lowest-efficiency", "0.5", "--highest-user-wasted-percent", "disabled", str(archive)]) == 0


def test_command_line_fails_on_whiteout_image_tar(capsys: pytest.CaptureFixture[str]):
    path = str(shared_image(*WHITEOUT_IMAGE))
    assert main(["--ci", "--lowest-efficiency", "0.5", path]) == 1
    out = capsys.readouterr().out
    assert "userWastedPercent:      inf %" in out
    assert "FAIL: highestUserWastedPercent" in out
