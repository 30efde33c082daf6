"""Provides the table of divepy's subcommands: what ``divepy --help`` lists first and what ``main`` dispatches.

One home, so a new subcommand is one line here (and its module), and the help cannot forget it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    """One ``divepy NAME …`` command: where its ``main`` lives and its one line of help."""

    name: str
    usage: str
    """Its arguments, as the help shows them after ``divepy NAME``."""
    summary: str
    """One line: what it does."""
    module: str
    function: str
    wants_runner: bool = False
    """True when its main takes the image command's runner (it ends by exploring an image)."""

    def load(self) -> Callable[..., int]:
        """Its ``main``, imported now (subcommands cost nothing until used)."""
        return getattr(importlib.import_module(self.module), self.function)


SUBCOMMANDS = (
    Subcommand("example", "[--path] [FLAGS]", "open the bundled example image (tomcat02)", "dive_py.cli.example",
               "main_example", wants_runner=True),
    Subcommand("cat", "IMAGE PATH [--layer N]", "print a file of an image", "dive_py.cli.cat", "main_cat"),
    Subcommand("extract", "IMAGE PATH DEST [--layer N]", "copy a file or folder out of an image",
               "dive_py.cli.extract", "main_extract"),
    Subcommand("diff", "BASE NEW", "compare two images, file by file", "dive_py.cli.diff", "main_diff"),
    Subcommand("fix", "IMAGE --dockerfile PATH [--verify]", "a patch of the Dockerfile for the waste found",
               "dive_py.cli.fix", "main_fix"),
    Subcommand("audit", "REF… [--from FILE] [--ci] [--dask ADDRESS]", "audit many images: ranked waste, shared bases",
               "dive_py.cli.audit", "main_audit"),
    Subcommand("build", "[BUILD ARGS]", "docker build (or podman build), then explore the result",
               "dive_py.cli.build", "main_build", wants_runner=True),
)  # fmt: skip
"""divepy's subcommands, in the order the help lists them."""

BY_NAME = {command.name: command for command in SUBCOMMANDS}


def subcommands_help() -> str:
    """The help's first lines: every subcommand with its arguments and one line on what it does."""
    rows = [(f"divepy {c.name} {c.usage}", c.summary) for c in SUBCOMMANDS]
    width = max(len(left) for left, _ in rows)
    return "\n".join(f"  {left:<{width}}  {summary}" for left, summary in rows)
