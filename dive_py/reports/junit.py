"""Provides the JUnit XML report of the CI rules, for test-report viewers: one test case per rule.

Built from a :class:`CiReport` and written atomically; nothing here prints. Every string passes through
:func:`visible`: XML 1.0 forbids most control characters, and one of them from a name would leave a file
no viewer can read (issue 25); ElementTree escapes the rest.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dive_py import format as fmt
from dive_py.ci.rules import CiReport, RuleResult, RuleStatus
from dive_py.files import write_text_atomic
from dive_py.reports.rule_figures import SPECS, metric_text
from dive_py.reports.text import HINT_ROWS
from dive_py.safe_text import visible, visible_lines

JUNIT_CLASSNAME = "divepy.ci"
"""Test-report viewers group test cases by class name; one group for all rules."""


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
    suite = ET.SubElement(root, "testsuite", {"name": visible(f"divepy ci: {report.analysis.image.name}"), **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in _junit_properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": visible(value)})
    for result in report.results:
        _add_case(suite, result)
    _add_hints(suite, report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _add_case(suite: ET.Element, result: RuleResult) -> None:
    case = ET.SubElement(suite, "testcase", {"classname": JUNIT_CLASSNAME, "name": result.key, "time": "0"})
    if result.status == RuleStatus.FAIL:
        failure = ET.SubElement(case, "failure", {"message": visible(result.message), "type": "RuleFailed"})
        failure.text = visible_lines(_rule_detail(result))
    elif result.status == RuleStatus.SKIP:
        ET.SubElement(case, "skipped", {"message": visible(result.message)})
    else:
        ET.SubElement(case, "system-out").text = visible(result.message)


def _add_hints(suite: ET.Element, report: CiReport) -> None:
    """The top hints with their fixes, as the suite's output (viewers show it; it fails nothing)."""
    hints = report.analysis.hints()
    lines = [f"hints: {hints.fixable_bytes} bytes fixable ({fmt.percent(hints.fixable_ratio)} of the image)"]
    for hint in hints.hints[:HINT_ROWS]:
        lines.append(f"{fmt.size(hint.bytes)} {hint.kind} layer {hint.layer} {', '.join(hint.paths[:3])}")
        if where := report.lines.label(hint.layer):
            lines.append(f"    at: {where}")
        lines.append(f"    fix: {hint.fix}")
    ET.SubElement(suite, "system-out").text = "\n".join(visible(line) for line in lines)  # a name's \n stays in it


def _junit_properties(report: CiReport) -> list[tuple[str, str]]:
    image = report.analysis.image
    props = [("image", image.name), ("source", image.source), ("sizeBytes", str(report.analysis.size_bytes))]
    props.append(("fixableBytes", str(report.analysis.hints().fixable_bytes)))
    if report.baseline is not None:
        props += [("baseline", report.baseline.image.name), ("baselineSizeBytes", str(report.baseline.size_bytes))]
    return props


def _rule_detail(result: RuleResult) -> str:
    spec = SPECS.get(result.key)
    actual = metric_text(spec, result.actual) if spec else str(result.actual)
    return f"{result.key}: actual {actual}, threshold {result.configuration}\n{result.message}"


def write_junit(report: CiReport, path: str) -> None:
    """Writes :func:`junit_xml` to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, junit_xml(report))
