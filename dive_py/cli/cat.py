"""Provides ``divepy cat IMAGE PATH [--layer N]``, and the parsing and lookup it shares with ``extract``.

Layers are numbered from 1 (the base) as the explorer and the summary number them; the default is the
top layer, i.e. the image's final file system. PATH is looked up as a process in the container would:
symbolic links are followed (absolute targets from the image root); one that climbs above the image
root is an error, as are folders, special files, absent and deleted paths, and a layer out of range
(exit 2, one line). The bytes go to stdout as they are read, a chunk at a time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dive_py.cli.options import EXIT_OK, Parser, add_source_flags, load_options, stderr_progress, warn
from dive_py.contents.paths import Found, PathLookupError, find_path
from dive_py.errors import ConfigError
from dive_py.model import BLOCK_DEVICE, CHAR_DEVICE, DIRECTORY, FIFO, HARDLINK, REGULAR, SYMLINK

if TYPE_CHECKING:
    from dive_py.analysis.analyze import Analysis

KIND_NAMES = {
    DIRECTORY: "a folder",
    SYMLINK: "a symbolic link",
    CHAR_DEVICE: "a character device",
    BLOCK_DEVICE: "a block device",
    FIFO: "a fifo",
}
"""How an error names a path that has no content to print."""


@dataclass
class Located:
    """A path found in a loaded image at the layer asked for."""

    analysis: Analysis
    found: Found
    layer: int
    """0-based."""


def content_parser(prog: str, description: str) -> Parser:
    """The parser ``cat`` and ``extract`` share: IMAGE PATH, ``--layer``, the source flags, ``--debug``.

    Args:
        prog: the command as shown in messages (``divepy cat``).
        description: one line for ``--help``.
    """
    parser = Parser(prog=prog, description=description)
    parser.add_argument("image", metavar="IMAGE", help="image archive, OCI folder or reference (see --source)")
    parser.add_argument("path", metavar="PATH", help="the path inside the image, e.g. /etc/os-release")
    parser.add_argument(
        "--layer",
        metavar="N",
        type=int,
        help="the file system as stacked up to layer N (0 = the base layer, as the explorer and --json number "
        "them; default: the top layer)",
    )
    add_source_flags(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def locate(args: argparse.Namespace, *, follow_last: bool) -> Located:
    """Loads ``args.image`` and finds ``args.path`` at ``args.layer``.

    Args:
        args: parsed by a :func:`content_parser`.
        follow_last: follow a symbolic link named by PATH itself (``cat``) or take the link (``extract``).

    Raises:
        DivepyError: the image cannot be loaded, the layer is out of range or the path is not there.
    """
    from dive_py.analysis.from_reference import load_analysis  # here: --help and bad flags stay quick

    analysis = load_analysis(args.image, load_options(args, stderr_progress()))
    for warning in analysis.warnings:
        warn(warning)
    count = len(analysis.layers)
    layer = count - 1 if args.layer is None else args.layer
    if not 0 <= layer < count:
        raise ConfigError(f"--layer {layer} is out of range: the image has {count} layers (0-{count - 1})")
    return Located(analysis, find_path(analysis.tree, args.path, layer, follow_last=follow_last), layer)


def main_cat(argv: Sequence[str]) -> int:
    """``divepy cat``: writes a file's bytes, as the layer stack has them, to stdout.

    Args:
        argv: the arguments after ``cat``.

    Returns:
        0 once the whole file is written.

    Raises:
        DivepyError: anything that keeps the file from being read (exit 2, one line).
    """
    from dive_py.contents.reader import ContentReader

    args = content_parser("divepy cat", "Write a file of an image, as a layer has it, to stdout.").parse_args(argv)
    at = locate(args, follow_last=True)
    kind = at.found.entry.kind
    if kind not in (REGULAR, HARDLINK):
        hint = " (divepy extract copies a folder)" if kind == DIRECTORY else ""
        what = KIND_NAMES.get(kind, kind)
        raise PathLookupError(f"{at.found.shown} is {what} at layer {at.layer}, not a file{hint}")
    out = sys.stdout.buffer
    ContentReader(at.analysis.image).copy(at.found.node, at.layer, at.analysis.tree.get, out.write)
    out.flush()
    return EXIT_OK
