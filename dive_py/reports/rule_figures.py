"""Provides a CI rule's figure as text (``+3.4 MB``, ``98.44 %``), as the JUnit and Markdown reports show it."""

from __future__ import annotations

from dive_py import format as fmt
from dive_py.ci.rules import RULES, CiReport, RuleResult, RuleSpec

SPECS: dict[str, RuleSpec] = {spec.key: spec for spec in RULES}
"""Every rule by its key."""


def metric_text(spec: RuleSpec | None, value: float | int | None) -> str:
    """A rule's figure in the rule's terms: a size (signed when it is a change from the baseline), a percent.

    Args:
        spec: the rule; None for a key divepy does not know (the figure is shown as it is).
        value: the figure; None when it cannot be computed (``n/a``).
    """
    if value is None:
        return "n/a"
    kind = spec.kind if spec else ""
    if kind == "max-bytes":
        return fmt.signed(int(value)) if spec is not None and spec.needs_baseline else fmt.size(int(value))
    if kind == "max-growth-ratio":
        return fmt.signed_percent(float(value))
    if kind in ("min-ratio", "max-ratio"):
        return fmt.percent(float(value))
    return str(value)


def rule_figure(result: RuleResult, report: CiReport) -> str:
    """A rule's figure as text; a disabled rule still shows it when it can be computed (Markdown, HTML)."""
    spec = SPECS.get(result.key)
    if spec is None:
        return "" if result.actual is None else str(result.actual)
    actual = result.actual
    if actual is None and not (spec.needs_baseline and report.baseline is None):
        actual = spec.metric(report.analysis, report.baseline)
    return metric_text(spec, actual)
