"""Provides the plain-text drawing of tree rows: dive's glyphs and a one-letter diff mark per row."""

from __future__ import annotations

from dive_py.trees.row_set import TreeRow
from dive_py.trees.view_state import ABSENT, DiffType

_DIFF_LETTERS = {
    ABSENT: "?",
    DiffType.ADDED: "A",
    DiffType.REMOVED: "R",
    DiffType.MODIFIED: "M",
    DiffType.UNMODIFIED: ".",
}


def tree_prefix(is_last: tuple[bool, ...]) -> str:
    """dive's tree glyphs for a row, from its ``is_last`` flags."""
    parts = ["    " if last else "│   " for last in is_last[:-1]]
    parts.append("└── " if is_last[-1] else "├── ")
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
