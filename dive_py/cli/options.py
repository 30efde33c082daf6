"""Provides what the divepy commands share: the parser that fails in one line, the image command's flags,
the flags-to-:class:`LoadOptions` mapping, and progress on stderr."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from dive_py import __version__
from dive_py.errors import ConfigError
from dive_py.load.options import LoadOptions
from dive_py.model import ProgressCallback
from dive_py.safe_text import visible
from dive_py.sources.reference import SOURCE_CHOICES

if TYPE_CHECKING:
    from dive_py.analysis.analyze import Analysis

EXIT_OK, EXIT_RULE_FAILED, EXIT_ERROR = 0, 1, 2
"""All rules pass (or nothing to judge); a CI rule failed; the input, a flag or the config could not be used."""

RULE_FLAGS = (
    ("lowestEfficiency", "lowest-efficiency", "lowest allowed efficiency, 0-1 (default 0.9)"),
    ("highestWastedBytes", "highest-wasted-bytes", "highest allowed wasted bytes, e.g. 20MB (default disabled)"),
    ("highestUserWastedPercent", "highest-user-wasted-percent", "highest wasted/user bytes, 0-1 (default 0.1)"),
    ("highestReclaimableBytes", "highest-reclaimable-bytes", "highest bytes a squash would save (default disabled)"),
    ("highestDuplicateContentBytes", "highest-duplicate-content-bytes", "highest duplicated bytes (default disabled)"),
    ("highestSizeIncreaseBytes", "highest-size-increase-bytes", "with --baseline: highest growth in bytes"),
    ("highestSizeIncreasePercent", "highest-size-increase-percent", "with --baseline: highest growth, 0.1 or 10%%"),
    ("highestWastedBytesIncrease", "highest-wasted-bytes-increase", "with --baseline: highest wasted growth"),
    ("highestFixableBytes", "highest-fixable-bytes", "highest bytes the hints' fixes would save (default disabled)"),
    ("highestFixablePercent", "highest-fixable-percent", "highest share the hints' fixes would save, 0-1 (disabled)"),
)
"""CI rule flags: dive's camelCase names, with kebab-case aliases."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see {self.prog} --help)", hint=self._flag_suggestion(message))

    def _flag_suggestion(self, message: str) -> str | None:
        """``did you mean --lowestEfficiency?`` for an unknown flag close to one of this parser's."""
        if not message.startswith("unrecognized arguments:"):
            return None
        import difflib

        known = [flag for flag in self._option_string_actions if flag.startswith("--")]
        by_lower = {flag.lower(): flag for flag in known}
        for word in message.removeprefix("unrecognized arguments:").split():
            flag = word.partition("=")[0]
            if not flag.startswith("--"):
                continue
            match = by_lower.get(flag.lower()) or next(iter(difflib.get_close_matches(flag, known, n=1)), None)
            if match:
                return f"{flag}: did you mean {match}?"
        return None


def build_parser() -> argparse.ArgumentParser:
    """The image command's parser; its help lists the subcommands first, one line each."""
    from dive_py.cli.commands import subcommands_help

    parser = Parser(
        prog="divepy",
        usage="divepy [FLAGS] IMAGE\n       divepy COMMAND ARGS  (divepy COMMAND --help for its flags)",
        description=f"commands:\n{subcommands_help()}\n\n"
        "See inside a container image, layer by layer: where the bytes go and what is wasted.\n"
        "divepy IMAGE opens the explorer in a terminal; --ci judges the image, --json exports it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image", metavar="IMAGE", nargs="?", help="image archive, OCI folder or reference (see --source)"
    )
    parser.add_argument("-v", "--version", action="version", version=f"divepy {__version__}")  # dive's flags
    add_source_flags(parser)
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
    out.add_argument("--sarif", metavar="FILE", help="write the hints as SARIF 2.1.0 (code scanning; - for stdout)")
    out.add_argument(
        "--codequality", metavar="FILE", help="write the hints as a GitLab Code Quality report (- for stdout)"
    )
    out.add_argument(
        "--html",
        metavar="FILE",
        help="write a self-contained HTML report: summary, layers, treemap, hints (- for stdout; needs squarify)",
    )
    out.add_argument(
        "--hint-min-size",
        metavar="SIZE",
        help="leave out hints that would save less than SIZE (default 64kB; .dive-ci `hints: minSize:`)",
    )
    out.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    add_dockerfile_flags(parser)
    rules = parser.add_argument_group("CI rules (override the rules file; 'disabled' turns one off)")
    for key, kebab, help_text in RULE_FLAGS:
        rules.add_argument(f"--{key}", f"--{kebab}", dest=key, metavar="VALUE", help=help_text)
    return parser


def add_dockerfile_flags(parser: argparse.ArgumentParser, image: str = "the image") -> None:
    """Adds ``--dockerfile`` and ``--target``: the Dockerfile (and stage) that built ``image``, so that every
    layer and hint shows its line."""
    group = parser.add_argument_group("Dockerfile")
    group.add_argument(
        "--dockerfile", metavar="PATH", help=f"the Dockerfile that built {image}: each layer and hint shows its line"
    )
    group.add_argument(
        "--target", metavar="STAGE", help="with --dockerfile: the stage that built the image (default: the last)"
    )


def check_dockerfile_flags(args: argparse.Namespace) -> None:
    """``--target`` needs ``--dockerfile``.

    Raises:
        ConfigError: it does not have it.
    """
    if getattr(args, "target", None) and not getattr(args, "dockerfile", None):
        raise ConfigError("--target needs --dockerfile (the Dockerfile whose stage it names)")


def add_source_flags(parser: argparse.ArgumentParser) -> None:
    """Adds the flags that say where an image comes from and how to read it (see :func:`load_options`).

    Args:
        parser: the image command's parser, or a subcommand's that loads one image (``cat``, ``extract``).
    """
    source = parser.add_argument_group("image source")
    source.add_argument(
        "--source",
        choices=SOURCE_CHOICES,
        help="where IMAGE comes from (default: a path if it exists, else docker, podman, containerd in turn; "
        "prefixes docker-archive://, oci-archive://, oci://, docker://, podman://, containerd://, registry://; "
        "- reads an archive from stdin; container://NAME_OR_ID, docker-container://, podman-container:// read a "
        "container's image with its writable layer on top, as docker commit would add it)",
    )
    source.add_argument("--tag", help="pick this image when an archive holds several")
    source.add_argument("--platform", help="pick this platform (os/arch[/variant]) from a multi-platform image")
    source.add_argument(
        "-i", "--ignore-errors", action="store_true", help="analyse the layers that can be read; skip the rest"
    )
    source.add_argument(
        "--namespace", help="containerd namespace (default: $CONTAINERD_NAMESPACE or default; Kubernetes: k8s.io)"
    )
    source.add_argument("--username", help="registry user name; the password is read from env DIVEPY_PASSWORD")
    source.add_argument(
        "--insecure", action="store_true", help="registry over plain http / unverified TLS (always http for localhost)"
    )
    source.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write divepy's cache ($XDG_CACHE_HOME/divepy or ~/.cache/divepy), nor the shared "
        "one: no layer scans, figures or blobs (registry:// downloads again to read files; stdin, docker:// and "
        "podman:// keep none)",
    )
    add_cache_url_flag(source)


def add_cache_url_flag(group) -> None:  # noqa: ANN001 - a parser or an argument group
    """``--cache-url s3://BUCKET/PREFIX``: the shared cache (see :func:`configure_cache`)."""
    group.add_argument(
        "--cache-url",
        metavar="URL",
        help="a shared layer cache in S3-compatible object storage, s3://BUCKET/PREFIX[?endpoint=URL] "
        "(default: $DIVEPY_CACHE_URL; the scale extra: pip install 'divepy[scale]')",
    )


def configure_cache(args: argparse.Namespace) -> None:
    """Sets up the shared cache the flags (or ``$DIVEPY_CACHE_URL``) name; ``--no-cache`` turns it off.

    Raises:
        ConfigError: a URL that is not s3://, or the scale extra is not installed.
    """
    from dive_py.cache.remote import configure_remote

    if getattr(args, "no_cache", False):
        configure_remote(None)
        return
    url = getattr(args, "cache_url", None)
    if url:
        configure_remote(url)  # the flag: without the extra, one line on how to install it
    # $DIVEPY_CACHE_URL alone is read where the cache is used: without the extra, a warning (a CI-wide variable
    # must not stop a runner that lacks it)


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


def load_options(args: argparse.Namespace, progress: ProgressCallback | None = None) -> LoadOptions:
    """The load options the flags ask for (shared by the image command, ``diff``, ``cat`` and ``extract``)."""
    configure_cache(args)
    return LoadOptions(
        tag=args.tag,
        platform=args.platform,
        source=args.source,
        ignore_errors=args.ignore_errors,
        progress=progress,
        username=getattr(args, "username", None),
        namespace=getattr(args, "namespace", None),
        insecure=getattr(args, "insecure", False),
        use_cache=not getattr(args, "no_cache", False),
    )


def make_loader(
    args: argparse.Namespace, *, walk_later: bool = False, hint_min_bytes: int | None = None
) -> Callable[..., Analysis]:
    """A ``load(progress) -> Analysis`` for the image the flags name (the UI runs it off-thread, ``walk_later``
    and ``hint_min_bytes``: see :func:`dive_py.analysis.analyze.analyze`)."""

    def load(progress: ProgressCallback | None = None) -> Analysis:
        from dive_py.analysis.from_reference import load_analysis  # here: --help and bad flags stay quick

        options = load_options(args, progress)
        return load_analysis(args.image, options, walk_later=walk_later, hint_min_bytes=hint_min_bytes)

    return load


def warn(message: str) -> None:
    """One ``divepy: warning:`` line on stderr; the image's text in it is shown safe (:func:`visible`)."""
    print(f"divepy: warning: {visible(message)}", file=sys.stderr)


def stderr_progress() -> Callable[[str, int, int], None] | None:
    """Progress on stderr for long loads, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    from dive_py.format import duration

    last = [0.0]
    started = time.monotonic()

    def progress(label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and done < total:
            return
        last[0] = now
        # the time so far, once it is long enough to wonder about (whole seconds: the line is redrawn often)
        elapsed = f" ({duration(round(now - started))})" if now - started >= 2 else ""
        if label == "analysing":
            sys.stderr.write(f"\r\x1b[2Kdivepy: analysing…{elapsed}\n")
        else:
            pct = 100 * done / total if total else 100
            sys.stderr.write(f"\r\x1b[2Kdivepy: reading {visible(label)} {pct:5.1f} %{elapsed}")
        sys.stderr.flush()

    return progress
