"""Provides ``divepy fix IMAGE --dockerfile PATH``: the Dockerfile edits that close the image's hints.

Prints a unified diff of the Dockerfile (each hunk header names the hints it closes and their bytes) with
the exact fixes; the fixes for review come first as ``#`` comments and enter the diff only with ``--all``.
The Dockerfile is changed only with ``--write`` (atomically). ``--verify`` builds the original and the
patched Dockerfile and measures: exit 0 when the saving reaches 90 % of the applied fixes' claim and the
final file system is unchanged outside their paths, 1 otherwise, 2 when a build fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dive_py import format as fmt
from dive_py.cli.options import EXIT_OK, Parser, add_source_flags, load_options, stderr_progress
from dive_py.errors import ConfigError
from dive_py.safe_text import visible


def build_fix_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="divepy fix",
        description="Print the Dockerfile edits that close the image's hints (a unified diff); "
        "--verify rebuilds and measures them.",
    )
    parser.add_argument("image", metavar="IMAGE", help="the image the Dockerfile built")
    parser.add_argument("--dockerfile", metavar="PATH", required=True, help="the Dockerfile that built IMAGE")
    parser.add_argument("--target", metavar="STAGE", help="the stage that built IMAGE (default: the last)")
    parser.add_argument("--all", action="store_true", help="apply the fixes for review too, not only exact ones")
    parser.add_argument("--write", action="store_true", help="write the patched Dockerfile over PATH")
    parser.add_argument(
        "--builder",
        choices=("buildkit", "legacy"),
        help="the builder the Dockerfile is built with (default: as IMAGE's history says); "
        "COPY --chmod only with buildkit",
    )
    parser.add_argument("--hint-min-size", metavar="SIZE", default="64kB", help="the smallest hint fixed")
    verify = parser.add_argument_group("--verify: build the original and the patched Dockerfile and compare")
    verify.add_argument("--verify", action="store_true", help="build both and measure the saving")
    verify.add_argument("--context", metavar="DIR", help="the build context (default: the Dockerfile's folder)")
    verify.add_argument("--build-arg", metavar="K=V", action="append", default=[], help="a build argument")
    verify.add_argument("--network", metavar="MODE", help="the builds' network (e.g. host, none)")
    verify.add_argument("--engine", choices=("docker", "podman"), default=None, help="the engine that builds")
    add_source_flags(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def main_fix(argv: Sequence[str]) -> int:
    """Runs ``divepy fix``; returns the exit code (bad input raises ``DivepyError``: exit 2)."""
    args = build_fix_parser().parse_args(list(argv))
    from dive_py.analysis.from_reference import load_analysis
    from dive_py.cli.lines import lines_of, read_dockerfile
    from dive_py.units import parse_bytes

    try:
        min_bytes = parse_bytes(args.hint_min_size)
    except ConfigError:
        raise ConfigError(f"--hint-min-size: invalid size {args.hint_min_size!r}") from None
    dockerfile = read_dockerfile(args)  # a bad Dockerfile or --target fails before the slow load
    if dockerfile is None:  # --dockerfile is required; an empty one names no file
        raise ConfigError("--dockerfile: no path given")
    analysis = load_analysis(args.image, load_options(args, stderr_progress()))
    lines = lines_of(analysis.image, dockerfile, args)
    plan = make_plan(analysis, dockerfile, lines.layers, args.target, args.builder, min_bytes)
    text = dockerfile.text
    draft = plan.draft(text, include_review=args.all)
    out = sys.stdout
    out.write(render_plan(plan, args.all))
    out.write(draft.diff(args.dockerfile))
    out.flush()
    applied = plan.fixes if args.all else plan.exact()
    if args.write and draft.new:
        from dive_py.files import write_text_atomic

        write_text_atomic(args.dockerfile, draft.patched())
        print(f"divepy fix: wrote {args.dockerfile}", file=sys.stderr)
    if not args.verify:
        return EXIT_OK
    from dive_py.cli.fix_verify import verify

    return verify(args, text, draft.patched(), applied, plan.buildkit)


def make_plan(analysis, dockerfile, layers, target: str | None, builder: str | None, min_bytes: int):  # noqa: ANN001, ANN201
    """The fix plan of an analysed image, its parsed Dockerfile and the instruction of each layer."""
    from dive_py.fixes.plan import plan_fixes

    image = analysis.image
    buildkit = built_with_buildkit(image.config) if builder is None else builder == "buildkit"
    stage = [item for part in dockerfile.chain(target) for item in part.instructions]
    hints = analysis.hints(min_bytes).hints
    return plan_fixes(hints, layers, stage, image, buildkit)


def built_with_buildkit(config: dict) -> bool:
    """Whether the image's history was written by BuildKit (its entries end in ``# buildkit``)."""
    history = config.get("history") if isinstance(config, dict) else None
    return any(
        isinstance(entry, dict) and str(entry.get("created_by", "")).rstrip().endswith("# buildkit")
        for entry in history or []
    )


def render_plan(plan, include_review: bool) -> str:  # noqa: ANN001 - FixPlan
    """The plan as ``#`` comment lines (before the diff: ``patch`` and ``git apply`` skip them)."""
    builder = "BuildKit" if plan.buildkit else "the legacy builder (no COPY --chmod)"
    exact = plan.exact()
    lines = [f"# divepy fix: {len(exact)} exact fix(es), {fmt.size(sum(f.bytes for f in exact))}; built with {builder}"]
    for fix in plan.review():
        state = "applied (--all)" if include_review else "for review, applied with --all"
        where = f"line {fix.instruction.line}" if fix.instruction else "no line"
        lines.append(f"# {state}: {where}: {visible(fix.summary)}; {fix.label}; not exact: {visible(fix.why_review)}")
    for hint, reason in plan.unfixed:
        lines.append(
            f"# not fixed: {hint.kind} {visible(', '.join(hint.paths[:3]))} ({fmt.size(hint.bytes)}), "
            f"layer {hint.layer}: {visible(reason)}"
        )
    return "".join(line + "\n" for line in lines)
