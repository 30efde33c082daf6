"""Provides the command line's Dockerfile lines: the Dockerfile read before the slow load, matched after it."""

from __future__ import annotations

import argparse

from dive_py.cli.options import check_dockerfile_flags
from dive_py.cli.options import warn as warn_line
from dive_py.dockerfile.lines import DockerfileLines, image_lines
from dive_py.dockerfile.parse import Dockerfile, parse_dockerfile
from dive_py.model import Image


def read_dockerfile(args: argparse.Namespace) -> Dockerfile | None:
    """The Dockerfile ``--dockerfile`` names, parsed (and ``--target`` checked) before the image is loaded.

    Raises:
        DivepyError: the flags do not go together, or the Dockerfile cannot be read or has no such stage.
    """
    check_dockerfile_flags(args)
    path = getattr(args, "dockerfile", None)
    if not path:
        return None
    parsed = parse_dockerfile(path)
    parsed.stage(getattr(args, "target", None))  # an unknown stage fails now, not after the load
    return parsed


def lines_of(image: Image, dockerfile: Dockerfile | None, args: argparse.Namespace) -> DockerfileLines:
    """The image's layers matched with the Dockerfile; what does not match is said on stderr."""
    lines = image_lines(image, dockerfile, getattr(args, "target", None))
    for warning in lines.warnings:
        warn_line(warning)
    return lines
