"""Provides an analysis' hints and packages: computed from the union tree on first use, kept in the figures cache.

Neither is part of :func:`~dive_py.analysis.analyze.analyze`: the explorer paints before them (it asks
for them in the background), and ``--ci`` pays for them only when it reports them. A figures record that
holds them serves them without the tree; one that does not gets them added once they are computed.
Hints are kept down to :data:`CACHED_MIN_BYTES`: a report with a smaller minimum computes them again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dive_py.analysis.hints import Hint, HintReport, find_hints
from dive_py.analysis.packages import LayerPackages, PackageReport, find_packages

if TYPE_CHECKING:
    from dive_py.analysis.analyze import Analysis

CACHED_MIN_BYTES = 4096
"""The smallest hint a figures record keeps (every group of an image down to 1 byte could be thousands)."""

_LOCK = threading.Lock()
"""One computation at a time: the explorer's background worker and a report may ask together."""


def hint_report(analysis: Analysis, min_bytes: int | None = None) -> HintReport:
    """The image's hints saving at least ``min_bytes`` (default: the analysis' ``hint_min_bytes``), biggest first."""
    if min_bytes is None:
        min_bytes = analysis.hint_min_bytes
    with _LOCK:
        cached = analysis.extras.get("hints")
        if cached is None and min_bytes >= CACHED_MIN_BYTES:
            record = analysis.cached_record or {}
            if isinstance(record.get("hints"), list):
                cached = _hints_from(analysis, record["hints"])
            else:
                cached = find_hints(analysis.image, analysis.tree, CACHED_MIN_BYTES, analysis.tree_walk)
                analysis.tree_walk = None  # what it holds is in the hints now
                keep_extra(analysis, "hints", [hint.to_dict() for hint in cached.hints])
            analysis.extras["hints"] = cached
        if cached is not None and min_bytes >= cached.min_bytes:
            return cached.at_least(min_bytes)
    return find_hints(analysis.image, analysis.tree, min_bytes, analysis.tree_walk)


def package_report(analysis: Analysis) -> PackageReport:
    """Per layer, the packages it added, removed or changed."""
    with _LOCK:
        cached = analysis.extras.get("packages")
        if cached is None:
            record = analysis.cached_record or {}
            cached = _packages_from(analysis, record.get("packages"))
            if cached is None:
                cached = find_packages(analysis.image, analysis.tree)
                keep_extra(
                    analysis,
                    "packages",
                    {"layers": [layer.to_dict() for layer in cached.layers], "warnings": cached.warnings},
                )
            analysis.extras["packages"] = cached
        return cached


def kept_extra(analysis: Analysis, name: str) -> object:
    """A field of the image's figures record (None without one): what a report kept with :func:`keep_extra`."""
    return (analysis.cached_record or {}).get(name)


def _hints_from(analysis: Analysis, items: list) -> HintReport | None:
    try:
        hints = [Hint.from_dict(item) for item in items]
    except (KeyError, TypeError, ValueError):
        return find_hints(analysis.image, analysis.tree, CACHED_MIN_BYTES)
    return HintReport(hints, CACHED_MIN_BYTES, analysis.image.size_bytes)


def _packages_from(analysis: Analysis, data: object) -> PackageReport | None:
    if not isinstance(data, dict):
        return None
    try:
        layers = [LayerPackages.from_dict(item) for item in data["layers"]]
        warnings = [str(w) for w in data["warnings"]]
    except (KeyError, TypeError, ValueError):
        return None
    return PackageReport(layers, warnings) if len(layers) == len(analysis.layers) else None


def keeps_extras(analysis: Analysis) -> bool:
    """Whether :func:`keep_extra` keeps anything (the load used the figures cache): else do not prepare a value."""
    return analysis.figures_store is not None and analysis.cached_record is not None


def keep_extra(analysis: Analysis, name: str, value: object) -> None:
    """Adds a computed extra to the image's figures record (a read-only cache just misses it next time)."""
    store = analysis.figures_store
    if store is None or analysis.cached_record is None:
        return
    analysis.cached_record[name] = value
    store[0].put(store[1], analysis.cached_record)
