"""Provides the ``divepy`` command: parse flags, load, then explore, ``--ci`` or ``--json``.

Exit codes: 0 all rules pass (or nothing to judge), 1 a CI rule failed, 2 the image,
reference, flags or config could not be used (one line on stderr, no traceback).
The UI is imported only when it is about to run, so ``--ci`` and ``--json`` stay headless.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from dive_py.cli.options import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_RULE_FAILED,
    RULE_FLAGS,
    ci_from_env,
    load_options,
    make_loader,
    parse_args,
    stderr_progress,
    warn,
)
from dive_py.errors import ConfigError, DivepyError, SourceError
from dive_py.malloc import tune_malloc
from dive_py.safe_text import visible


def console_main() -> NoReturn:
    """The ``divepy`` command: :func:`main`, then a quick exit.

    A loaded image is ~10^6 objects; tearing the interpreter down frees them one by one, ~0.1 s
    on a 100k-file image, for nothing. Everything divepy writes is written (and files closed) by
    then: flush the standard streams and leave.
    """
    tune_malloc()  # for the process and the workers it forks
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: what could be written was
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs divepy; returns the exit code (never raises for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _dispatch(argv)
    except DivepyError as exc:
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("divepy: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if debug:
            raise
        detail = visible(f"unexpected {type(exc).__name__}: {exc}")
        print(f"divepy: error: {detail} (run with --debug for details)", file=sys.stderr)
        return EXIT_ERROR


def _dispatch(argv: list[str]) -> int:
    from dive_py.cli.commands import BY_NAME

    command = BY_NAME.get(argv[0]) if argv else None
    if command is None:
        try:
            args = parse_args(argv)
        except ConfigError as exc:
            meant = _meant_command(argv)
            if meant is None or exc.hint:
                raise
            raise ConfigError(exc.message, hint=f"did you mean `divepy {meant}`?") from None
        try:
            return run_image(args)
        except SourceError as exc:  # `divepy exampel`: no image of that name either
            meant = _meant_command(argv) if args.image == argv[0] else None
            if meant is None:
                raise
            raise SourceError(exc.message, hint=f"did you mean `divepy {meant}`?") from None
    if command.wants_runner:
        return command.load()(argv[1:], run_image=run_image)
    return command.load()(argv[1:])


def _meant_command(argv: list[str]) -> str | None:
    """The subcommand a mistyped first word was likely meant to be (``dif`` -> ``diff``), or None."""
    import difflib

    from dive_py.cli.commands import BY_NAME

    first = argv[0] if argv else ""
    if not first or first.startswith("-") or os.path.exists(first):
        return None
    return next(iter(difflib.get_close_matches(first, list(BY_NAME), n=1, cutoff=0.75)), None)


def run_image(args: argparse.Namespace) -> int:
    """Loads ``args.image`` and does what the flags ask: CI, JSON, explorer or summary."""
    ci_mode = args.ci or ci_from_env() or bool(args.baseline or args.junit) or args.markdown is not None
    rules = None
    config_source = ""
    if ci_mode:
        rules, config_source = _rules_from(args)  # bad config fails before the slow load
    hint_min = _hint_min_bytes(args)
    if args.html:
        from dive_py.reports.treemap import require_squarify

        require_squarify()  # a missing extra is one line before the slow load
    if args.image == "-":
        from dive_py.load.dispatch import check_stdin_piped

        check_stdin_piped()  # before the explorer opens on a load that would wait

    from dive_py.cli.lines import read_dockerfile

    dockerfile = read_dockerfile(args)  # a bad Dockerfile or stage fails before the slow load
    wants_ui = not ci_mode and not args.json and not args.html and sys.stdout.isatty() and sys.stdin.isatty()
    if wants_ui:
        from dive_py.ui import run_tui

        return run_tui(args.image, make_loader(args, walk_later=True), dockerfile=dockerfile, target=args.target)
    from dive_py.analysis.gc_policy import long_lived, paused

    started = time.perf_counter()
    with long_lived():
        analysis = make_loader(args, hint_min_bytes=hint_min)(stderr_progress())
    if args.debug:
        _debug_timing(analysis, time.perf_counter() - started)
    from dive_py.cli.lines import lines_of

    with paused():  # the reports, the hints above all: ~10^6 short-lived objects at 10^6 files, no cycles
        return _report(args, analysis, rules, config_source, lines_of(analysis.image, dockerfile, args))


def _debug_timing(analysis, seconds: float) -> None:  # noqa: ANN001 - Analysis
    """``--debug``: what was read and how long the load took, in words (stderr)."""
    from dive_py.format import counted, duration

    layers = analysis.image.layers
    members = sum(layer.scan.member_count for layer in layers)
    print(
        f"divepy: debug: {counted(len(layers), 'layer')}, {counted(members, 'tar member')} read and analysed "
        f"in {duration(seconds)}",
        file=sys.stderr,
    )


def _report(args: argparse.Namespace, analysis, rules, config_source: str, lines) -> int:  # noqa: ANN001
    """Prints what the flags ask of a loaded image: warnings, JSON, review reports, the CI report or the summary."""
    for warning in analysis.warnings:
        warn(warning)
    if args.json:
        from dive_py.reports.export import write_json

        write_json(analysis, args.json, lines)
    _write_review_reports(args, analysis, lines)
    from dive_py.files import is_stdout
    from dive_py.reports.text import make_writer, render_ci, render_summary

    markdown_to_stdout = args.markdown is not None and is_stdout(_markdown_target(args.markdown) or "-")
    machine_stdout = any(p and is_stdout(p) for p in (args.json, args.sarif, args.codequality, args.html))
    stream = sys.stderr if machine_stdout or markdown_to_stdout else sys.stdout
    out = make_writer(stream)
    if rules is not None:
        from dive_py.ci.rules import evaluate

        report = evaluate(rules, analysis, _baseline(args), lines)
        _write_html(args, analysis, report, lines)
        _write_ci_reports(args, report)
        render_ci(out, report, config_source)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from dive_py.reports.review import github_annotations

            for line in github_annotations(analysis, lines):
                print(line, file=stream)
        return EXIT_OK if report.passed else EXIT_RULE_FAILED
    _write_html(args, analysis, None, lines)
    if not args.json:
        render_summary(out, analysis, lines)
    return EXIT_OK


def _write_html(args: argparse.Namespace, analysis, report, lines) -> None:  # noqa: ANN001
    """Writes ``--html FILE`` (before the text report, so a failure to write it is the one error line), each layer
    with its Dockerfile line where known."""
    if not args.html:
        return
    from dive_py.files import write_text_atomic
    from dive_py.reports.html_report import html_report

    labels = [lines.label(layer.index) or layer.label or None for layer in analysis.layers]
    write_text_atomic(args.html, html_report(analysis, report, labels))


def _write_review_reports(args: argparse.Namespace, analysis, lines) -> None:  # noqa: ANN001
    """Writes the --sarif and --codequality files (hints where reviewers read)."""
    if args.sarif:
        from dive_py.reports.sarif import write_sarif

        write_sarif(analysis, lines, args.sarif)
    if args.codequality:
        from dive_py.reports.review import write_codequality

        write_codequality(analysis, lines, args.codequality)


def _markdown_target(value: str) -> str | None:
    from dive_py.reports.markdown import markdown_target

    return markdown_target(value)


def _write_ci_reports(args: argparse.Namespace, report) -> None:  # noqa: ANN001 - CiReport
    """Writes the --junit and --markdown files; one that cannot be written ends the run with exit 2."""
    if not args.junit and args.markdown is None:
        return
    from dive_py.reports.junit import write_junit
    from dive_py.reports.markdown import write_markdown

    if args.junit:
        write_junit(report, args.junit)
    if args.markdown is not None:
        write_markdown(report, args.markdown, html_link=args.html)


def _baseline(args: argparse.Namespace):  # noqa: ANN202 - Analysis | None
    baseline = getattr(args, "baseline", None)
    if not baseline:
        return None
    from dive_py.analysis.from_reference import load_analysis

    return load_analysis(baseline, load_options(args))


def _rules_from(args: argparse.Namespace):  # noqa: ANN202
    from dive_py.ci.config import load_ci_config
    from dive_py.ci.rules import build_rules

    overrides = {key: getattr(args, key) for key, _kebab, _help in RULE_FLAGS}
    config = load_ci_config(args.ci_config, overrides)
    for key in config.ignored_keys:
        warn(f"{config.source}: unknown rule {key!r} ignored")
    try:
        return build_rules(config), config.source
    except ConfigError as exc:
        if config.source == "defaults":
            raise
        # Name the rules file, unless the bad value is one of the flags (the message names the flag).
        from dive_py.ci.config import CiConfig

        build_rules(CiConfig(rules={**CiConfig().rules, **{k: v for k, v in overrides.items() if v is not None}}))
        raise ConfigError(f"{config.source}: {exc.message}") from None


def _hint_min_bytes(args: argparse.Namespace) -> int:
    """The smallest hint reported: ``--hint-min-size``, else the rules file's ``hints: minSize:``, else 64 kB.

    Raises:
        ConfigError: the size cannot be read.
    """
    from dive_py.analysis.hints import DEFAULT_MIN_BYTES
    from dive_py.ci.config import load_ci_config
    from dive_py.units import parse_bytes

    raw, where = args.hint_min_size, "--hint-min-size"
    if raw is None:
        config = load_ci_config(args.ci_config, {})
        raw, where = config.hint_min_size, f"{config.source}: hints: minSize"
    if raw is None:
        return DEFAULT_MIN_BYTES
    try:
        return parse_bytes(raw)
    except ConfigError:
        raise ConfigError(f"{where}: invalid size {raw!r} (a byte size such as 64kB)") from None


def _print_error(exc: DivepyError) -> None:
    # One line: a message's own line breaks become spaces; those in the image's text it quotes, escapes.
    text = visible(" ".join(str(exc).split("\n")))
    print(f"divepy: error: {text}", file=sys.stderr)
