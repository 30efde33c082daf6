"""Provides the Markdown summary of the CI rules, for pull requests and job summaries.

Built from a :class:`CiReport` (and, with a baseline, the figures of :mod:`dive_py.reports.diff_summary`) and written
atomically; nothing here prints. Text from the image (names, paths, fixes that quote them) goes into code spans,
where no Markdown flavour makes a link, an image or HTML; other text is escaped (issue 25).
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, ImageComparison, compare
from dive_py.ci.rules import CiReport, RuleResult, RuleStatus
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines, location
from dive_py.errors import DivepyError
from dive_py.files import replaces_file, write_text_atomic
from dive_py.reports.diff_summary import DiffSummary, summarize
from dive_py.reports.rule_figures import rule_figure
from dive_py.safe_text import visible

MARKDOWN_ROWS = 10
"""Rows of each file table in the Markdown summary: a pull-request comment must stay short."""

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
"""GitHub Actions renders the Markdown appended to the file this variable names on the job page."""

_ICON = {RuleStatus.PASS: "✅ PASS", RuleStatus.FAIL: "❌ FAIL", RuleStatus.SKIP: "⏭️ SKIP"}


def markdown_summary(report: CiReport, comparison: ImageComparison | None = None, html_link: str | None = None) -> str:
    """The verdict, each rule's figure and threshold, a chart of the layers' sizes, the top inefficient files and,
    with a baseline, the change.

    Args:
        report: the evaluated rules.
        comparison: base-to-new comparison; computed from ``report.baseline`` when not given.
        html_link: where the ``--html`` report was written (a link line names it), if it was.

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
    if html_link:
        lines += ["", _html_line(html_link)]
    lines += ["", "### Rules", "", "| Rule | Result | Value | Threshold |", "|---|---|---:|---:|"]
    for result in report.results:
        value = _rule_value(result, report)
        lines.append(f"| {result.key} | {_rule_cell(result)} | {value} | {_cell(result.configuration)} |")
    if comparison is not None:
        lines += _change_section(summarize(comparison))
    lines += layer_chart(report.analysis)
    lines += _inefficient_section(report.analysis)
    lines += _hint_section(report.analysis, report.lines)
    return "\n".join(lines) + "\n"


def layer_chart(analysis: Analysis) -> list[str]:
    """The layers' sizes as a Mermaid bar chart (GitHub renders it), layers numbered from 0 as in the explorer.

    Only numbers and fixed words reach the chart: a command could break Mermaid's syntax, so the commands stay in
    the report's tables.
    """
    if not analysis.layers:
        return []
    sizes = [layer.size_bytes for layer in analysis.layers]
    unit, scale = _chart_unit(max(sizes))
    values = ", ".join(f"{size / scale:.2f}".rstrip("0").rstrip(".") for size in sizes)
    top = max(sizes) / scale
    axis = ", ".join(f'"{layer.index}"' for layer in analysis.layers)
    return [
        "",
        "### Layer sizes",
        "",
        "```mermaid",
        "xychart-beta",
        f'    title "Layer sizes ({unit}), layer 0 at the left"',
        f"    x-axis [{axis}]",
        f'    y-axis "{unit}" 0 --> {top * 1.05:.2f}',
        f"    bar [{values}]",
        "```",
    ]


def _chart_unit(largest: int) -> tuple[str, int]:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if largest >= scale:
            return unit, scale
    return "B", 1


def _html_line(path: str) -> str:
    """The link line to the HTML report: its file name as a relative link (a CI job uploads it as an artifact)."""
    name = os.path.basename(path.rstrip("/")) or path
    text = _cell(name)  # brackets, backticks and angle brackets escaped: it stays the link's plain text
    return f"📊 Full report (treemap, layers, hints): [{text}]({quote(name)})"


def _hint_section(analysis: Analysis, places: DockerfileLines = NO_LINES) -> list[str]:
    """The top hints with their fixes (and their Dockerfile lines, when any is known)."""
    report = analysis.hints()
    if not report.hints:
        return ["", "### Hints", "", f"None of at least {fmt.size(report.min_bytes)}."]
    shown = report.hints[:MARKDOWN_ROWS]
    at = [_hint_place(places, hint.layer) for hint in shown]
    column = any(at)  # a Dockerfile column only when a line (or a layer's origin) is known
    lines = [
        "",
        f"### Hints: {fmt.size(report.fixable_bytes)} ({fmt.percent(report.fixable_ratio)} of the image) fixable",
        "",
        "| Saves | Kind | Layer |" + (" Dockerfile |" if column else "") + " Paths | Fix |",
        "|---:|---|---:|" + ("---|" if column else "") + "---|---|",
    ]
    for hint, where in zip(shown, at, strict=True):
        paths = ", ".join(_code(path) for path in hint.paths[:3]) + (" …" if len(hint.paths) > 3 else "")
        place = f" {where} |" if column else ""
        lines.append(f"| {fmt.size(hint.bytes)} | {hint.kind} | {hint.layer} |{place} {paths} | {_code(hint.fix)} |")
    if len(report.hints) > MARKDOWN_ROWS:
        lines.append(f"\n… and {len(report.hints) - MARKDOWN_ROWS} more (`divepy --json` lists them all)")
    return lines


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
    return rule_figure(result, report)


def _change_section(summary: DiffSummary) -> list[str]:
    c, base, new = summary.comparison, summary.base, summary.new
    lines = [
        "",
        "### Size change",
        "",
        "| | Baseline | Image | Change |",
        "|---|---:|---:|---:|",
        f"| Image size | {fmt.size(base.size_bytes)} | {fmt.size(new.size_bytes)} | "
        f"{fmt.signed(c.image_size_delta_bytes)} ({fmt.signed_percent(summary.image_growth)}) |",
        f"| Final file system | {fmt.size(base.walk().final_size_bytes)} | {fmt.size(new.walk().final_size_bytes)} | "
        f"{fmt.signed(c.size_delta_bytes)} |",
        f"| Wasted bytes | {fmt.size(base.wasted_bytes)} | {fmt.size(new.wasted_bytes)} | "
        f"{fmt.signed(summary.wasted_delta_bytes)} |",
        f"| Efficiency | {fmt.percent(base.efficiency)} | {fmt.percent(new.efficiency)} | "
        f"{summary.efficiency_delta * 100:+.2f} pts |",
        f"| Layers | {len(base.layers)} | {len(new.layers)} | {c.shared_layers} shared |",
        "",
        f"Files: {summary.count(Change.ADDED)} added ({fmt.size(c.added_bytes)}), "
        f"{summary.count(Change.REMOVED)} removed ({fmt.size(c.removed_bytes)}), "
        f"{summary.count(Change.MODIFIED)} modified, {summary.count(Change.MOVED)} moved; "
        f"{summary.copies} added files are copies of files in the baseline.",
    ]
    return lines + _added_section(summary)


def _added_section(summary: DiffSummary) -> list[str]:
    added = summary.comparison.biggest(Change.ADDED, MARKDOWN_ROWS)
    if not added:
        return []
    lines = ["", "### Biggest added files", "", "| Size | Path | Copy of |", "|---:|---|---|"]
    for item in added:
        copy = _code(item.copy_of) if item.copy_of else ""
        lines.append(f"| {fmt.size(item.size_bytes or 0)} | {_code(item.path)} | {copy} |")
    more = summary.count(Change.ADDED) - len(added)
    if more > 0:
        lines.append(f"\n… and {more} more (`divepy diff --json` lists them all)")
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


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>!&#|~])")
"""ASCII punctuation that can start Markdown (emphasis, links, images, HTML, entities, code, tables)."""


def _hint_place(places: DockerfileLines, layer: int) -> str:
    """``Dockerfile:7`` and the instruction in code, or how the layer was made, or ""."""
    item = places.of_layer(layer)
    if item is not None:
        return f"{_cell(location(item))} {_code(item.text)}"
    return _cell(places.note_of(layer) or "")


def _cell(text: str) -> str:
    """Text as it reads, safe in a table cell: one line, control characters shown, Markdown escaped."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", visible(" ".join(text.split())))


def _code(text: str) -> str:
    """``text`` in a code span, shown as it is: control characters as escapes (a newline as ``\\n``), pipes
    escaped (GFM escapes them even inside code), and a fence longer than the longest backtick run, so no
    backtick in ``text`` can close the span early."""
    text = visible(text).replace("|", "\\|")
    if not text:
        return ""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    # One space each side keeps a backtick at either end off the fence; Markdown takes the pair away again.
    padded = len(fence) > 1 or text[0] in "` " or text[-1] in "` "
    pad = " " if padded and text.strip(" ") else ""  # (an all-space span keeps its spaces: none to add)
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


def write_markdown(
    report: CiReport, value: str, comparison: ImageComparison | None = None, html_link: str | None = None
) -> str:
    """Writes :func:`markdown_summary` where :func:`markdown_target` says; returns that path.

    Without FILE and with ``GITHUB_STEP_SUMMARY`` set, the summary is appended to that file
    (earlier steps' summaries stay), still by an atomic replace.

    Raises:
        DivepyError: the file cannot be written.
    """
    target = markdown_target(value) or "-"
    text = markdown_summary(report, comparison, html_link if html_link and html_link != "-" else None)
    if not value and replaces_file(target):  # a FIFO or a descriptor is written into: nothing to read first
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
