"""Provides :func:`analyze`: an image in, the figures dive reports (and a few it does not) out.

Given a figures store, figures cached for the same chain of layers are used as they are, and new ones
are kept (:mod:`dive_py.analysis.figures`); the union tree is then stacked only on first use of
:attr:`Analysis.tree`.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dive_py.analysis.figures import figures_key, from_record, to_record
from dive_py.analysis.hints import DEFAULT_MIN_BYTES
from dive_py.analysis.stacker import Stacker, stack_tree
from dive_py.analysis.tree_walk import TreeWalk, walk_tree
from dive_py.cache.figures import FigureStore
from dive_py.model import Image
from dive_py.trees.efficiency import Inefficiency
from dive_py.trees.tree import FileTree


@dataclass
class Analysis:
    """Everything divepy knows about one image; the UI, CI rules and export read it."""

    image: Image
    efficiency: float
    """dive's efficiency score, 0..1."""
    size_bytes: int
    """Sum of every layer's stored file bytes (dive's image size)."""
    user_size_bytes: int
    """Size of all layers but the first (the base image)."""
    wasted_bytes: int
    user_wasted_ratio: float
    """wasted_bytes / user_size_bytes. With no user bytes (the layers above the first add none, or there is
    one layer): ``inf`` when bytes are wasted, as in dive (the ratio fails any threshold), else 0 (dive:
    NaN). :func:`user_wasted_ratio` computes it."""
    inefficiencies: list[Inefficiency]
    # The figures of the walk over the tree: None until complete_figures() when the analysis was made with
    # walk_later (the explorer, which paints first); always there for the command line and the reports.
    reclaimable_bytes: int | None
    """Σ layer bytes − bytes of the final file system: what squashing would save."""
    duplicate_content_bytes: int | None
    """Bytes of final-file-system files whose content is already present at another path."""
    final_size_bytes: int | None
    """Bytes of regular files in the final file system."""
    layer_shadowed_bytes: list[int] | None
    """Per layer: bytes it adds that later layers overwrite or delete."""
    warnings: list[str] = field(default_factory=list)
    _tree: FileTree | None = field(default=None, repr=False, compare=False)
    hint_min_bytes: int = DEFAULT_MIN_BYTES
    """The smallest hint reported (``--hint-min-size``); :func:`dive_py.analysis.extras.hint_report` reads it."""
    extras: dict = field(default_factory=dict, repr=False, compare=False)
    """Hints and packages once computed (:mod:`dive_py.analysis.extras`)."""
    cached_record: dict | None = field(default=None, repr=False, compare=False)
    """The image's figures record (read or written), where the extras are kept too."""
    figures_store: tuple[FigureStore, str] | None = field(default=None, repr=False, compare=False)
    """The figures store and this image's key in it, when the load uses the cache."""
    tree_walk: TreeWalk | None = field(default=None, repr=False, compare=False)
    """The figures' pass over the tree, kept for the hints until they are computed (then dropped)."""
    pending_figures: tuple[FigureStore | None, str | None] | None = field(default=None, repr=False, compare=False)
    """Where :func:`complete_figures` keeps the figures record once the walk's figures are in."""

    @property
    def layers(self):  # noqa: ANN201 - list[Layer]
        return self.image.layers

    @property
    def tree(self) -> FileTree:
        """The union tree of all layers; stacked on first use when the figures came from the cache."""
        if self._tree is None:
            self._tree = stack_tree(self.image)
        return self._tree


def analyze(
    image: Image, stacker: Stacker | None = None, figures: FigureStore | None = None, *, walk_later: bool = False
) -> Analysis:
    """Stacks the layers and computes dive's figures plus reclaimable and duplicate bytes.

    Args:
        image: the loaded image.
        stacker: the layers already stacked while others were scanned (see
            :func:`dive_py.analysis.load.load_analysis`); the rest are stacked here.
        figures: where to find and keep the figures of this chain of layers; None computes them.
        walk_later: leave the figures of the walk over the tree (final, duplicate and shadowed bytes) None
            until :func:`complete_figures` (the explorer paints first: ~0.4 s at 10^6 files).

    Raises:
        DivepyError: a layer cannot be stacked (the message names the layer).
    """
    key = figures_key(image) if figures is not None else None
    if key is not None and figures is not None:
        record = figures.get(key)
        cached = from_record(image, key, record) if record is not None else None
        if cached is not None and record is not None:
            return _kept(_assemble(image, **cached), figures, key, record)
    analysis = _assemble(image, **_stacked_figures(image, stacker))
    analysis.pending_figures = (figures, key)
    return analysis if walk_later else complete_figures(analysis)


def complete_figures(analysis: Analysis) -> Analysis:
    """Adds the figures of the one walk over the tree (kept for the hints too) unless they are there, and keeps
    the figures record where the analysis was asked to."""
    with _WALKING:
        if analysis.final_size_bytes is not None:
            return analysis
        walk = walk_tree(analysis.tree, len(analysis.layers))
        analysis.tree_walk = walk
        analysis.final_size_bytes, analysis.duplicate_content_bytes = walk.final_bytes, walk.duplicate_bytes
        analysis.layer_shadowed_bytes = walk.shadowed
        analysis.reclaimable_bytes = max(analysis.size_bytes - walk.final_bytes, 0)
        figures, key = analysis.pending_figures or (None, None)
        analysis.pending_figures = None
        if figures is not None and key is not None:
            record = to_record(analysis.image, key, _figures_of(analysis))
            figures.put(key, record)
            _kept(analysis, figures, key, record)
    return analysis


_WALKING = threading.Lock()
"""The explorer completes the figures in the background while a caller may ask for them too."""


def _figures_of(analysis: Analysis) -> dict:
    """The stacked figures of a complete analysis (keywords of :func:`_assemble`)."""
    return {
        "efficiency": analysis.efficiency,
        "inefficiencies": analysis.inefficiencies,
        "wasted": analysis.wasted_bytes,
        "final": analysis.final_size_bytes,
        "duplicates": analysis.duplicate_content_bytes,
        "shadowed": analysis.layer_shadowed_bytes,
        "warnings": analysis.warnings,
    }


def _kept(analysis: Analysis, figures: FigureStore, key: str, record: dict) -> Analysis:
    """Notes where the analysis' figures are kept, so that its hints and packages are kept there too."""
    analysis.cached_record, analysis.figures_store = record, (figures, key)
    return analysis


@contextmanager
def long_lived() -> Iterator[None]:
    """Pauses the cyclic GC while an image is loaded and analysed; freezes what was built when it succeeds.

    A load builds ~10^6 objects (records, nodes, entries) that live as long as the program: with the GC on,
    its passes traverse them again and again (on the 101k-file image: 7 full passes, ~0.35 s of a 2 s
    load, then more at exit). Frozen (:func:`gc.freeze`), they stay out of every later pass. For the
    command line and the explorer only: a frozen tree that is dropped is never collected (parent links).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    if enabled:
        gc.freeze()
        gc.enable()


def _stacked_figures(image: Image, stacker: Stacker | None) -> dict:
    """The figures of the stacked layers but the walk's (keywords of :func:`_assemble`), and the union tree."""
    if stacker is None or not stacker.fits(image):
        stacker = Stacker()
    stacker.finish(image)
    tree, counter = stacker.tree, stacker.counter
    inefficiencies = counter.inefficiencies()
    return {
        "efficiency": counter.score(),
        "inefficiencies": inefficiencies,
        "wasted": sum(item.cumulative_bytes for item in inefficiencies),
        "final": None,
        "duplicates": None,
        "shadowed": None,
        "warnings": [*image.warnings, *stacker.warnings],
        "tree": tree,
    }


def _assemble(
    image: Image,
    *,
    efficiency: float,
    inefficiencies: list[Inefficiency],
    wasted: int,
    final: int | None,
    duplicates: int | None,
    shadowed: list[int] | None,
    warnings: list[str],
    tree: FileTree | None = None,
) -> Analysis:
    """An :class:`Analysis` from the stacked figures; sizes and ratios derive from the layers here only."""
    size = sum(layer.size_bytes for layer in image.layers)
    user_size = size - (image.layers[0].size_bytes if image.layers else 0)
    return Analysis(
        image=image,
        _tree=tree,
        efficiency=efficiency,
        size_bytes=size,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_ratio=user_wasted_ratio(wasted, user_size),
        inefficiencies=inefficiencies,
        reclaimable_bytes=None if final is None else max(size - final, 0),
        duplicate_content_bytes=duplicates,
        final_size_bytes=final,
        layer_shadowed_bytes=shadowed,
        warnings=warnings,
    )


def user_wasted_ratio(wasted: int, user_size: int) -> float:
    """wasted / user_size; with no user bytes ``inf`` when something is wasted (dive's +Inf), else 0 (dive's
    NaN, which passes every rule in dive too)."""
    if user_size:
        return wasted / user_size
    return math.inf if wasted else 0.0
