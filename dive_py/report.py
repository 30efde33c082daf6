"""Provides the text reports: the ``--ci`` report and the plain summary (Rich, colour only on a terminal)."""

from __future__ import annotations

import contextlib
import os
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from dive_py import format as fmt
from dive_py.analysis import Analysis
from dive_py.ci import CiReport, RuleStatus

INEFFICIENT_ROWS = 50
"""Rows of the inefficient-files table in text reports; ``--json`` has them all."""

_STATUS_STYLE = {RuleStatus.PASS: "green", RuleStatus.FAIL: "bold red", RuleStatus.SKIP: "dim"}


class _Console(Console):
    """Rich's console, but a reader that goes away (``divepy --ci IMAGE | head``) does not decide the exit
    code: the rest of the output is dropped and divepy exits as the analysis says (Rich exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())  # the final flush then writes nowhere instead of failing


def make_console(stream: TextIO) -> Console:
    """A console that colours only a terminal, and never when NO_COLOR is set (Rich's rule)."""
    return _Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def render_summary(console: Console, analysis: Analysis) -> None:
    image = analysis.image
    console.print(f"[bold]Image:[/] {escape(image.name)}  ({image.source}, {len(image.layers)} layers)")
    console.print("[bold]Layers:[/]")
    for layer in image.layers:
        command = layer.short_command if layer.index else f"FROM {layer.id[:15]}"
        console.print(f"  {layer.index + 1:>3}  {fmt.size(layer.size_bytes):>8}  {escape(command[:100])}")
    console.print()
    render_metrics(console, analysis)
    console.print()
    render_inefficiencies(console, analysis)


def render_metrics(console: Console, analysis: Analysis) -> None:
    rows = [
        ("efficiency", f"{analysis.efficiency * 100:.4f} %"),
        ("wastedBytes", f"{analysis.wasted_bytes} bytes ({fmt.size(analysis.wasted_bytes)})"),
        ("userWastedPercent", f"{analysis.user_wasted_ratio * 100:.4f} %"),
        ("sizeBytes", f"{analysis.size_bytes} bytes ({fmt.size(analysis.size_bytes)})"),
        ("userSizeBytes", f"{analysis.user_size_bytes} bytes ({fmt.size(analysis.user_size_bytes)})"),
        ("reclaimableBytes", f"{analysis.reclaimable_bytes} bytes ({fmt.size(analysis.reclaimable_bytes)})"),
        (
            "duplicateContentBytes",
            f"{analysis.duplicate_content_bytes} bytes ({fmt.size(analysis.duplicate_content_bytes)})",
        ),
    ]
    console.print("[bold]Analysis:[/]")
    for label, value in rows:
        console.print(f"  {label + ':':<23} {value}")


def render_inefficiencies(console: Console, analysis: Analysis) -> None:
    items = analysis.inefficiencies
    if not items:
        console.print("[bold]Inefficient Files:[/] (None)")
        return
    console.print("[bold]Inefficient Files:[/]")
    console.print("[bold]  Count  Wasted Space  File Path[/]")
    for item in items[:INEFFICIENT_ROWS]:
        console.print(f"  {item.count:>5}  {fmt.size(item.cumulative_bytes):>12}  {escape(item.path)}")
    if len(items) > INEFFICIENT_ROWS:
        console.print(f"  ... and {len(items) - INEFFICIENT_ROWS} more (--json lists them all)")


def render_ci(console: Console, report: CiReport, config_source: str) -> None:
    """Prints metrics, inefficient files, each rule's verdict and the summary line."""
    render_metrics(console, report.analysis)
    console.print()
    render_inefficiencies(console, report.analysis)
    console.print()
    if report.baseline is not None:
        base, new = report.baseline.size_bytes, report.analysis.size_bytes
        console.print(
            f"[bold]Baseline:[/] {escape(report.baseline.image.name)}: {fmt.size(base)} -> {fmt.size(new)} "
            f"({'+' if new >= base else '-'}{fmt.size(abs(new - base))})"
        )
        console.print()
    console.print(f"[bold]Results:[/] (rules from {escape(config_source)})")
    for result in report.results:
        style = _STATUS_STYLE[result.status]
        detail = result.message if result.status != RuleStatus.PASS else result.message or result.configuration
        console.print(f"  [{style}]{result.status.value}[/]: {result.key}: {escape(detail)}")
    verdict = "PASS" if report.passed else "FAIL"
    style = "bold green" if report.passed else "bold red"
    console.print(
        f"[{style}]Result: {verdict}[/] [Total:{len(report.results)}] [Passed:{report.count(RuleStatus.PASS)}] "
        f"[Failed:{report.count(RuleStatus.FAIL)}] [Skipped:{report.count(RuleStatus.SKIP)}]"
    )
