"""Provides ``divepy fix --verify``: build the original and the patched Dockerfile, then measure.

Both builds use the same engine, context, build arguments and network, and the builder the plan assumed
(``DOCKER_BUILDKIT=1`` or ``0`` for docker). Their logs go to stderr (stdout carries the diff and the
report). The images are then read from the engine by id, like ``divepy build`` does.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile

from dive_py import format as fmt
from dive_py.cli.options import EXIT_ERROR, EXIT_OK, EXIT_RULE_FAILED
from dive_py.fixes.verify import PASS_RATIO
from dive_py.load.options import LoadOptions
from dive_py.safe_text import visible
from dive_py.sources.podman import podman_command


def verify(args: argparse.Namespace, original: str, patched: str, fixes: list, buildkit: bool) -> int:
    """Builds both Dockerfiles and prints the comparison; returns 0, 1 or 2 (a build failed).

    Args:
        args: ``divepy fix``'s flags (the engine, context, build arguments, network, target).
        original: the Dockerfile's text as read.
        patched: its text with ``fixes`` made.
        fixes: the fixes applied (their bytes are the claim, their paths the scope).
        buildkit: build with BuildKit (docker's ``DOCKER_BUILDKIT=1``), as the plan assumed.
    """
    from dive_py.analysis.from_reference import load_analysis
    from dive_py.fixes.verify import compare_builds

    engine = args.engine or os.environ.get("DIVEPY_ENGINE", "docker")
    context = args.context or os.path.dirname(os.path.abspath(args.dockerfile))
    ids = []
    with tempfile.TemporaryDirectory(prefix="divepy-fix-") as folder:
        for name, text in (("original", original), ("patched", patched)):
            path = os.path.join(folder, f"{name}.Dockerfile")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            image_id, error = _build(engine, path, context, args, buildkit, os.path.join(folder, f"{name}.iid"))
            if error:
                print(f"divepy: error: fix --verify: the {name} build failed: {error}", file=sys.stderr)
                return EXIT_ERROR
            ids.append(image_id)
    options = LoadOptions(source=engine, use_cache=not args.no_cache)  # the layers both builds share: read once
    before, after = (load_analysis(image_id, options) for image_id in ids)
    scope = [path for fix in fixes for path in fix.scope]
    claimed = sum(fix.bytes for fix in fixes)
    result = compare_builds(before, after, scope, claimed)
    _report(result, ids)
    return EXIT_OK if result.passed else EXIT_RULE_FAILED


def _build(
    engine: str, dockerfile: str, context: str, args: argparse.Namespace, buildkit: bool, iid_file: str
) -> tuple[str, str]:
    """Runs one build; returns (image id, "") or ("", what failed)."""
    command = ["docker"] if engine == "docker" else podman_command()
    if shutil.which(command[0]) is None:
        return "", f"the {engine} command ({command[0]}) is not installed"
    argv = [*command, "build", "--iidfile", iid_file, "-f", dockerfile]
    for pair in args.build_arg:
        argv += ["--build-arg", pair]
    if args.network:
        argv += ["--network", args.network]
    if args.target:
        argv += ["--target", args.target]
    env = dict(os.environ)
    if engine == "docker":
        env["DOCKER_BUILDKIT"] = "1" if buildkit else "0"
    result = _run_logged([*argv, context], env)
    if result.returncode != 0:
        return "", f"`{engine} build` exited {result.returncode}"
    try:
        with open(iid_file, encoding="utf-8") as handle:
            image_id = handle.read().strip()
    except OSError:
        image_id = ""
    return (image_id, "") if image_id else ("", f"`{engine} build` wrote no image id")


def _run_logged(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Runs a build with its log on stderr (stdout carries the diff and the report)."""
    try:
        sink = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        sink = None  # stderr is not a file (captured): relay the log through it
    if sink is not None:
        return subprocess.run(argv, env=env, stdout=sink, stdin=subprocess.DEVNULL, check=False)
    result = subprocess.run(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False
    )
    sys.stderr.write(result.stdout.decode("utf-8", errors="replace"))
    return result


def _report(result, ids: list[str]) -> None:  # noqa: ANN001 - BuildComparison
    out = sys.stdout
    b = fmt.size
    out.write(
        f"# verify: original {ids[0][:19]} {b(result.original_bytes)}, patched {ids[1][:19]} "
        f"{b(result.patched_bytes)}\n"
    )
    out.write(
        f"# verify: saved {b(result.saved_bytes)} ({result.saved_bytes:,} B) of {b(result.claimed_bytes)} "
        f"({result.claimed_bytes:,} B) claimed: {result.ratio:.1%} (needs {PASS_RATIO:.0%})\n"
    )
    for path, what in result.changed:
        out.write(f"# verify: changed outside the hints' paths: {visible(path)}: {what}\n")
    for path, what in result.noise:
        out.write(f"# verify: build noise: {visible(path)}: {what}\n")
    verdict = "PASS" if result.passed else "FAIL"
    out.write(f"# verify: {verdict}: {len(result.changed)} path(s) changed outside the hints' paths\n")
    out.flush()
