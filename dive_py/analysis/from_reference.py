"""Provides :func:`load_analysis`: the one way from a reference to an :class:`Analysis`.

The CLI, the explorer, the tests, the benchmarks and the scripts all come in here: the image is loaded
with its layers stacked while the others are still being scanned, and its figures are read from and kept
in the cache when the load uses the cache.
"""

from __future__ import annotations

from dive_py.analysis.analyze import Analysis, analyze
from dive_py.analysis.figures_record import FIGURES_VERSION
from dive_py.analysis.stacker import Stacker
from dive_py.cache.figure_store import FigureStore
from dive_py.load.image import load_image
from dive_py.load.options import LoadOptions


def load_analysis(
    ref: str, options: LoadOptions | None = None, *, walk_later: bool = False, hint_min_bytes: int | None = None
) -> Analysis:
    """Loads and analyses the image ``ref`` names.

    Args:
        ref: what the user typed (an archive, a folder, ``-``, ``docker://``, ``registry://`` ...).
        options: how to pick and read it; the cache settings also govern the figures cache.
        walk_later: see :func:`dive_py.analysis.analyze.analyze` (the explorer paints before that walk).
        hint_min_bytes: the smallest hint reported by default (None: the hints' default).

    Raises:
        DivepyError: the image cannot be read or stacked (exit code 2 in the CLI).
    """
    options = options or LoadOptions()
    stacker = Stacker()
    image = load_image(ref, options, on_layer=stacker.add)
    figures = FigureStore(options.cache_dir, FIGURES_VERSION) if options.use_cache else None
    return analyze(image, stacker, figures, walk_later=walk_later, hint_min_bytes=hint_min_bytes)
