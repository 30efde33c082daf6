"""Provides ``divepy example``: the bundled example image, shipped inside the package.

``divepy example`` explores it as ``divepy IMAGE`` would (every image flag works: ``--ci``, ``--json``…);
``divepy example --path`` prints where it is, for the other commands (``divepy cat "$(divepy example
--path)" /etc/passwd``, ``docker load -i …``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from dive_py.cli.options import EXIT_OK, parse_args

EXAMPLE_IMAGE = Path(__file__).resolve().parents[1] / "examples" / "tomcat02.tar"
"""The seed: a ``docker save`` of tomcat02:1.0 (see dive_py/examples/README.md), package data of the wheel."""


def main_example(argv: list[str], run_image: Callable[[argparse.Namespace], int]) -> int:
    """``divepy example [--path] [FLAGS]``: print the example's path, or analyse it like ``divepy IMAGE``.

    Args:
        argv: the arguments after ``example``.
        run_image: the CLI's image runner (explore, ``--ci`` or ``--json``).
    """
    if "--path" in argv:
        print(EXAMPLE_IMAGE)
        return EXIT_OK
    if not EXAMPLE_IMAGE.is_file():
        from dive_py.errors import SourceError

        raise SourceError(f"the bundled example is missing ({EXAMPLE_IMAGE}): reinstall divepy")
    sys.stdout.flush()
    return run_image(parse_args([*argv, str(EXAMPLE_IMAGE)]))
