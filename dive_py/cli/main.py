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
from collections.abc import Callable, Sequence
from typing import NoReturn

from dive_py import __version__
from dive_py.errors import ConfigError, DivepyError
from dive_py.malloc import tune_malloc

EXIT_OK, EXIT_RULE_FAILED, EXIT_ERROR = 0, 1, 2

RULE_FLAGS = (
    ("lowestEfficiency", "lowest-efficiency", "lowest allowed efficiency, 0-1 (default 0.9)"),
    ("highestWastedBytes", "highest-wasted-bytes", "highest allowed wasted bytes, e.g. 20MB (default disabled)"),
    ("highestUserWastedPercent", "highest-user-wasted-percent", "highest wasted/user bytes, 0-1 (default 0.1)"),
    ("highestReclaimableBytes", "highest-reclaimable-bytes", "highest bytes a squash would save (default disabled)"),
    ("highestDuplicateContentBytes", "highest-duplicate-content-bytes", "highest duplicated bytes (default disabled)"),
    ("highestSizeIncreaseBytes", "highest-size-increase-bytes", "with --baseline: highest growth in bytes"),
    ("highestSizeIncreasePercent", "highest-size-increase-percent", "with --baseline: highest growth, 0.1 or 10%%"),
    ("highestWastedBytesIncrease", "highest-wasted-bytes-increase", "with --baseline: highest wasted growth"),
)
"""CI rule flags: dive's camelCase names, with kebab-case aliases."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see divepy --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="divepy",
        description="See inside a container image, layer by layer: where the bytes go and what is wasted.",
        epilog="Subcommands: `divepy build [docker build args]`, `divepy diff BASE NEW`.",
    )
    parser.add_argument(
        "image", metavar="IMAGE", nargs="?", help="image archive, OCI folder or reference (see --source)"
    )
    parser.add_argument("--version", action="version", version=f"divepy {__version__}")
    source = parser.add_argument_group("image source")
    source.add_argument(
        "--source",
        choices=["docker-archive", "oci-archive", "oci-dir", "archive", "docker", "podman", "registry"],
        help="where IMAGE comes from (default: a path if it exists, else docker; prefixes docker-archive://, "
        "oci-archive://, oci://, docker://, podman://, registry://; - reads an archive from stdin)",
    )
    source.add_argument("--tag", help="pick this image when an archive holds several")
    source.add_argument("--platform", help="pick this platform (os/arch[/variant]) from a multi-platform image")
    source.add_argument(
        "-i", "--ignore-errors", action="store_true", help="analyse the layers that can be read; skip the rest"
    )
    source.add_argument("--username", help="registry user name; the password is read from env DIVEPY_PASSWORD")
    source.add_argument(
        "--insecure", action="store_true", help="registry over plain http / unverified TLS (always http for localhost)"
    )
    source.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the layer cache ($XDG_CACHE_HOME/divepy or ~/.cache/divepy)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("-j", "--json", metavar="FILE", help="write the analysis as JSON (- for stdout)")
    out.add_argument("--ci", action="store_true", help="evaluate CI rules; exit 1 when one fails (also env CI=true)")
    out.add_argument("--ci-config", metavar="FILE", help="CI rules file (default: .dive-ci if present)")
    out.add_argument(
        "--baseline", metavar="BASE", help="with --ci: compare with this image (size-increase rules; implies --ci)"
    )
    out.add_argument("--junit", metavar="FILE", help="write the CI rules as a JUnit XML report (implies --ci)")
    out.add_argument(
        "--markdown",
        metavar="FILE",
        nargs="?",
        const="",
        help="write a Markdown CI summary (implies --ci); without FILE: append to $GITHUB_STEP_SUMMARY when "
        "set, else stdout",
    )
    out.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    rules = parser.add_argument_group("CI rules (override the rules file; 'disabled' turns one off)")
    for key, kebab, help_text in RULE_FLAGS:
        rules.add_argument(f"--{key}", f"--{kebab}", dest=key, metavar="VALUE", help=help_text)
    return parser


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
        print(f"divepy: error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_ERROR


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "build":
        from dive_py.cli.build import main_build

        return main_build(argv[1:], run_image=run_image)
    if argv and argv[0] == "diff":
        from dive_py.cli.diff import main_diff

        return main_diff(argv[1:])
    return run_image(parse_args(argv))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parses the image command line; exits 2 with argparse's message when it is wrong."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.image is None and args.markdown:
        # "--markdown IMAGE": the optional FILE took the image (argparse cannot tell them apart).
        args.image, args.markdown = args.markdown, ""
    if args.image is None:
        parser.error("the following arguments are required: IMAGE")
    return args


def ci_from_env() -> bool:
    """dive's rule: CI mode when the CI variable is true."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def load_options(args: argparse.Namespace, progress=None):  # noqa: ANN001, ANN201 - LoadOptions
    from dive_py.load.image import LoadOptions

    return LoadOptions(
        tag=args.tag,
        platform=args.platform,
        source=args.source,
        ignore_errors=args.ignore_errors,
        progress=progress,
        username=getattr(args, "username", None),
        insecure=getattr(args, "insecure", False),
        use_cache=not getattr(args, "no_cache", False),
    )


def make_loader(args: argparse.Namespace) -> Callable:
    """A ``load(progress) -> Analysis`` for the image the flags name (the UI runs it off-thread)."""

    def load(progress=None):  # noqa: ANN001, ANN202
        from dive_py.analysis.analyze import analyze
        from dive_py.load.image import load_image

        return analyze(load_image(args.image, load_options(args, progress)))

    return load


def run_image(args: argparse.Namespace) -> int:
    """Loads ``args.image`` and does what the flags ask: CI, JSON, explorer or summary."""
    ci_mode = args.ci or ci_from_env() or bool(args.baseline or args.junit) or args.markdown is not None
    rules = None
    config_source = ""
    if ci_mode:
        rules, config_source = _rules_from(args)  # bad config fails before the slow load
    wants_ui = not ci_mode and not args.json and sys.stdout.isatty() and sys.stdin.isatty()
    if wants_ui:
        from dive_py.ui import run_tui

        return run_tui(args.image, make_loader(args))
    from dive_py.analysis.analyze import long_lived

    with long_lived():
        analysis = make_loader(args)(_stderr_progress())
    for warning in analysis.warnings:
        print(f"divepy: warning: {warning}", file=sys.stderr)
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
    from dive_py.analysis.analyze import analyze
    from dive_py.load.image import load_image

    return analyze(load_image(baseline, load_options(args)))


def _rules_from(args: argparse.Namespace):  # noqa: ANN202
    from dive_py.ci.config import load_ci_config
    from dive_py.ci.rules import build_rules

    overrides = {key: getattr(args, key) for key, _kebab, _help in RULE_FLAGS}
    config = load_ci_config(args.ci_config, overrides)
    for key in config.ignored_keys:
        print(f"divepy: warning: {config.source}: unknown rule {key!r} ignored", file=sys.stderr)
    try:
        return build_rules(config), config.source
    except ConfigError as exc:
        if config.source == "defaults":
            raise
        # Name the rules file, unless the bad value is one of the flags (the message names the flag).
        from dive_py.ci.config import CiConfig

        build_rules(CiConfig(rules={**CiConfig().rules, **{k: v for k, v in overrides.items() if v is not None}}))
        raise ConfigError(f"{config.source}: {exc.message}") from None


def _stderr_progress() -> Callable[[str, int, int], None] | None:
    """Progress on stderr for long loads, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def progress(label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and done < total:
            return
        last[0] = now
        if label == "analysing":
            sys.stderr.write("\r\x1b[2Kdivepy: analysing…\n")
        else:
            pct = 100 * done / total if total else 100
            sys.stderr.write(f"\r\x1b[2Kdivepy: reading {label} {pct:5.1f} %")
        sys.stderr.flush()

    return progress


def _print_error(exc: DivepyError) -> None:
    text = " ".join(str(exc).split("\n"))
    print(f"divepy: error: {text}", file=sys.stderr)
