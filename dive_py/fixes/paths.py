"""Provides :class:`Scope`: which in-image paths an instruction names, relative ones read against its WORKDIR.

The fixer proves a fix exact by showing that no other instruction names the paths it moves or removes.
A path is named when a word of the instruction is that path, one inside it, or a folder holding it
(``/`` included: ``chown -R x /`` touches everything); a glob counts by the folder before its first
wildcard. A relative word is read against the WORKDIR in force; before any WORKDIR of the stage the base
image's is unknown, so relative words then name everything (the fix is left for review).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from dive_py.dockerfile.parse import Instruction
from dive_py.fixes.shell import split_words

_UNKNOWN = "/"
"""What a relative word resolves to where the WORKDIR is unknown: the root, which overlaps everything."""


def overlaps(first: str, second: str) -> bool:
    """Whether two absolute paths (globs allowed) are the same, or one holds the other."""
    a, b = _stem(first), _stem(second)
    return a == b or a == "/" or b == "/" or a.startswith(b + "/") or b.startswith(a + "/")


def _stem(path: str) -> str:
    """The path up to its first wildcard, normalised (``/tmp/*`` -> ``/tmp``)."""
    cut = re.split(r"[*?\[]", path, maxsplit=1)[0]
    if cut != path:
        cut = cut.rsplit("/", 1)[0] or "/"
    return posixpath.normpath(cut) if cut else "/"


class Scope:
    """The WORKDIR in force at each instruction of a stage."""

    def __init__(self, stage: Iterable[Instruction]) -> None:
        self.workdir: dict[Instruction, str | None] = {}
        current: str | None = None
        for item in stage:
            self.workdir[item] = current
            if item.keyword == "WORKDIR" and item.args:
                arg = item.args[0]
                if "$" in arg or (current is None and not arg.startswith("/")):
                    current = None
                else:
                    current = posixpath.normpath(posixpath.join(current or "/", arg))
        self.stage = list(stage)

    def resolve(self, item: Instruction, word: str) -> str:
        """``word`` as an absolute path at ``item`` (``/`` when it is relative and the WORKDIR unknown)."""
        if word.startswith("/"):
            return posixpath.normpath(word) if not word.endswith("/*") else posixpath.normpath(word[:-2]) + "/*"
        base = self.workdir.get(item)
        if base is None or "$" in word:
            return _UNKNOWN
        return posixpath.normpath(posixpath.join(base, word))

    def names(self, item: Instruction, words: Iterable[str], paths: Iterable[str]) -> bool:
        """Whether one of ``words`` (read at ``item``) names one of ``paths``."""
        paths = list(paths)
        for word in words:
            if word.startswith("-") or "=" in word and not word.startswith("/"):
                continue
            if not word.startswith("/") and (self.workdir.get(item) is None or not _path_like(word)):
                continue  # a relative word where the WORKDIR is unknown: most are not paths at all
            resolved = self.resolve(item, word)
            if any(overlaps(resolved, path) for path in paths):
                return True
        return False

    def touches(self, item: Instruction, paths: list[str]) -> bool:
        """Whether ``item`` may read or write one of ``paths`` (an unknown shape counts as yes)."""
        if item.keyword in (
            "ENV",
            "ARG",
            "LABEL",
            "EXPOSE",
            "CMD",
            "ENTRYPOINT",
            "USER",
            "STOPSIGNAL",
            "HEALTHCHECK",
            "SHELL",
            "MAINTAINER",
            "ONBUILD",
            "FROM",
        ):
            return False
        if item.keyword == "WORKDIR":
            return self.names(item, item.args[:1], paths)
        if item.keyword in ("COPY", "ADD"):
            return bool(item.args) and self.names(item, item.args[-1:], paths)
        words = split_words(item.value)
        return self.names(item, words, paths) or _absolute_words(item.value, paths)


def _path_like(word: str) -> bool:
    """A relative word that may be a path (``build``, ``./out``), not an option, number or command name."""
    return bool(re.fullmatch(r"\.{0,2}/?[\w.+@-]+(/[\w.*+@-]*)*", word)) and ("/" in word or "." in word)


def _absolute_words(text: str, paths: list[str]) -> bool:
    """Absolute paths inside words (``--prefix=/opt/x``, ``"$DIR:/opt/x"``) naming one of ``paths``."""
    for found in re.finditer(r"(?<![\w.$])/[^\s'\";&|<>()=:]*", text):
        if any(overlaps(found.group(0), path) for path in paths):
            return True
    return False
