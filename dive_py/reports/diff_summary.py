"""Provides the summary of an image comparison: the figures that ``divepy diff``, the diff view and the Markdown
report show, computed once.

Each renderer only lays them out (plain text in :mod:`dive_py.cli.diff`, a Rich ``Text`` in
:mod:`dive_py.ui.diff_view`, a table in :mod:`dive_py.reports.markdown`); this module neither prints nor imports
Textual or the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, FileChange, FolderSize, ImageComparison
from dive_py.analysis.hints import Hint
from dive_py.analysis.packages import LayerPackages, installed
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines

CHANGE_MARKS: dict[Change, tuple[str, str]] = {
    Change.ADDED: ("+", "green"),
    Change.REMOVED: ("-", "red"),
    Change.MODIFIED: ("~", "yellow"),
    Change.MOVED: (">", "cyan"),
}
"""The mark and the colour of each kind of change, in the text summary and in the diff view."""

COUNTED = (Change.ADDED, Change.REMOVED, Change.MODIFIED, Change.MOVED)
"""The kinds of change a summary counts, in the order it lists them."""


@dataclass(frozen=True)
class ChangeCount:
    """How many files and links changed one way, and what that did to the image's bytes."""

    change: Change
    count: int
    delta_bytes: int | None
    """The added files' bytes, minus the removed ones', the modified files' net change; None for moves."""

    @property
    def mark(self) -> str:
        """The change's mark in a listing."""
        return CHANGE_MARKS[self.change][0]

    @property
    def style(self) -> str:
        """The change's colour."""
        return CHANGE_MARKS[self.change][1]


@dataclass(frozen=True)
class DiffSummary:
    """Every figure a summary of a comparison shows."""

    comparison: ImageComparison
    changes: tuple[ChangeCount, ...]
    """Added, removed, modified, moved (see :data:`COUNTED`)."""
    copies: int
    """Added files whose content is already in the base image."""
    image_growth: float
    """The image size's change as a ratio of the base's (0 for an empty base)."""
    folders: tuple[FolderSize, ...]
    """The top-level folders whose size changed."""

    @cached_property
    def biggest(self) -> list[FileChange]:
        """Every changed file and link, biggest first (see :func:`biggest_first`); sorted on first use."""
        return biggest_first(self.comparison.files)

    @property
    def base(self) -> Analysis:
        """The base image's analysis."""
        return self.comparison.base

    @property
    def new(self) -> Analysis:
        """The new image's analysis."""
        return self.comparison.new

    def count(self, change: Change) -> int:
        """How many paths changed so."""
        return next(row.count for row in self.changes if row.change == change)

    @property
    def wasted_delta_bytes(self) -> int:
        """The change of wasted bytes, new minus base."""
        return self.new.wasted_bytes - self.base.wasted_bytes

    @property
    def efficiency_delta(self) -> float:
        """The efficiency's change as a ratio (multiply by 100 for points)."""
        return self.new.efficiency - self.base.efficiency


def summarize(comparison: ImageComparison) -> DiffSummary:
    """The figures of ``comparison`` that the renderers show.

    Args:
        comparison: a base-to-new comparison (``analysis.compare.compare``).
    """
    c = comparison
    modified = c.of(Change.MODIFIED)
    deltas = {
        Change.ADDED: c.added_bytes,
        Change.REMOVED: -c.removed_bytes,
        Change.MODIFIED: sum(m.delta_bytes for m in modified),
        Change.MOVED: None,  # a move keeps the bytes
    }
    base_size = c.base.size_bytes
    return DiffSummary(
        comparison=c,
        changes=tuple(ChangeCount(change, len(c.of(change)), deltas[change]) for change in COUNTED),
        copies=len(c.copies),
        image_growth=(c.new.size_bytes - base_size) / base_size if base_size else 0.0,
        folders=tuple(f for f in c.top_level if f.delta_bytes),
    )


def biggest_first(files: Iterable[FileChange]) -> list[FileChange]:
    """Changes by the larger of their two sizes, biggest first, then by path (a stable order for equal sizes)."""
    return sorted(files, key=lambda f: (-_weight(f), f.path))


def _weight(item: FileChange) -> int:
    return max(item.size_bytes or 0, item.base_size_bytes or 0)


@dataclass(frozen=True)
class HintChanges:
    """Hints of the new image that the base lacks, and the base's hints the new image no longer has.

    A hint is the same in both when its kind and paths are (layer numbers differ between images).
    """

    appeared: list[Hint]
    disappeared: list[Hint]


def hint_changes(comparison: ImageComparison) -> HintChanges:
    """The hints that appeared and disappeared between the two images."""
    base, new = comparison.base.hints().hints, comparison.new.hints().hints
    base_keys = {(hint.kind, hint.paths) for hint in base}
    new_keys = {(hint.kind, hint.paths) for hint in new}
    return HintChanges(
        [hint for hint in new if (hint.kind, hint.paths) not in base_keys],
        [hint for hint in base if (hint.kind, hint.paths) not in new_keys],
    )


def package_changes(comparison: ImageComparison) -> LayerPackages:
    """The packages the new image has and the base has not, the other way round, and those whose version changed."""
    base, new = installed(comparison.base.packages()), installed(comparison.new.packages())
    return LayerPackages(
        added=[package for key, package in sorted(new.items()) if key not in base],
        removed=[package for key, package in sorted(base.items()) if key not in new],
        changed=[package for key, package in sorted(new.items()) if key in base and base[key] != package],
    )


def extras_to_dict(comparison: ImageComparison, lines: DockerfileLines = NO_LINES) -> dict[str, Any]:
    """The hints that appeared and disappeared, and the packages' changes, for ``divepy diff --json``; the hints
    that appeared with their Dockerfile place in the new image (``lines``), or null."""
    hints = hint_changes(comparison)
    return {
        "hints": {
            "appeared": [{**hint.to_dict(), "dockerfile": lines.to_dict(hint.layer)} for hint in hints.appeared],
            "disappeared": [hint.to_dict() for hint in hints.disappeared],
        },
        "packages": package_changes(comparison).to_dict(),
    }
