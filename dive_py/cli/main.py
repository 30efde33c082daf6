"""Provides the ``divepy`` command: parse flags, load, then explore, ``--ci`` or ``--json``.

Exit codes: 0 all rules pass (or nothing to judge), 1 a CI rule failed, 2 the image,
reference, flags or config could not be used (one line on stderr, no traceback).
The UI is imported only when it is about to run, so ``--ci`` and ``--json`` stay headless.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
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
from dive_py.errors import ConfigError, DivepyError
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
    if argv and argv[0] == "build":
        from dive_py.cli.build import main_build

        return main_build(argv[1:], run_image=run_image)
    if argv and argv[0] == "diff":
        from dive_py.cli.diff import main_diff

        return main_diff(argv[1:])
    if argv and argv[0] == "cat":
        from dive_py.cli.cat import main_cat

        return main_cat(argv[1:])
    if argv and argv[0] == "extract":
        from dive_py.cli.extract import main_extract

        return main_extract(argv[1:])
    return run_image(parse_args(argv))


def run_image(args: argparse.Namespace) -> int:
    """Loads ``args.image`` and does what the flags ask: CI, JSON, explorer or summary."""
    ci_mode = args.ci or ci_from_env() or bool(args.baseline or args.junit) or args.markdown is not None
    rules = None
    config_source = ""
    if ci_mode:
        rules, config_source = _rules_from(args)  # bad config fails before the slow load
    hint_min = _hint_min_bytes(args)
    wants_ui = not ci_mode and not args.json and sys.stdout.isatty() and sys.stdin.isatty()
    if wants_ui:
        from dive_py.ui import run_tui

        return run_tui(args.image, make_loader(args, walk_later=True))
    from dive_py.analysis.analyze import long_lived

    with long_lived():
        analysis = make_loader(args)(stderr_progress())
    analysis.hint_min_bytes = hint_min
    # The reports (the hints above all) make ~10^6 short-lived objects on a 1M-entry image and leave no cycles
    # worth collecting: cyclic collections would only cost (~0.75 s of --ci there).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _report(args, analysis, rules, config_source)
    finally:
        if enabled:
            gc.enable()


def _report(args: argparse.Namespace, analysis, rules, config_source: str) -> int:  # noqa: ANN001
    """Prints what the flags ask of a loaded image: warnings, JSON, the CI report or the summary."""
    for warning in analysis.warnings:
        warn(warning)
    if args.json:
        from dive_py.reports.export import write_json

        write_json(analysis, args.json)
    from dive_py.reports.text import make_writer, render_ci, render_summary

    markdown_to_stdout = args.markdown is not None and _markdown_target(args.markdown) == "-"
    out = make_writer(sys.stderr if args.json == "-" or markdown_to_stdout else sys.stdout)
    if rules is not None:
        from dive_py.ci.rules import evaluate

        report = evaluate(rules, analysis, _baseline(args))
        _write_ci_reports(args, report)
        render_ci(out, report, config_source)
        return EXIT_OK if report.passed else EXIT_RULE_FAILED
    if not args.json:
        render_summary(out, analysis)
    return EXIT_OK


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
        write_markdown(report, args.markdown)


def _baseline(args: argparse.Namespace):  # noqa: ANN202 - Analysis | None
    baseline = getattr(args, "baseline", None)
    if not baseline:
        return None
    from dive_py.analysis.load import load_analysis

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
