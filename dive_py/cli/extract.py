"""Provides ``divepy extract IMAGE PATH DEST [--layer N]``: a file or folder of an image, written under DEST.

PATH is looked up as ``cat`` looks it up (layers from 1, default the top; links on the way followed),
except that a symbolic link named by PATH itself is written as a link, as ``cp -P`` would. What is
written keeps its mode (less setuid/setgid/sticky) and modification time; nothing is written outside
DEST and nothing is overwritten (see :mod:`dive_py.contents.extract`).
"""

from __future__ import annotations

from collections.abc import Sequence

from dive_py.cli.cat import content_parser, locate
from dive_py.cli.options import EXIT_OK, warn
from dive_py.errors import DivepyError
from dive_py.format import counted
from dive_py.safe_text import visible


def main_extract(argv: Sequence[str]) -> int:
    """``divepy extract``: writes PATH, as the layer stack has it, into the folder DEST.

    Args:
        argv: the arguments after ``extract``.

    Returns:
        0 once everything that can be written is (skipped special files are warned about on stderr).

    Raises:
        DivepyError: the image or path cannot be read, or DEST cannot be written (exit 2, one line).
    """
    from dive_py.contents.extract import extract_node
    from dive_py.contents.reader import ContentReader

    parser = content_parser("divepy extract", "Write a file or folder of an image, as a layer has it, under DEST.")
    parser.add_argument("dest", metavar="DEST", help="the folder to write into (created if needed)")
    args = parser.parse_args(argv)
    at = locate(args, follow_last=False)
    reader = ContentReader(at.analysis.image)
    try:
        result = extract_node(reader, at.found.node, at.layer, at.analysis.tree.get, args.dest, entry=at.found.entry)
    except OSError as exc:  # DEST not writable, disk full: the user's to fix, not a bug
        raise DivepyError(f"cannot write under {args.dest}: {exc.strerror or exc}") from None
    for reason in result.skipped:
        warn(f"skipped {reason}")
    print(f"extracted {counted(len(result.written), 'path')} to {visible(result.root)}")
    return EXIT_OK
