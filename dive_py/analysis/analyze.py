"""Provides :func:`analyze`: an image in, the figures dive reports (and a few it does not) out.

Given a figures store, figures cached for the same chain of layers are used as they are, and new ones
are kept (:mod:`dive_py.analysis.figures`); the union tree is then stacked only on first use of
:attr:`Analysis.tree`.
"""

from __future__ import annotations

import gc
import math
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
    reclaimable_bytes: int
    """Σ layer bytes − bytes of the final file system: what squashing would save."""
    duplicate_content_bytes: int
    """Bytes of final-file-system files whose content is already present at another path."""
    final_size_bytes: int
    """Bytes of regular files in the final file system."""
    layer_shadowed_bytes: list[int]
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

    @property
    def layers(self):  # noqa: ANN201 - list[Layer]
        return self.image.layers

    @property
    def tree(self) -> FileTree:
        """The union tree of all layers; stacked on first use when the figures came from the cache."""
        if self._tree is None:
            self._tree = stack_tree(self.image)
        return self._tree


def analyze(image: Image, stacker: Stacker | None = None, figures: FigureStore | None = None) -> Analysis:
    """Stacks the layers and computes dive's figures plus reclaimable and duplicate bytes.

    Args:
        image: the loaded image.
        stacker: the layers already stacked while others were scanned (see
            :func:`dive_py.analysis.load.load_analysis`); the rest are stacked here.
        figures: where to find and keep the figures of this chain of layers; None computes them.

    Raises:
        DivepyError: a layer cannot be stacked (the message names the layer).
    """
    key = figures_key(image) if figures is not None else None
    if key is not None and figures is not None:
        record = figures.get(key)
        cached = from_record(image, key, record) if record is not None else None
        if cached is not None and record is not None:
            return _kept(_assemble(image, **cached), figures, key, record)
    stacked, tree, walk = _stacked_figures(image, stacker)
    analysis = _assemble(image, **stacked, tree=tree)
    analysis.tree_walk = walk
    if key is not None and figures is not None:
        record = to_record(image, key, stacked)
        figures.put(key, record)
        _kept(analysis, figures, key, record)
    return analysis


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


def _stacked_figures(image: Image, stacker: Stacker | None) -> tuple[dict, FileTree, TreeWalk]:
    """The figures of the stacked layers (keywords of :func:`_assemble`), the union tree and the walk over it."""
    if stacker is None or not stacker.fits(image):
        stacker = Stacker()
    stacker.finish(image)
    tree, counter = stacker.tree, stacker.counter
    inefficiencies = counter.inefficiencies()
    # One pass for these figures and the hints (:mod:`dive_py.analysis.tree_walk`); it runs after the last
    # layer, while nothing else can.
    walk = walk_tree(tree, len(image.layers))
    figures = {
        "efficiency": counter.score(),
        "inefficiencies": inefficiencies,
        "wasted": sum(item.cumulative_bytes for item in inefficiencies),
        "final": walk.final_bytes,
        "duplicates": walk.duplicate_bytes,
        "shadowed": walk.shadowed,
        "warnings": [*image.warnings, *stacker.warnings],
    }
    return figures, tree, walk


def _assemble(
    image: Image,
    *,
    efficiency: float,
    inefficiencies: list[Inefficiency],
    wasted: int,
    final: int,
    duplicates: int,
    shadowed: list[int],
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
        reclaimable_bytes=max(size - final, 0),
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
