"""Provides the CI report files: JUnit XML for test-report viewers, Markdown for pull requests and job summaries.

Both are built from a :class:`CiReport` (and, with a baseline, an :class:`ImageComparison`)
and written atomically; neither prints.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, ImageComparison, compare
from dive_py.ci.rules import RULES, CiReport, RuleResult, RuleSpec, RuleStatus
from dive_py.errors import DivepyError
from dive_py.reports.export import write_text_atomic

MARKDOWN_ROWS = 10
"""Rows of each file table in the Markdown summary: a pull-request comment must stay short."""

JUNIT_CLASSNAME = "divepy.ci"
"""Test-report viewers group test cases by class name; one group for all rules."""

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
"""GitHub Actions renders the Markdown appended to the file this variable names on the job page."""

_SPECS: dict[str, RuleSpec] = {spec.key: spec for spec in RULES}
_ICON = {RuleStatus.PASS: "✅ PASS", RuleStatus.FAIL: "❌ FAIL", RuleStatus.SKIP: "⏭️ SKIP"}


# -- JUnit ------------------------------------------------------------------------------------------------------
def junit_xml(report: CiReport) -> str:
    """One ``<testcase>`` per rule: failed rules carry ``<failure>``, skipped ones ``<skipped>``.

    Args:
        report: the evaluated rules.

    Returns:
        A JUnit XML document (``<testsuites>`` with one ``<testsuite>``), as text.
    """
    counts = {
        "tests": str(len(report.results)),
        "failures": str(report.count(RuleStatus.FAIL)),
        "errors": "0",
        "skipped": str(report.count(RuleStatus.SKIP)),
    }
    root = ET.Element("testsuites", {"name": "divepy", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": f"divepy ci: {report.analysis.image.name}", **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in _junit_properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for result in report.results:
        case = ET.SubElement(suite, "testcase", {"classname": JUNIT_CLASSNAME, "name": result.key, "time": "0"})
        if result.status == RuleStatus.FAIL:
            failure = ET.SubElement(case, "failure", {"message": result.message, "type": "RuleFailed"})
            failure.text = _rule_detail(result, report)
        elif result.status == RuleStatus.SKIP:
            ET.SubElement(case, "skipped", {"message": result.message})
        else:
            ET.SubElement(case, "system-out").text = result.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_properties(report: CiReport) -> list[tuple[str, str]]:
    image = report.analysis.image
    props = [("image", image.name), ("source", image.source), ("sizeBytes", str(report.analysis.size_bytes))]
    if report.baseline is not None:
        props += [("baseline", report.baseline.image.name), ("baselineSizeBytes", str(report.baseline.size_bytes))]
    return props


def _rule_detail(result: RuleResult, report: CiReport) -> str:
    spec = _SPECS.get(result.key)
    actual = _metric_text(spec, result.actual) if spec else str(result.actual)
    return f"{result.key}: actual {actual}, threshold {result.configuration}\n{result.message}"


def write_junit(report: CiReport, path: str) -> None:
    """Writes :func:`junit_xml` to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, junit_xml(report))


# -- Markdown ---------------------------------------------------------------------------------------------------
def markdown_summary(report: CiReport, comparison: ImageComparison | None = None) -> str:
    """The verdict, each rule's figure and threshold, the top inefficient files and, with a baseline, the change.

    Args:
        report: the evaluated rules.
        comparison: base-to-new comparison; computed from ``report.baseline`` when not given.

    Returns:
        GitHub-flavoured Markdown, ending in a newline.
    """
    if comparison is None and report.baseline is not None:
        comparison = compare(report.baseline, report.analysis)
    verdict = "✅ PASS" if report.passed else "❌ FAIL"
    lines = [
        f"## divepy: {verdict} {_code(report.analysis.image.name)}",
        "",
        f"{len(report.results)} rules: {report.count(RuleStatus.PASS)} passed, "
        f"{report.count(RuleStatus.FAIL)} failed, {report.count(RuleStatus.SKIP)} skipped.",
        "",
        _image_line("Image", report.analysis),
    ]
    if report.baseline is not None:
        lines.append(_image_line("Baseline", report.baseline))
    lines += ["", "### Rules", "", "| Rule | Result | Value | Threshold |", "|---|---|---:|---:|"]
    for result in report.results:
        value = _rule_value(result, report)
        lines.append(f"| {result.key} | {_rule_cell(result)} | {value} | {_cell(result.configuration)} |")
    if comparison is not None:
        lines += _change_section(comparison)
    lines += _inefficient_section(report.analysis)
    return "\n".join(lines) + "\n"


def _image_line(label: str, analysis: Analysis) -> str:
    return (
        f"- **{label}:** {_code(analysis.image.name)}: {len(analysis.layers)} layers, "
        f"{fmt.size(analysis.size_bytes)}, efficiency {fmt.percent(analysis.efficiency)}, "
        f"wasted {fmt.size(analysis.wasted_bytes)}"
    )


def _rule_cell(result: RuleResult) -> str:
    if result.status == RuleStatus.SKIP:
        return f"{_ICON[result.status]} ({_cell(result.message)})"
    return _ICON[result.status]


def _rule_value(result: RuleResult, report: CiReport) -> str:
    """The rule's figure; a disabled rule still shows it, when it can be computed."""
    spec = _SPECS.get(result.key)
    if spec is None:
        return "" if result.actual is None else str(result.actual)
    actual = result.actual
    if actual is None and not (spec.needs_baseline and report.baseline is None):
        actual = spec.metric(report.analysis, report.baseline)
    return _metric_text(spec, actual)


def _metric_text(spec: RuleSpec | None, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    kind = spec.kind if spec else ""
    if kind == "max-bytes":
        return _signed_size(int(value)) if spec is not None and spec.needs_baseline else fmt.size(int(value))
    if kind == "max-growth-ratio":
        return f"{'+' if value > 0 else ''}{fmt.percent(float(value))}"
    if kind in ("min-ratio", "max-ratio"):
        return fmt.percent(float(value))
    return str(value)


def _signed_size(num_bytes: int) -> str:
    if num_bytes == 0:
        return "0 B"
    return ("+" if num_bytes > 0 else "-") + fmt.size(abs(num_bytes))


def _change_section(comparison: ImageComparison) -> list[str]:
    c = comparison
    base, new = c.base, c.new
    growth = (new.size_bytes - base.size_bytes) / base.size_bytes if base.size_bytes else 0.0
    lines = [
        "",
        "### Size change",
        "",
        "| | Baseline | Image | Change |",
        "|---|---:|---:|---:|",
        f"| Image size | {fmt.size(base.size_bytes)} | {fmt.size(new.size_bytes)} | "
        f"{_signed_size(c.image_size_delta_bytes)} ({'+' if growth > 0 else ''}{fmt.percent(growth)}) |",
        f"| Final file system | {fmt.size(base.final_size_bytes)} | {fmt.size(new.final_size_bytes)} | "
        f"{_signed_size(c.size_delta_bytes)} |",
        f"| Wasted bytes | {fmt.size(base.wasted_bytes)} | {fmt.size(new.wasted_bytes)} | "
        f"{_signed_size(new.wasted_bytes - base.wasted_bytes)} |",
        f"| Efficiency | {fmt.percent(base.efficiency)} | {fmt.percent(new.efficiency)} | "
        f"{(new.efficiency - base.efficiency) * 100:+.2f} pts |",
        f"| Layers | {len(base.layers)} | {len(new.layers)} | {c.shared_layers} shared |",
        "",
        f"Files: {len(c.of(Change.ADDED))} added ({fmt.size(c.added_bytes)}), "
        f"{len(c.of(Change.REMOVED))} removed ({fmt.size(c.removed_bytes)}), "
        f"{len(c.of(Change.MODIFIED))} modified, {len(c.of(Change.MOVED))} moved; "
        f"{len(c.copies)} added files are copies of files in the baseline.",
    ]
    added = c.biggest(Change.ADDED, MARKDOWN_ROWS)
    if added:
        lines += ["", "### Biggest added files", "", "| Size | Path | Copy of |", "|---:|---|---|"]
        for item in added:
            copy = _code(item.copy_of) if item.copy_of else ""
            lines.append(f"| {fmt.size(item.size_bytes or 0)} | {_code(item.path)} | {copy} |")
        if len(c.of(Change.ADDED)) > len(added):
            lines.append(f"\n… and {len(c.of(Change.ADDED)) - len(added)} more (`divepy diff --json` lists them all)")
    return lines


def _inefficient_section(analysis: Analysis) -> list[str]:
    items = analysis.inefficiencies
    if not items:
        return ["", "### Top inefficient files", "", "None."]
    lines = ["", "### Top inefficient files", "", "| Count | Wasted | Path |", "|---:|---:|---|"]
    for item in items[:MARKDOWN_ROWS]:
        lines.append(f"| {item.count} | {fmt.size(item.cumulative_bytes)} | {_code(item.path)} |")
    if len(items) > MARKDOWN_ROWS:
        lines.append(f"\n… and {len(items) - MARKDOWN_ROWS} more (`divepy --json` lists them all)")
    return lines


def _cell(text: str) -> str:
    """Text safe in a table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    """A code span that survives backticks and pipes in the text (GFM escapes pipes even inside code)."""
    text = _cell(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_target(value: str | None) -> str | None:
    """Where ``--markdown [FILE]`` writes: FILE, else the job-summary file when set, else stdout (``-``).

    Args:
        value: the flag's value: None when absent, ``""`` when given without FILE.
    """
    if value is None:
        return None
    if value:
        return value
    return os.environ.get(STEP_SUMMARY_ENV) or "-"


def write_markdown(report: CiReport, value: str, comparison: ImageComparison | None = None) -> str:
    """Writes :func:`markdown_summary` where :func:`markdown_target` says; returns that path.

    Without FILE and with ``GITHUB_STEP_SUMMARY`` set, the summary is appended to that file
    (earlier steps' summaries stay), still by an atomic replace.

    Raises:
        DivepyError: the file cannot be written.
    """
    target = markdown_target(value) or "-"
    text = markdown_summary(report, comparison)
    if not value and target != "-":
        text = _existing(target) + text
    write_text_atomic(target, text)
    return target


def _existing(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            before = f.read()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise DivepyError(f"{path}: cannot read the job summary to append to it ({exc})") from None
    return before if not before or before.endswith("\n\n") else before.rstrip("\n") + "\n\n"
