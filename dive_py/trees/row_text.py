"""Provides the plain-text drawing of tree rows: dive's glyphs and a one-letter diff mark per row."""

from __future__ import annotations

from dataclasses import dataclass

from dive_py.trees.row_set import TreeRow
from dive_py.trees.view_state import ABSENT, DiffType

_DIFF_LETTERS = {
    ABSENT: "?",
    DiffType.ADDED: "A",
    DiffType.REMOVED: "R",
    DiffType.MODIFIED: "M",
    DiffType.UNMODIFIED: ".",
}


DIFF_MARKS = {
    ABSENT: " ",
    DiffType.ADDED: "+",
    DiffType.REMOVED: "-",
    DiffType.MODIFIED: "~",
    DiffType.UNMODIFIED: " ",
}
"""The marker before a changed row's attributes (no colour needed to tell the changes; the diff report's marks)."""


@dataclass(frozen=True)
class Glyphs:
    """The four-cell pieces a tree row's prefix is made of."""

    through: str
    """An ancestor with later siblings: the line goes on down."""
    blank: str
    """An ancestor that was its parent's last child."""
    branch: str
    last: str
    collapsed_branch: str
    """A collapsed folder (dive's ``⊕``)."""
    collapsed_last: str
    arrow: str
    """Between a link and its target."""
    separator: str = " · "
    """Between the notes of a subtitle or a hint line."""
    at_least: str = "≥"
    """Before the minimum size of the size filter."""


UNICODE_GLYPHS = Glyphs("│   ", "    ", "├── ", "└── ", "├─⊕ ", "└─⊕ ", " → ")
ASCII_GLYPHS = Glyphs("|   ", "    ", "|-- ", "`-- ", "|-+ ", "`-+ ", " -> ", " - ", ">=")
"""For a terminal that cannot draw box characters (a C locale), as dive falls back."""


def tree_prefix(is_last: tuple[bool, ...], collapsed: bool = False, glyphs: Glyphs = UNICODE_GLYPHS) -> str:
    """dive's tree glyphs for a row, from its ``is_last`` flags; ``collapsed`` marks a closed folder."""
    parts = [glyphs.blank if last else glyphs.through for last in is_last[:-1]]
    if collapsed:
        parts.append(glyphs.collapsed_last if is_last[-1] else glyphs.collapsed_branch)
    else:
        parts.append(glyphs.last if is_last[-1] else glyphs.branch)
    return "".join(parts)


def render_rows(rows: list[TreeRow], *, sizes: bool = False) -> str:
    """Plain-text rendering, one row a line: diff letter, glyphs, name (``→ target`` for links)."""
    lines = []
    for row in rows:
        name = row.node.name
        if row.entry is not None and row.entry.link and row.entry.kind in ("l", "h"):
            name = f"{name} → {row.entry.link}"
        size = f" {row.size}" if sizes else ""
        lines.append(f"{_DIFF_LETTERS[row.diff_type]}{size} {tree_prefix(row.is_last)}{name}")
    return "\n".join(lines)
