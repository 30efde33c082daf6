"""Provides ``divepy diff BASE NEW``: load two images, compare them, then show, or write ``--json``.

In a terminal (and without ``--json``) the explorer's diff view (``dive_py.ui.run_diff_tui``) opens on
the comparison :func:`make_diff_loader` returns; otherwise the text summary is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dive_py import format as fmt
from dive_py.analysis.compare import Change, FileChange, ImageComparison, compare, comparison_to_dict
from dive_py.cli.options import EXIT_OK, Parser, add_dockerfile_flags, load_options, stderr_progress, warn
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.reports.diff_summary import CHANGE_MARKS, ChangeCount, DiffSummary, summarize
from dive_py.reports.text import Part, ReportWriter, make_writer
from dive_py.sources.reference import SOURCE_CHOICES

if TYPE_CHECKING:
    from dive_py.model import ProgressCallback

DIFF_ROWS = 30
"""Rows of the biggest-changes list in the text summary; ``--json`` has them all."""


def build_diff_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="divepy diff",
        description="Compare two images: shared layers, then files added, removed, modified and moved.",
    )
    parser.add_argument("base", metavar="BASE", help="the image before (archive, OCI folder or reference)")
    parser.add_argument("new", metavar="NEW", help="the image after")
    parser.add_argument("-j", "--json", metavar="FILE", help="write the comparison as JSON (- for stdout)")
    parser.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML page of the comparison (- for stdout)"
    )
    source = parser.add_argument_group("image source (applies to both images)")
    source.add_argument(
        "--source",
        choices=SOURCE_CHOICES,
        help="where the images come from (default: a path if it exists, else docker)",
    )
    source.add_argument("--tag", help="pick this image when an archive holds several (or suffix a path with :TAG)")
    source.add_argument("--platform", help="pick this platform (os/arch[/variant]) from a multi-platform image")
    source.add_argument("-i", "--ignore-errors", action="store_true", help="compare the layers that can be read")
    source.add_argument(
        "--namespace", help="containerd namespace (default: $CONTAINERD_NAMESPACE or default; Kubernetes: k8s.io)"
    )
    source.add_argument("--username", help="registry user name; the password is read from env DIVEPY_PASSWORD")
    source.add_argument("--insecure", action="store_true", help="registry over plain http / unverified TLS")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    add_dockerfile_flags(parser, "NEW")
    return parser


def make_diff_loader(args: argparse.Namespace) -> Callable[..., ImageComparison]:
    """A ``load(progress=None) -> ImageComparison`` for the two images the flags name.

    This is the entry point for the explorer's diff view: run it off the UI thread, as
    ``cli.options.make_loader`` is run for one image; ``progress(label, done, total)`` is called while
    layers are read.
    """

    def load(progress: ProgressCallback | None = None) -> ImageComparison:
        from dive_py.analysis.from_reference import load_analysis  # here: --help and bad flags stay quick

        base = load_analysis(args.base, load_options(args, progress))
        new = load_analysis(args.new, load_options(args, progress))
        return compare(base, new)

    return load


def main_diff(argv: Sequence[str]) -> int:
    """Runs ``divepy diff``; returns the exit code (0; bad input raises ``DivepyError``, which ``main`` reports).

    Args:
        argv: the arguments after ``diff``.
    """

    args = build_diff_parser().parse_args(list(argv))
    from dive_py.cli.lines import lines_of, read_dockerfile

    dockerfile = read_dockerfile(args)  # a bad Dockerfile fails before the slow loads
    if not args.json and not args.html and sys.stdout.isatty() and sys.stdin.isatty():
        from dive_py.ui import run_diff_tui  # the only import of the UI here: it loads Textual

        return run_diff_tui(f"{args.base} and {args.new}", make_diff_loader(args))
    comparison = make_diff_loader(args)(stderr_progress())
    for side, analysis in (("base", comparison.base), ("new", comparison.new)):
        for warning in analysis.warnings:
            warn(f"{side}: {warning}")
    lines = lines_of(comparison.new.image, dockerfile, args)
    if args.json:
        from dive_py.files import write_text_atomic
        from dive_py.reports.diff_summary import extras_to_dict

        document = {**comparison_to_dict(comparison), **extras_to_dict(comparison, lines)}
        write_text_atomic(args.json, json.dumps(document, indent=2) + "\n")
    if args.html:
        from dive_py.files import write_text_atomic
        from dive_py.reports.html_diff import html_diff

        labels = [lines.label(index) or None for index in range(len(comparison.new.layers))]
        write_text_atomic(args.html, html_diff(comparison, labels))
    if not args.json:  # not a terminal: the text summary (on stderr when the page goes to stdout)
        from dive_py.files import is_stdout

        out = make_writer(sys.stderr if args.html and is_stdout(args.html) else sys.stdout)
        render_diff(out, comparison, lines)
    return EXIT_OK


def render_diff(out: ReportWriter, comparison: ImageComparison, lines: DockerfileLines = NO_LINES) -> None:
    """Prints the comparison: both images, shared layers, counts, per-folder sizes and the biggest changes (the
    hints that appeared at their line of the new image's Dockerfile, ``lines``)."""
    summary = summarize(comparison)
    for label, analysis in (("Base", summary.base), ("New", summary.new)):
        image = analysis.image
        out.print(
            (f"{label + ':':<5}", "bold"),
            f" {image.name}  ({image.source}, {len(image.layers)} layers, {fmt.size(analysis.size_bytes)})",
        )
    out.print(("Shared layers:", "bold"), f" {comparison.shared_layers}")
    out.print()
    out.print(("Changes", "bold"), " (files and links):")
    for row in summary.changes:
        out.print(f"  {row.change.value:<10}{row.count:>7}{_figure(row)}")
    if summary.copies:
        out.print(f"  ({summary.copies} added files are copies of files already in the base)")
    out.print(
        f"  final file system {fmt.signed(comparison.size_delta_bytes)}, "
        f"image size {fmt.signed(comparison.image_size_delta_bytes)}"
    )
    _render_folders(out, summary)
    _render_biggest(out, summary)
    _render_hints(out, comparison, lines)
    _render_packages(out, comparison)


def _render_hints(out: ReportWriter, comparison: ImageComparison, lines: DockerfileLines) -> None:
    """Hints that appeared in the new image or disappeared from the base (nothing when none did)."""
    from dive_py.reports.diff_summary import hint_changes

    changes = hint_changes(comparison)
    for label, mark, hints in (("appeared", "+", changes.appeared), ("disappeared", "-", changes.disappeared)):
        if not hints:
            continue
        out.print()
        out.print((f"Hints {label}:", "bold"), f" {len(hints)}, {fmt.size(sum(h.bytes for h in hints))}")
        for hint in hints[:DIFF_ROWS]:
            out.print(f"  {mark} {fmt.size(hint.bytes):>9}  {hint.kind:<17}  {hint.paths[0]}")
            if mark == "+":
                if label := lines.label(hint.layer):
                    out.print(("               at:  ", "dim"), label)
                out.print(("               fix: ", "dim"), hint.fix)


def _render_packages(out: ReportWriter, comparison: ImageComparison) -> None:
    from dive_py.reports.diff_summary import package_changes

    changes = package_changes(comparison)
    if not changes:
        return
    out.print()
    out.print(
        ("Packages:", "bold"),
        f" {len(changes.added)} added, {len(changes.removed)} removed, {len(changes.changed)} changed",
    )
    for mark, packages in (("+", changes.added), ("-", changes.removed), ("~", changes.changed)):
        for package in packages[:DIFF_ROWS]:
            state = f" ({package.state})" if package.state else ""
            out.print(f"  {mark} {package.manager:<6} {package.name} {package.version}{state}")


def _figure(row: ChangeCount) -> str:
    """Added and removed bytes as sizes; the modified files' net change, which can go either way, signed."""
    if row.delta_bytes is None:
        return ""  # a move changes no bytes
    figure = fmt.signed(row.delta_bytes) if row.change == Change.MODIFIED else fmt.size(abs(row.delta_bytes))
    return f"  {figure:>9}"


def _render_folders(out: ReportWriter, summary: DiffSummary) -> None:
    if not summary.folders:
        return
    out.print()
    out.print(("Size by top-level folder:", "bold"))
    for folder in summary.folders:
        out.print(
            f"  {folder.path:<20} {fmt.size(folder.base_size_bytes):>9} -> {fmt.size(folder.size_bytes):>9}"
            f"  ({fmt.signed(folder.delta_bytes)})"
        )


def _render_biggest(out: ReportWriter, summary: DiffSummary) -> None:
    if not summary.biggest:
        out.print()
        out.print(("No file changed.", "bold"))
        return
    out.print()
    out.print(("Biggest changes:", "bold"))
    for item in summary.biggest[:DIFF_ROWS]:
        mark, style = CHANGE_MARKS[item.change]
        out.print("  ", (mark, style), f" {fmt.signed(item.delta_bytes):>9}  {item.path}", *_note(item))
    if len(summary.biggest) > DIFF_ROWS:
        out.print(f"  ... and {len(summary.biggest) - DIFF_ROWS} more (--json lists them all)")


def _note(item: FileChange) -> tuple[Part, ...]:
    if item.moved_from:
        return ("  ", (f"(moved from {item.moved_from})", "dim"))
    if item.copy_of:
        return ("  ", (f"(copy of {item.copy_of})", "dim"))
    if item.changed:
        return ("  ", (f"({', '.join(item.changed)})", "dim"))
    return ()
