"""CI with a baseline (size-increase rules) and the report files: JUnit XML and the Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.from_reference import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import CiReport, RuleStatus, build_rules, evaluate
from dive_py.cli.main import main
from dive_py.reports.junit import junit_xml
from dive_py.reports.markdown import _code, markdown_summary
from tests.fixtures.paths import EXAMPLE
from tests.fixtures.stand_ins import built
from tests.fixtures.truncate import write_first_layers

BASE_SIZE, NEW_SIZE = 6_303_953, 9_673_897
"""Image sizes (sum of layer bytes) of tomcat:mini and tomcat02: 3,369,944 bytes apart."""


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> tuple[str, str]:
    new = EXAMPLE
    base = write_first_layers(new, tmp_path_factory.mktemp("ci") / "tomcat-mini.tar", 4)
    return str(base), str(new)


@pytest.fixture(scope="module")
def pair(paths) -> tuple[Analysis, Analysis]:
    return load_analysis(paths[0]), load_analysis(paths[1])


def _report(pair, baseline: bool = True, **rules: str) -> CiReport:
    config = CiConfig()
    config.rules.update(rules)
    base, new = pair
    return evaluate(build_rules(config), new, base if baseline else None)


def _status(report: CiReport) -> dict[str, RuleStatus]:
    return {r.key: r.status for r in report.results}


def test_sizes_are_the_known_ones(pair):
    assert (pair[0].size_bytes, pair[1].size_bytes) == (BASE_SIZE, NEW_SIZE)


@pytest.mark.parametrize(
    ("rules", "key", "status"),
    [
        ({"highestSizeIncreaseBytes": "3369944"}, "highestSizeIncreaseBytes", RuleStatus.PASS),  # equality passes
        ({"highestSizeIncreaseBytes": "3369943"}, "highestSizeIncreaseBytes", RuleStatus.FAIL),
        ({"highestSizeIncreaseBytes": "3.4MB"}, "highestSizeIncreaseBytes", RuleStatus.PASS),
        ({"highestSizeIncreaseBytes": "1MB"}, "highestSizeIncreaseBytes", RuleStatus.FAIL),
        ({"highestSizeIncreasePercent": "0.53"}, "highestSizeIncreasePercent", RuleStatus.FAIL),  # grew 53.46 %
        ({"highestSizeIncreasePercent": "0.54"}, "highestSizeIncreasePercent", RuleStatus.PASS),
        ({"highestSizeIncreasePercent": "60%"}, "highestSizeIncreasePercent", RuleStatus.PASS),
        ({"highestSizeIncreasePercent": "50%"}, "highestSizeIncreasePercent", RuleStatus.FAIL),
        ({"highestWastedBytesIncrease": "0"}, "highestWastedBytesIncrease", RuleStatus.PASS),  # no new waste
        ({}, "highestSizeIncreaseBytes", RuleStatus.SKIP),  # disabled by default
    ],
)
def test_baseline_rule_verdicts(pair, rules, key, status):
    assert _status(_report(pair, **rules))[key] is status


def test_baseline_rules_skip_without_a_baseline(pair):
    report = _report(pair, baseline=False, highestSizeIncreaseBytes="1", highestSizeIncreasePercent="0")
    result = next(r for r in report.results if r.key == "highestSizeIncreaseBytes")
    assert result.status is RuleStatus.SKIP and "baseline" in result.message


def test_shrinking_passes_the_growth_rules(pair):
    base, new = pair
    config = CiConfig()
    config.rules.update(highestSizeIncreaseBytes="0", highestSizeIncreasePercent="0")
    report = evaluate(build_rules(config), base, new)  # tomcat02 as the baseline of its parent
    by_key = {r.key: r for r in report.results}
    assert by_key["highestSizeIncreaseBytes"].actual == -3_369_944
    assert by_key["highestSizeIncreaseBytes"].status is RuleStatus.PASS
    assert by_key["highestSizeIncreasePercent"].status is RuleStatus.PASS


# -- JUnit -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("baseline", [True, False])
def test_junit_matches_the_rule_outcomes(pair, baseline):
    report = _report(pair, baseline, highestSizeIncreaseBytes="1MB", highestSizeIncreasePercent="0.6")
    root = ET.fromstring(junit_xml(report).encode())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.key for r in report.results]
    for case, result in zip(cases, report.results, strict=True):
        failure, skipped = case.find("failure"), case.find("skipped")
        if result.status is RuleStatus.FAIL:
            assert failure is not None and skipped is None
            assert failure.get("message") == result.message
        elif result.status is RuleStatus.SKIP:
            assert skipped is not None and failure is None
            assert skipped.get("message") == result.message
        else:
            assert failure is None and skipped is None
    for element in (root, suite):
        assert int(element.get("tests")) == len(report.results)
        assert int(element.get("failures")) == report.count(RuleStatus.FAIL)
        assert int(element.get("skipped")) == report.count(RuleStatus.SKIP)
        assert element.get("errors") == "0"
    statuses = _status(report)
    if baseline:
        assert statuses["highestSizeIncreaseBytes"] is RuleStatus.FAIL
        assert statuses["highestSizeIncreasePercent"] is RuleStatus.PASS
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["baselineSizeBytes"] == str(BASE_SIZE)
    else:
        assert statuses["highestSizeIncreaseBytes"] is RuleStatus.SKIP


# -- Markdown ----------------------------------------------------------------------------------------------------
def test_markdown_with_a_baseline(pair):
    text = markdown_summary(_report(pair, highestSizeIncreaseBytes="1MB", highestSizeIncreasePercent="60%"))
    assert text.startswith("## divepy: ❌ FAIL `")
    assert "10 rules: 3 passed, 1 failed, 6 skipped." in text
    assert "| lowestEfficiency | ✅ PASS | 99.40 % | 0.9 |" in text
    assert "| highestSizeIncreaseBytes | ❌ FAIL | +3.4 MB | 1MB |" in text
    assert "| highestSizeIncreasePercent | ✅ PASS | +53.46 % | 60% |" in text
    assert "| highestWastedBytes | ⏭️ SKIP (rule disabled) | 117 kB | disabled |" in text
    assert "| Image size | 6.3 MB | 9.7 MB | +3.4 MB (+53.46 %) |" in text
    assert "| Layers | 4 | 5 | 4 shared |" in text
    assert "539 added (3.4 MB), 0 removed (0 B), 0 modified, 0 moved; 539 added files are copies" in text
    assert (
        "| 76 kB | `/usr/local/tomcat/webapps/docs/manager-howto.html` | "
        "`/usr/local/tomcat/webapps.dist/docs/manager-howto.html` |" in text
    )
    assert "| 2 | 48 kB | `/usr/local/tomcat/bin/catalina.sh` |" in text
    assert "… and 7 more" in text


def test_markdown_without_a_baseline(pair):
    text = markdown_summary(_report(pair, baseline=False))
    assert text.startswith("## divepy: ✅ PASS `")
    assert "| highestSizeIncreaseBytes | ⏭️ SKIP (rule disabled) | n/a | disabled |" in text
    assert "Size change" not in text and "Baseline" not in text
    assert "### Top inefficient files" in text


def test_markdown_code_spans_survive_pipes_and_backticks():
    assert _code("a|b") == "`a\\|b`"
    assert _code("a`b") == "`` a`b ``"
    assert _code("two\nlines") == "`two\\nlines`"  # shown, not joined (issue 25)


# -- the command line --------------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_ci_with_baseline_exit_codes(paths, cli_env, capsys):
    base, new = paths
    assert main(["--ci", "--baseline", base, new]) == 0
    assert main(["--ci", "--baseline", base, new, "--highest-size-increase-bytes", "3.4MB"]) == 0
    assert main(["--ci", "--baseline", base, new, "--highest-size-increase-bytes", "1MB"]) == 1
    assert main(["--ci", "--baseline", base, new, "--highestSizeIncreasePercent", "10%"]) == 1
    assert main(["--ci", new, "--highestSizeIncreasePercent", "10%"]) == 0  # no baseline: skipped
    out = capsys.readouterr().out
    assert "FAIL: highestSizeIncreaseBytes" in out and "Baseline:" in out
    assert main(["--ci", "--baseline", str(cli_env / "missing.tar"), new, "--source", "docker-archive"]) == 2
    assert main(["--ci", "--baseline", base, new, "--highestSizeIncreasePercent", "lots"]) == 2


def test_ci_writes_junit_and_markdown(paths, cli_env, capsys):
    base, new = paths
    args = ["--ci", "--baseline", base, new, "--highest-size-increase-bytes", "1MB"]
    assert main([*args, "--junit", "report.xml", "--markdown", "summary.md"]) == 1
    root = ET.parse(cli_env / "report.xml").getroot()
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["highestSizeIncreaseBytes"]
    summary = (cli_env / "summary.md").read_text()
    assert "## divepy: ❌ FAIL" in summary and "+3.4 MB" in summary
    assert sorted(p.name for p in cli_env.iterdir()) == ["report.xml", "summary.md"]  # no temp files left


def test_junit_and_markdown_imply_ci(paths, cli_env, capsys):
    assert main([paths[1], "--junit", "report.xml"]) == 0
    assert "Result: PASS" in capsys.readouterr().out
    assert (cli_env / "report.xml").exists()


def test_markdown_appends_to_the_step_summary(paths, cli_env, monkeypatch, capsys):
    step = cli_env / "step_summary.md"
    step.write_text("# Earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert main([paths[1], "--ci", "--markdown"]) == 0
    text = step.read_text()
    assert text.startswith("# Earlier step\n\n## divepy: ✅ PASS")
    assert "Result: PASS" in capsys.readouterr().out  # the text report still goes to stdout


def test_markdown_without_file_or_step_summary_goes_to_stdout(paths, cli_env, capsys):
    assert main([paths[1], "--markdown"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("## divepy: ✅ PASS")
    assert "Result: PASS" in captured.err  # the text report moves out of the way


def test_markdown_before_the_image_does_not_take_it_for_its_file(paths, cli_env, capsys):
    assert main(["--ci", "--markdown", paths[1]]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("## divepy: ✅ PASS")
    assert Path(paths[1]).read_bytes()[:2] != b"##"  # the image was read, not overwritten with a summary
    assert main(["--ci", "--markdown"]) == 2
    assert "required: IMAGE" in capsys.readouterr().err


def test_report_files_are_written_whole_or_not_at_all(paths, cli_env, capsys):
    old = cli_env / "report.xml"
    old.write_text("x" * 100_000)
    assert main([paths[1], "--ci", "--junit", str(old)]) == 0
    assert ET.parse(old).getroot().tag == "testsuites"  # replaced, no stale tail
    assert main([paths[1], "--ci", "--junit", str(cli_env / "no-such-dir" / "r.xml")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert sorted(p.name for p in cli_env.iterdir()) == ["report.xml"]


def test_markdown_report_for_the_bundled_test_image(cli_env):
    image = str(built("test-docker-image.tar"))
    assert main(["--ci", image, "--markdown", "m.md", "--junit", "j.xml"]) == 1
    text = Path(cli_env / "m.md").read_text()
    assert "| highestUserWastedPercent | ❌ FAIL | 48.35 % | 0.1 |" in text
    assert "| 2 | 13 kB | `/root/saved.txt` |" in text
    failures = [
        c.get("name") for c in ET.parse(cli_env / "j.xml").getroot().iter("testcase") if c.find("failure") is not None
    ]
    assert failures == ["highestUserWastedPercent"]
