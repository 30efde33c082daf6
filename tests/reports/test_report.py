"""Text reports: plain text off a terminal (no Rich import), Rich's styles on one, the same words both ways."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from dive_py import format as fmt
from dive_py.analysis.compare import compare
from dive_py.analysis.from_reference import load_analysis
from dive_py.ci.config import CiConfig
from dive_py.ci.rules import build_rules, evaluate
from dive_py.cli.diff import render_diff
from dive_py.load.image import LoadOptions
from dive_py.reports.text import _PlainWriter, _StyledWriter, make_writer, render_ci, render_summary
from tests.fixtures.paths import EXAMPLE, REPO
from tests.fixtures.stand_ins import built


@pytest.fixture(scope="module")
def analysis():
    return load_analysis(str(built("test-docker-image.tar")), LoadOptions(use_cache=False))


def _both(render) -> tuple[str, str]:  # noqa: ANN001
    plain, styled = io.StringIO(), io.StringIO()
    render(_PlainWriter(plain))
    render(_StyledWriter(styled))  # Rich, writing to a file: no styles
    return plain.getvalue(), styled.getvalue()


def test_plain_text_is_what_rich_writes_off_a_terminal(analysis) -> None:
    report = evaluate(build_rules(CiConfig()), analysis, None)
    for render in (
        lambda out: render_ci(out, report, "defaults"),
        lambda out: render_summary(out, analysis),
        lambda out: render_diff(out, compare(analysis, analysis)),
    ):
        plain, styled = _both(render)
        assert plain == styled
        assert "\x1b[" not in plain and plain.count("\n") > 5


def test_markup_like_text_is_printed_as_it_is(analysis) -> None:
    report = evaluate(build_rules(CiConfig()), analysis, None)
    plain, styled = _both(lambda out: render_ci(out, report, "x [bold]y[/] z"))
    assert "(rules from x [bold]y[/] z)" in plain
    assert plain == styled


def test_a_terminal_gets_rich_styles(analysis, monkeypatch) -> None:
    report = evaluate(build_rules(CiConfig()), analysis, None)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    out = io.StringIO()
    writer = make_writer(out)
    assert isinstance(writer, _StyledWriter)
    render_ci(writer, report, "defaults")
    assert "\x1b[1mResults:" in out.getvalue()
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert isinstance(make_writer(io.StringIO()), _PlainWriter)


def test_ci_report_to_a_pipe_does_not_import_rich(tmp_path) -> None:
    probe = (
        "import sys; from dive_py.cli.main import main; code = main(['--ci', sys.argv[1]]); "
        "print('RICH' if any(m.startswith('rich') for m in sys.modules) else 'NO-RICH', file=sys.stderr); "
        "sys.exit(code)"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(EXAMPLE)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Result: PASS" in done.stdout
    assert "NO-RICH" in done.stderr


def test_signed_sizes_and_percents() -> None:
    assert [fmt.signed(n) for n in (3_400_000, -512, 0)] == ["+3.4 MB", "-512 B", "0 B"]
    assert fmt.signed(0, plus_zero=True) == "+0 B"
    assert fmt.signed(-4_321, fmt.size) == "-4.3 kB" and fmt.signed(-58_400) == "-58 kB"
    assert [fmt.signed_percent(r) for r in (0.5346, -0.03, 0.0)] == ["+53.46 %", "-3.00 %", "0.00 %"]


def test_the_baseline_line_signs_no_change_as_growth(analysis) -> None:
    report = evaluate(build_rules(CiConfig()), analysis, analysis)
    plain, _ = _both(lambda out: render_ci(out, report, "defaults"))
    assert f"{fmt.size(analysis.size_bytes)} -> {fmt.size(analysis.size_bytes)} (+0 B)" in plain
