"""Provides the analysis' values: frozen, each complete when it exists.

:class:`~dive_py.analysis.analyze.Analysis` owns the union tree and makes each of these once, on demand;
``--ci``, the reports and the explorer read them. In the style of
:class:`~dive_py.dockerfile.lines.DockerfileLines`, nothing here changes after it is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dive_py.analysis.hints import HintReport
from dive_py.analysis.packages import PackageReport
from dive_py.model import Image
from dive_py.trees.efficiency import Inefficiency


@dataclass(frozen=True)
class ImageFigures:
    """dive's figures of the stacked layers (known as soon as the layers are stacked, or from the cache)."""

    efficiency: float
    """dive's efficiency score, 0..1."""
    size_bytes: int
    """Sum of every layer's stored file bytes (dive's image size)."""
    user_size_bytes: int
    """Size of all layers but the first (the base image)."""
    wasted_bytes: int
    user_wasted_ratio: float
    """wasted_bytes / user_size_bytes (see :func:`user_wasted_ratio`)."""
    inefficiencies: tuple[Inefficiency, ...]
    warnings: tuple[str, ...]
    """The image's warnings, then the stacking's."""


@dataclass(frozen=True)
class WalkFigures:
    """The figures of the one walk over the union tree (the explorer paints before them)."""

    reclaimable_bytes: int
    """Σ layer bytes − bytes of the final file system: what squashing would save."""
    duplicate_content_bytes: int
    """Bytes of final-file-system files whose content is already present at another path."""
    final_size_bytes: int
    """Bytes of regular files in the final file system."""
    layer_shadowed_bytes: tuple[int, ...]
    """Per layer: bytes it adds that later layers overwrite or delete."""


@dataclass(frozen=True)
class Extras:
    """An image's hints and packages, as the explorer's worker hands them over."""

    hints: HintReport
    packages: PackageReport


def image_figures(
    image: Image, *, efficiency: float, inefficiencies: list[Inefficiency], wasted: int, warnings: list[str]
) -> ImageFigures:
    """The image figures from the stacked ones; sizes and ratios derive from the layers here only."""
    size = sum(layer.size_bytes for layer in image.layers)
    user_size = size - (image.layers[0].size_bytes if image.layers else 0)
    return ImageFigures(
        efficiency=efficiency,
        size_bytes=size,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_ratio=user_wasted_ratio(wasted, user_size),
        inefficiencies=tuple(inefficiencies),
        warnings=tuple(warnings),
    )


def walk_figures(size_bytes: int, final: int, duplicates: int, shadowed: list[int]) -> WalkFigures:
    """The walk figures of an image of ``size_bytes`` from the walk's sums (or a cached record's)."""
    return WalkFigures(max(size_bytes - final, 0), duplicates, final, tuple(shadowed))


def user_wasted_ratio(wasted: int, user_size: int) -> float:
    """wasted / user_size; with no user bytes ``inf`` when something is wasted (dive's +Inf), else 0 (dive's
    NaN, which passes every rule in dive too)."""
    if user_size:
        return wasted / user_size
    return math.inf if wasted else 0.0
