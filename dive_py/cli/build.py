"""Provides ``divepy build``: run ``docker build`` (or ``podman build``), then explore the result.

As ``dive build`` does, every argument goes to the engine's build command except divepy's own
output flags; the build writes the new image's id to an ``--iidfile`` in a temp folder, and the
image is then read from the same engine's store by that id.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable

from dive_py.cli.options import EXIT_OK, RULE_FLAGS, Parser, parse_args, warn
from dive_py.errors import ConfigError, SourceError
from dive_py.sources.podman import podman_command

ENGINES = ("docker", "podman")

_OWN_SWITCHES = {"--ci", "--debug", "--insecure", "--ignore-errors", "-i"}
"""divepy flags without a value that ``divepy build`` keeps for itself."""

_OWN_OPTIONS = {
    "--json",
    "-j",
    "--ci-config",
    "--engine",
    "--dockerfile",
    "--sarif",
    "--codequality",
    "--junit",
    "--html",
}
"""divepy flags with a value that ``divepy build`` keeps for itself (the rest go to the build)."""


def split_build_args(argv: list[str], rule_flags: set[str]) -> tuple[list[str], list[str], str]:
    """Separates divepy's flags from the engine's build arguments.

    Args:
        argv: what followed ``divepy build``.
        rule_flags: divepy's CI rule flags (they take a value).

    Returns:
        (divepy flags, build arguments, engine name).

    Raises:
        ConfigError: ``--engine`` names no known engine, or a flag lacks its value.
    """
    own: list[str] = []
    build: list[str] = []
    engine = os.environ.get("DIVEPY_ENGINE", "docker")
    valued = _OWN_OPTIONS | rule_flags
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, eq, value = arg.partition("=")
        if arg in _OWN_SWITCHES:
            own.append(arg)
        elif name in valued:
            if not eq:
                if index + 1 >= len(argv):
                    raise ConfigError(f"divepy build: {name} needs a value")
                index += 1
                value = argv[index]
            if name == "--engine":
                engine = value
            else:
                own.extend([name, value])
        else:
            build.append(arg)
        index += 1
    if engine not in ENGINES:
        raise ConfigError(f"divepy build: --engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return own, build, engine


def run_build(build_args: list[str], engine: str) -> str:
    """Runs the engine's build with an iid file; returns the new image's id.

    Raises:
        SourceError: the engine's CLI is missing, the build fails, or it names no image.
    """
    command = ["docker"] if engine == "docker" else podman_command()
    if shutil.which(command[0]) is None:
        raise SourceError(f"divepy build: the {engine} command ({command[0]}) is not installed")
    with tempfile.TemporaryDirectory(prefix="divepy-build-") as folder:
        iid_file = os.path.join(folder, "iid")
        # The build's own output goes to the terminal: it is the user's build log.
        result = subprocess.run([*command, "build", "--iidfile", iid_file, *build_args], check=False)
        if result.returncode != 0:
            raise SourceError(f"divepy build: `{engine} build` failed (exit {result.returncode})")
        try:
            with open(iid_file, encoding="utf-8") as f:
                image_id = f.read().strip()
        except OSError:
            image_id = ""
    if not image_id:
        raise SourceError(f"divepy build: `{engine} build` wrote no image id")
    return image_id


def build_help_parser() -> argparse.ArgumentParser:
    """The parser ``divepy build --help`` prints: divepy's own flags (the rest go to the engine's build)."""
    parser = Parser(
        prog="divepy build",
        usage="divepy build [DIVEPY FLAGS] BUILD ARGS  (e.g. divepy build --ci -t app:dev .)",
        description="Runs `docker build` (or `podman build`) with BUILD ARGS, then explores the new image, or "
        "judges it with --ci, as `divepy IMAGE` would. Every argument that is not one of divepy's flags below "
        "goes to the build (see `docker build --help`).",
    )
    own = parser.add_argument_group("divepy's flags")
    own.add_argument("--engine", choices=ENGINES, help="the engine that builds and stores the image "
                     "(default: $DIVEPY_ENGINE or docker)")  # fmt: skip
    own.add_argument("--ci", action="store_true", help="evaluate CI rules on the image; exit 1 when one fails")
    own.add_argument("--ci-config", metavar="FILE", help="CI rules file (default: .dive-ci if present)")
    own.add_argument("-j", "--json", metavar="FILE", help="write the analysis as JSON (- for stdout)")
    own.add_argument("--baseline", metavar="BASE", help="compare with this image (size-increase rules)")
    own.add_argument("-i", "--ignore-errors", action="store_true", help="analyse the layers that can be read")
    own.add_argument("--insecure", action="store_true", help="registry over plain http (for --baseline)")
    own.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    rules = parser.add_argument_group("CI rules (as for divepy IMAGE; see divepy --help)")
    for key, kebab, help_text in RULE_FLAGS:
        rules.add_argument(f"--{key}", f"--{kebab}", dest=key, metavar="VALUE", help=help_text)
    return parser


def main_build(argv: list[str], run_image: Callable[[argparse.Namespace], int]) -> int:
    """``divepy build [docker build args]``: build, then analyse the image like ``divepy IMAGE``.

    Args:
        argv: the arguments after ``build``.
        run_image: the CLI's image runner (explore, ``--ci`` or ``--json``).
    """
    rule_flags = {f"--{key}" for key, _kebab, _help in RULE_FLAGS} | {f"--{k}" for _key, k, _help in RULE_FLAGS}
    rule_flags.add("--baseline")
    if "-h" in argv or "--help" in argv:
        build_help_parser().print_help()
        return EXIT_OK
    own, build_args, engine = split_build_args(argv, rule_flags)
    if not build_args:
        raise ConfigError("divepy build: give the build's arguments, e.g. `divepy build -t app:dev .`")
    dockerfile, target = build_dockerfile(build_args)
    if "--dockerfile" in own:  # divepy's own flag names the Dockerfile the build's arguments do not
        dockerfile = own[own.index("--dockerfile") + 1]
        del own[own.index("--dockerfile") : own.index("--dockerfile") + 2]
    image_id = run_build(build_args, engine)
    args = parse_args([*own, "--source", engine, image_id])
    args.dockerfile, args.target = _usable(dockerfile, target)
    return run_image(args)


def build_dockerfile(build_args: list[str]) -> tuple[str | None, str | None]:
    """The Dockerfile and target stage a build's arguments name: ``-f``/``--file`` (else ``Dockerfile`` in the
    context folder, the last argument) and ``--target``; None for a Dockerfile read from stdin or a URL."""
    path = target = None
    for index, arg in enumerate(build_args):
        following = build_args[index + 1] if index + 1 < len(build_args) else None
        if arg in ("-f", "--file"):
            path = following
        elif arg.startswith("--file="):
            path = arg.partition("=")[2]
        elif arg.startswith("-f") and not arg.startswith("--") and len(arg) > 2:
            path = arg[2:]
        elif arg == "--target":
            target = following
        elif arg.startswith("--target="):
            target = arg.partition("=")[2]
    context = build_args[-1] if build_args and not build_args[-1].startswith("-") else None
    if path is None and context is not None and os.path.isdir(context):
        path = os.path.join(context, "Dockerfile")
    if path == "-" or (path is not None and "://" in path):
        path = None
    return path, target


def _usable(path: str | None, target: str | None) -> tuple[str | None, str | None]:
    """The Dockerfile and stage when they can be read; else a warning line and none (the build is done)."""
    if path is None:
        return None, None
    from dive_py.dockerfile.parse import parse_dockerfile
    from dive_py.errors import DivepyError

    try:
        parse_dockerfile(path).stage(target)
    except DivepyError as error:
        warn(f"no Dockerfile lines: {error}")
        return None, None
    return path, target
