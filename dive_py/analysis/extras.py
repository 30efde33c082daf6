"""Provides how an analysis' hints and packages are kept in, and read back from, its figures record.

Neither is part of :func:`~dive_py.analysis.analyze.analyze`: the explorer paints before them (it asks
for them in the background), and ``--ci`` pays for them only when it reports them;
:class:`~dive_py.analysis.analyze.Analysis` makes each once. A figures record that holds them serves them
without the tree; one that does not gets them added once they are computed. Hints are kept down to
:data:`CACHED_MIN_BYTES`: a report with a smaller minimum computes them again.
"""

from __future__ import annotations

from typing import Any

from dive_py.analysis.hints import Hint, HintReport
from dive_py.analysis.packages import LayerPackages, PackageReport

CACHED_MIN_BYTES = 4096
"""The smallest hint a figures record keeps (every group of an image down to 1 byte could be thousands)."""


def hints_record(report: HintReport) -> list[dict[str, Any]]:
    """What a figures record keeps of the hints (made down to :data:`CACHED_MIN_BYTES`)."""
    return [hint.to_dict() for hint in report.hints]


def hints_from_record(items: object, image_bytes: int) -> HintReport | None:
    """The hints a figures record holds, or None when it holds none (or ones that do not read)."""
    if not isinstance(items, list):
        return None
    try:
        hints = [Hint.from_dict(item) for item in items]
    except (KeyError, TypeError, ValueError):
        return None
    return HintReport(hints, CACHED_MIN_BYTES, image_bytes)


def packages_record(report: PackageReport) -> dict[str, Any]:
    """What a figures record keeps of the packages."""
    return {"layers": [layer.to_dict() for layer in report.layers], "warnings": report.warnings}


def packages_from_record(data: object, layer_count: int) -> PackageReport | None:
    """The packages a figures record holds for ``layer_count`` layers, or None when it holds none that fit."""
    if not isinstance(data, dict):
        return None
    try:
        layers = [LayerPackages.from_dict(item) for item in data["layers"]]
        warnings = [str(w) for w in data["warnings"]]
    except (KeyError, TypeError, ValueError):
        return None
    return PackageReport(layers, warnings) if len(layers) == layer_count else None
