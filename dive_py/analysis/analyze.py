"""Provides :func:`analyze` and :class:`Analysis`: an image in, the figures dive reports (and a few it does not) out.

:class:`Analysis` owns the union tree and makes each of the image's values (:mod:`dive_py.analysis.values`,
the hints and the packages) once, on demand, behind one lock: the explorer's worker and a report may ask
together. Given a figures store, figures cached for the same chain of layers are used as they are, and new
ones are kept (:mod:`dive_py.analysis.figures_record`); the union tree is then stacked only on first use of
:attr:`Analysis.tree`.
"""

from __future__ import annotations

import threading
from typing import Any

from dive_py.analysis.extras import (
    CACHED_MIN_BYTES,
    hints_from_record,
    hints_record,
    packages_from_record,
    packages_record,
)
from dive_py.analysis.figures_record import figures_key, from_record, to_record
from dive_py.analysis.hints import DEFAULT_MIN_BYTES, HintReport, find_hints
from dive_py.analysis.packages import PackageReport, find_packages
from dive_py.analysis.stacker import Stacker, stack_tree
from dive_py.analysis.tree_walk import TreeWalk, walk_tree
from dive_py.analysis.values import Extras, ImageFigures, WalkFigures, image_figures, walk_figures
from dive_py.cache.figure_store import FigureStore
from dive_py.model import Image, Layer
from dive_py.trees.efficiency import Inefficiency
from dive_py.trees.tree import FileTree


class Analysis:
    """One image's analysis: the owner of its union tree and of the values made from it, each made once.

    Args:
        image: the loaded image.
        figures: its stacked figures (complete: from the stacker or the cache).
        tree: the union tree, when stacked already (else stacked on first use of :attr:`tree`).
        walk: the walk figures, when the cache had them.
        store: the figures store and this image's key in it, when the figures are to be kept there.
        record: the image's figures record read from the store (it may hold the hints and packages).
        hint_min_bytes: the smallest hint :meth:`hints` reports by default (``--hint-min-size``; None: the
            hints' default).
    """

    def __init__(
        self,
        image: Image,
        figures: ImageFigures,
        *,
        tree: FileTree | None = None,
        walk: WalkFigures | None = None,
        store: tuple[FigureStore, str] | None = None,
        record: dict[str, Any] | None = None,
        hint_min_bytes: int | None = None,
    ) -> None:
        self.image = image
        self.figures = figures
        self._hint_min_bytes = DEFAULT_MIN_BYTES if hint_min_bytes is None else hint_min_bytes
        self._lock = threading.RLock()
        self._tree = tree
        self._walk = walk
        self._store = store
        self._record = record
        self._tree_walk: TreeWalk | None = None
        """The walk's raw material, kept for the hints until they are made (then dropped)."""
        self._hints: HintReport | None = None
        self._packages: PackageReport | None = None

    # Read-only shortcuts for ``figures.<name>``, complete from the start (the walk's figures have none:
    # :meth:`walk` may take a while, and says so).
    @property
    def efficiency(self) -> float:
        """``figures.efficiency``."""
        return self.figures.efficiency

    @property
    def size_bytes(self) -> int:
        """``figures.size_bytes``."""
        return self.figures.size_bytes

    @property
    def user_size_bytes(self) -> int:
        """``figures.user_size_bytes``."""
        return self.figures.user_size_bytes

    @property
    def wasted_bytes(self) -> int:
        """``figures.wasted_bytes``."""
        return self.figures.wasted_bytes

    @property
    def user_wasted_ratio(self) -> float:
        """``figures.user_wasted_ratio``."""
        return self.figures.user_wasted_ratio

    @property
    def inefficiencies(self) -> tuple[Inefficiency, ...]:
        """``figures.inefficiencies``."""
        return self.figures.inefficiencies

    @property
    def warnings(self) -> tuple[str, ...]:
        """``figures.warnings``."""
        return self.figures.warnings

    @property
    def layers(self) -> list[Layer]:
        """The image's layers, bottom first."""
        return self.image.layers

    @property
    def hint_min_bytes(self) -> int:
        """The smallest hint :meth:`hints` reports by default."""
        return self._hint_min_bytes

    @property
    def cached(self) -> bool:
        """Whether the figures came from, or were kept in, the figures cache."""
        return self._record is not None

    @property
    def tree(self) -> FileTree:
        """The union tree of all layers; stacked on first use when the figures came from the cache."""
        tree = self._tree  # no lock once there: the explorer's UI thread reads it while the worker walks
        if tree is None:
            with self._lock:
                if self._tree is None:
                    self._tree = stack_tree(self.image)
                tree = self._tree
        return tree

    def walk_ready(self) -> WalkFigures | None:
        """The walk figures if made already, else None (never waits: the explorer paints before them)."""
        return self._walk

    def walk(self) -> WalkFigures:
        """The figures of the one walk over the tree, made on first use (and kept where the figures are)."""
        walk = self._walk
        if walk is None:
            with self._lock:
                if self._walk is None:
                    self._walk = self._walked()
                walk = self._walk
        return walk

    def hints(self, min_bytes: int | None = None) -> HintReport:
        """The image's hints saving at least ``min_bytes`` (default :attr:`hint_min_bytes`), biggest first."""
        if min_bytes is None:
            min_bytes = self.hint_min_bytes
        with self._lock:
            if self._hints is None and min_bytes >= CACHED_MIN_BYTES:
                self._hints = self._made_hints()
            if self._hints is not None and min_bytes >= self._hints.min_bytes:
                return self._hints.at_least(min_bytes)
            return find_hints(self.image, self.tree, min_bytes, self._tree_walk)

    def packages(self) -> PackageReport:
        """Per layer, the packages it added, removed or changed."""
        with self._lock:
            if self._packages is None:
                found = packages_from_record((self._record or {}).get("packages"), len(self.layers))
                if found is None:
                    found = find_packages(self.image, self.tree)
                    self.keep_extra("packages", packages_record(found))
                self._packages = found
            return self._packages

    def extras(self) -> Extras:
        """The hints (at :attr:`hint_min_bytes`) and the packages (off the UI thread: seconds at 10^6 files)."""
        return Extras(self.hints(), self.packages())

    def _walked(self) -> WalkFigures:
        walk = walk_tree(self.tree, len(self.layers))
        self._tree_walk = walk
        made = walk_figures(self.figures.size_bytes, walk.final_bytes, walk.duplicate_bytes, walk.shadowed)
        if self._store is not None:
            figures, key = self._store
            self._record = to_record(self.image, key, _record_figures(self.figures, made))
            figures.put(key, self._record)
        return made

    def _made_hints(self) -> HintReport:
        """The hints down to :data:`CACHED_MIN_BYTES`: from the record, else found (after the walk, whose raw
        material they reuse) and kept."""
        cached = hints_from_record((self._record or {}).get("hints"), self.image.size_bytes)
        if cached is not None:
            return cached
        if self._walk is None:
            self.walk()
        found = find_hints(self.image, self.tree, CACHED_MIN_BYTES, self._tree_walk)
        self._tree_walk = None  # what it holds is in the hints now
        self.keep_extra("hints", hints_record(found))
        return found

    def kept_extra(self, name: str) -> object:
        """A field of the image's figures record (None without one): what was kept with :meth:`keep_extra`."""
        with self._lock:
            return (self._record or {}).get(name)

    def keeps_extras(self) -> bool:
        """Whether :meth:`keep_extra` keeps anything (the load used the figures cache)."""
        return self._store is not None and self._record is not None

    def keep_extra(self, name: str, value: object) -> None:
        """Adds a computed extra to the image's figures record (a read-only cache just misses it next time)."""
        with self._lock:
            if self._store is None or self._record is None:
                return
            self._record[name] = value
            self._store[0].put(self._store[1], self._record)


def analyze(
    image: Image,
    stacker: Stacker | None = None,
    figures: FigureStore | None = None,
    *,
    walk_later: bool = False,
    hint_min_bytes: int | None = None,
) -> Analysis:
    """Stacks the layers and computes dive's figures plus reclaimable and duplicate bytes.

    Args:
        image: the loaded image.
        stacker: the layers already stacked while others were scanned (see
            :func:`dive_py.analysis.from_reference.load_analysis`); the rest are stacked here.
        figures: where to find and keep the figures of this chain of layers; None computes them.
        walk_later: leave the walk over the tree (final, duplicate and shadowed bytes) to the first
            :meth:`Analysis.walk` (the explorer paints first: ~0.4 s at 10^6 files).
        hint_min_bytes: see :class:`Analysis`.

    Raises:
        DivepyError: a layer cannot be stacked (the message names the layer).
    """
    key = figures_key(image) if figures is not None else None
    store = (figures, key) if figures is not None and key is not None else None
    if store is not None:
        record = store[0].get(store[1])
        cached = from_record(image, store[1], record) if record is not None else None
        if cached is not None:
            return _from_cache(image, cached, store, record, hint_min_bytes)
    image_figs, tree = _stacked(image, stacker)
    analysis = Analysis(image, image_figs, tree=tree, store=store, hint_min_bytes=hint_min_bytes)
    if not walk_later:
        analysis.walk()
    return analysis


def _from_cache(
    image: Image,
    cached: dict[str, Any],
    store: tuple[FigureStore, str],
    record: dict[str, Any] | None,
    hint_min_bytes: int | None,
) -> Analysis:
    """The analysis of a cached record's figures (:func:`~dive_py.analysis.figures_record.from_record`)."""
    image_figs = image_figures(
        image,
        efficiency=cached["efficiency"],
        inefficiencies=cached["inefficiencies"],
        wasted=cached["wasted"],
        warnings=cached["warnings"],
    )
    walk = walk_figures(image_figs.size_bytes, cached["final"], cached["duplicates"], cached["shadowed"])
    return Analysis(image, image_figs, walk=walk, store=store, record=record, hint_min_bytes=hint_min_bytes)


def _stacked(image: Image, stacker: Stacker | None) -> tuple[ImageFigures, FileTree]:
    """The figures of the stacked layers but the walk's, and the union tree."""
    if stacker is None or not stacker.fits(image):
        stacker = Stacker()
    stacker.finish(image)
    counter = stacker.counter
    inefficiencies = counter.inefficiencies()
    return image_figures(
        image,
        efficiency=counter.score(),
        inefficiencies=inefficiencies,
        wasted=sum(item.cumulative_bytes for item in inefficiencies),
        warnings=[*image.warnings, *stacker.warnings],
    ), stacker.tree


def _record_figures(figures: ImageFigures, walk: WalkFigures) -> dict[str, Any]:
    """The figures a record keeps (:func:`~dive_py.analysis.figures_record.to_record`)."""
    return {
        "efficiency": figures.efficiency,
        "inefficiencies": figures.inefficiencies,
        "wasted": figures.wasted_bytes,
        "final": walk.final_size_bytes,
        "duplicates": walk.duplicate_content_bytes,
        "shadowed": list(walk.layer_shadowed_bytes),
        "warnings": list(figures.warnings),
    }
