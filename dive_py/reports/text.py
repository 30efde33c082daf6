"""Provides the text reports: the ``--ci`` report and the plain summary.

A report is written line by line as parts: plain text, or ``(text, style)`` for a Rich
style. The writers show every control and bidi character of a part as an escape (:mod:`dive_py.safe_text`):
names and commands come from the image, and a newline or an ESC in one must not forge a line or drive the
terminal. On a terminal Rich shows the styles; anywhere else (a pipe, a file, a CI log) the
parts are written as they are, which is what Rich would write there, without importing
Rich (~20 ms: a tenth of what is left of ``--ci`` after the layers are read).
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Protocol, TextIO

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.ci.rules import CiReport, RuleStatus
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.safe_text import visible

HINT_ROWS = 10
"""Hints in text reports, biggest first; ``--json`` has them all."""

INEFFICIENT_ROWS = 50
"""Rows of the inefficient-files table in text reports; ``--json`` has them all."""

_STATUS_STYLE = {RuleStatus.PASS: "green", RuleStatus.FAIL: "bold red", RuleStatus.SKIP: "dim"}

Part = str | tuple[str, str]
"""A piece of a report line: text as it is, or ``(text, style)``."""


class ReportWriter(Protocol):
    """Where the text report writes: the plain stream or a Rich console."""

    def print(self, *parts: Part) -> None:
        """Writes one line made of ``parts`` (none: an empty line)."""


def make_writer(stream: TextIO) -> ReportWriter:
    """Rich on a terminal (as Rich decides: ``TTY_COMPATIBLE``, ``FORCE_COLOR``, isatty), else plain text."""
    if _is_terminal(stream):
        return _StyledWriter(stream)
    return _PlainWriter(stream)


def _is_terminal(stream: TextIO) -> bool:
    # Rich's own rule (rich.console.Console.is_terminal), minus the Jupyter and IDLE cases.
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _drop_output(stream: IO[str]) -> None:
    """A reader that went away (``divepy --ci IMAGE | head``) does not decide the exit code: the rest of
    the output goes nowhere (the final flush included) and divepy exits as the analysis says."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


class _PlainWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.dropped = False

    def print(self, *parts: Part) -> None:
        if self.dropped:
            return
        try:
            self.stream.write("".join(visible(part if isinstance(part, str) else part[0]) for part in parts) + "\n")
        except BrokenPipeError:
            self.dropped = True
            _drop_output(self.stream)


class _StyledWriter:
    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.text import Text

        self.console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
        # Rich's own would exit 1; it has no hook but this method, replaced on this instance only.
        self.console.on_broken_pipe = self._on_broken_pipe  # type: ignore[method-assign]
        self._assemble = Text.assemble

    def _on_broken_pipe(self) -> None:
        self.console.quiet = True
        _drop_output(self.console.file)

    def print(self, *parts: Part) -> None:
        safe = [visible(part) if isinstance(part, str) else (visible(part[0]), part[1]) for part in parts]
        self.console.print(self._assemble(*safe))


def platform_shown(analysis: Analysis) -> str:
    """The platform the image's config states (the one analysed), or that it states none."""
    return analysis.image.platform or "unknown (the image config names none)"


def render_summary(out: ReportWriter, analysis: Analysis, lines: DockerfileLines = NO_LINES) -> None:
    """Writes the image's name, platform and layers."""
    image = analysis.image
    out.print(("Image:", "bold"), f" {image.name}  ({image.source}, {len(image.layers)} layers)")
    out.print(("Platform:", "bold"), f" {platform_shown(analysis)}")
    out.print(("Layers:", "bold"))
    for layer in image.layers:
        command = layer.short_command if layer.index else f"FROM {layer.id[:15]}"
        out.print(f"  {layer.index:>3}  {fmt.size(layer.size_bytes):>8}  {command[:100]}")
        if label := lines.label(layer.index):
            out.print(("                 ", "dim"), (label[:100], "dim"))
    out.print()
    render_metrics(out, analysis)
    out.print()
    render_inefficiencies(out, analysis)
    out.print()
    render_hints(out, analysis, lines)


def render_metrics(out: ReportWriter, analysis: Analysis) -> None:
    """Writes the image's figures (size, wasted bytes, efficiency)."""
    walk = analysis.walk()
    rows = [
        ("efficiency", f"{analysis.efficiency * 100:.4f} %"),
        ("wastedBytes", f"{analysis.wasted_bytes} bytes ({fmt.size(analysis.wasted_bytes)})"),
        ("userWastedPercent", f"{analysis.user_wasted_ratio * 100:.4f} %"),
        ("sizeBytes", f"{analysis.size_bytes} bytes ({fmt.size(analysis.size_bytes)})"),
        ("userSizeBytes", f"{analysis.user_size_bytes} bytes ({fmt.size(analysis.user_size_bytes)})"),
        ("reclaimableBytes", f"{walk.reclaimable_bytes} bytes ({fmt.size(walk.reclaimable_bytes)})"),
        ("duplicateContentBytes", f"{walk.duplicate_content_bytes} bytes ({fmt.size(walk.duplicate_content_bytes)})"),
    ]
    out.print(("Analysis:", "bold"))
    for label, value in rows:
        out.print(f"  {label + ':':<23} {value}")


def render_inefficiencies(out: ReportWriter, analysis: Analysis) -> None:
    """Writes the inefficient files (paths in more than one layer), largest first."""
    items = analysis.inefficiencies
    if not items:
        out.print(("Inefficient Files:", "bold"), " (None)")
        return
    out.print(("Inefficient Files:", "bold"))
    out.print(("  Count  Wasted Space  File Path", "bold"))
    for item in items[:INEFFICIENT_ROWS]:
        out.print(f"  {item.count:>5}  {fmt.size(item.cumulative_bytes):>12}  {item.path}")
    if len(items) > INEFFICIENT_ROWS:
        out.print(f"  ... and {len(items) - INEFFICIENT_ROWS} more (--json lists them all)")


def render_hints(out: ReportWriter, analysis: Analysis, lines: DockerfileLines = NO_LINES) -> None:
    """The top hints: what a fix would save, where, in which layer (and Dockerfile line), and the fix."""
    report = analysis.hints()
    title = f"Hints: {fmt.size(report.fixable_bytes)} ({fmt.percent(report.fixable_ratio)} of the image) fixable"
    if not report.hints:
        out.print(("Hints:", "bold"), f" (None of at least {fmt.size(report.min_bytes)})")
        return
    out.print((title, "bold"))
    for hint in report.hints[:HINT_ROWS]:
        more = f" (+{len(hint.paths) - 1} more)" if len(hint.paths) > 1 else ""
        out.print(f"  {fmt.size(hint.bytes):>9}  {hint.kind:<17}  layer {hint.layer}: {hint.paths[0]}{more}")
        if label := lines.label(hint.layer):
            out.print(("             at:  ", "dim"), label)
        out.print(("             fix: ", "dim"), hint.fix)
    if len(report.hints) > HINT_ROWS:
        out.print(f"  ... and {len(report.hints) - HINT_ROWS} more (--json lists them all)")


def render_ci(out: ReportWriter, report: CiReport, config_source: str) -> None:
    """Prints the platform analysed, metrics, inefficient files, hints, each rule's verdict and the summary line."""
    out.print(("Platform:", "bold"), f" {platform_shown(report.analysis)}")
    render_metrics(out, report.analysis)
    out.print()
    render_inefficiencies(out, report.analysis)
    out.print()
    render_hints(out, report.analysis, report.lines)
    out.print()
    if report.baseline is not None:
        base, new = report.baseline.size_bytes, report.analysis.size_bytes
        out.print(
            ("Baseline:", "bold"),
            f" {report.baseline.image.name}: {fmt.size(base)} -> {fmt.size(new)} "
            f"({fmt.signed(new - base, plus_zero=True)})",
        )
        out.print()
    out.print(("Results:", "bold"), f" (rules from {config_source})")
    for result in report.results:
        detail = result.message if result.status != RuleStatus.PASS else result.message or result.configuration
        out.print("  ", (result.status.value, _STATUS_STYLE[result.status]), f": {result.key}: {detail}")
    verdict = "PASS" if report.passed else "FAIL"
    out.print(
        (f"Result: {verdict}", "bold green" if report.passed else "bold red"),
        f" [Total:{len(report.results)}] [Passed:{report.count(RuleStatus.PASS)}] "
        f"[Failed:{report.count(RuleStatus.FAIL)}] [Skipped:{report.count(RuleStatus.SKIP)}]",
    )
