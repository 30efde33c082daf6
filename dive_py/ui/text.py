"""Provides the small text formatters the panes share (permissions, ids); sizes are in ``format.py``."""

from __future__ import annotations

from dive_py.model import FileEntry
from dive_py.trees.row_text import ASCII_GLYPHS, UNICODE_GLYPHS

_TYPE_CHARS = {"d": "d", "l": "l", "h": "-", "c": "c", "b": "b", "p": "p", "f": "-"}
"""ls's type column per kind; a hard link is a regular file to ls."""


def mode_text(entry: FileEntry | None) -> str:
    """``drwxr-sr-x``-style permissions, with setuid, setgid and sticky bits."""
    if entry is None:
        return "----------"
    mode = entry.mode
    chars = [_TYPE_CHARS.get(entry.kind, "?")]
    for shift, special, letter in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        bits = (mode >> shift) & 7
        chars.append("r" if bits & 4 else "-")
        chars.append("w" if bits & 2 else "-")
        execute = bool(bits & 1)
        if mode & special:
            chars.append(letter if execute else letter.upper())
        else:
            chars.append("x" if execute else "-")
    return "".join(chars)


def short_id(digest: str, length: int = 12) -> str:
    """``sha256:abcd…`` -> ``abcd…`` cut to ``length`` hex digits."""
    return digest.split(":", 1)[-1][:length]


def separator(ascii_only: bool) -> str:
    """What goes between the notes of a subtitle: `` · ``, or `` - `` in a locale that cannot draw the dot."""
    return (ASCII_GLYPHS if ascii_only else UNICODE_GLYPHS).separator
