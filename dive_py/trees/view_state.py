"""Provides what the user chose to see in the file tree (``TreeViewState``) and the diff types rows carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum


class DiffType(IntEnum):
    """How a path at the selected layer compares with the layer(s) it is compared against."""

    ADDED = 1
    REMOVED = 2
    MODIFIED = 3
    UNMODIFIED = 4


ABSENT = 0
"""Code of a node that is not shown at a layer (never existed, or gone before the compared range)."""


@dataclass
class TreeViewState:
    """What the user chose to see; kept off the domain nodes."""

    layer: int = 0
    aggregated: bool = False
    """Compare with the first layer (aggregated changes) instead of with the layer below."""
    collapse_all: bool = False
    """Default collapse state of every folder; ``toggled`` holds the exceptions."""
    toggled: set[str] = field(default_factory=set)
    """Folder paths (no leading slash) whose collapse state differs from ``collapse_all``."""
    hidden: set[DiffType] = field(default_factory=set)
    filter: str = ""
    """Regular expression searched in each full path (``/etc/passwd``); empty for none."""
    sort_by_size: bool = False
    min_size: int = 0
    """Show only regular files of at least this many bytes (and the folders holding them); 0 for all."""
    only_changes: bool = False
    """Hide unmodified paths (folders holding changes stay, marked modified)."""

    def is_collapsed(self, path: str) -> bool:
        """Whether the folder at ``path`` is collapsed."""
        return (path in self.toggled) != self.collapse_all

    def set_collapsed(self, path: str, collapsed: bool) -> None:
        """Collapses or expands the folder at ``path``."""
        if collapsed == self.collapse_all:
            self.toggled.discard(path)
        else:
            self.toggled.add(path)

    def filter_error(self) -> str | None:
        """The reason the filter is not a valid regular expression, or None."""
        try:
            re.compile(self.filter)
        except re.error as exc:
            return str(exc)
        return None
