"""Fits the explorer's columns to the terminal: the focused pane gets the room (issue 24, item 16)."""

from __future__ import annotations

from textual.screen import Screen

NARROW_WIDTH = 110
"""Below this many columns the left column shrinks to its compact form (layer indexes) while the file tree
has focus, leaving the tree room for names and owners; a focused left pane keeps its width."""
ALWAYS_NARROW_WIDTH = 90
"""Below this many columns the left column is compact whatever has focus (dive: 8 columns below 90)."""
WIDE_WIDTH = 160
"""From this many columns the left column is wide enough for a whole digest (``Digest: sha256:`` and 64 hex
digits), as dive shows it at 160 columns."""
SHORT_HEIGHT = 24
"""At or below this many rows the details panes give up their minimum heights."""


def fit_to_size(screen: Screen, width: int, height: int, *, left_focused: bool = False) -> None:
    """Marks ``screen`` narrow or short (the stylesheet lays out the compact forms).

    ``left_focused``: a pane of the left column (layers, details) has focus; from 90 to 109 columns it then
    keeps a width where commands, hints and packages can be read.
    """
    narrow = width < ALWAYS_NARROW_WIDTH or (width < NARROW_WIDTH and not left_focused)
    screen.set_class(narrow, "-narrow")
    screen.set_class(width >= WIDE_WIDTH, "-wide")
    screen.set_class(height <= SHORT_HEIGHT, "-short")
