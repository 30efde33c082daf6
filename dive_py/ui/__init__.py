"""Provides the terminal explorer (Textual).

Only ``cli/main.py`` and ``cli/diff.py`` import this package, to start it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dive_py.model import ProgressCallback

if TYPE_CHECKING:  # the loader thread imports the analysis, while this one imports Textual
    from dive_py.analysis.analyze import Analysis
    from dive_py.analysis.compare import ImageComparison
    from dive_py.dockerfile.parse import Dockerfile


def run_tui(
    ref: str,
    load: Callable[[ProgressCallback], Analysis],
    *,
    dockerfile: Dockerfile | None = None,
    target: str | None = None,
) -> int:
    """Shows the explorer at once with a loading screen, loads the image in a worker thread, then explores it.

    Args:
        ref: what the user asked for (shown while loading).
        load: reads and analyses the image, reporting ``progress(label, done, total)``; may raise
            ``DivepyError``, which is shown and ends the app with exit code 2.
        dockerfile: the Dockerfile that built the image (``--dockerfile``; ``target``: its stage): the layers
            and hints show their lines.

    Returns:
        The exit code: 0 after a normal quit, 2 when loading failed.
    """
    from dive_py.analysis.gc_policy import pause
    from dive_py.load.workers import prestart_workers
    from dive_py.ui.loading import BackgroundLoad

    # No cyclic GC passes until the first paint: the imports and the first screen make ~10^5 objects that all
    # live on (~0.02 s of passes over them); the explorer turns it on again once painted.
    paused = pause()
    prestart_workers()  # forked now, while this is the only thread: the loader thread could only spawn them
    loader = BackgroundLoad(load).start()  # reads the image while Textual is imported and starts up
    from dive_py.ui.app import DivepyApp
    from dive_py.ui.config import load_ui_config

    app = DivepyApp(load=loader, ref=ref, config=load_ui_config(), dockerfile=dockerfile, target=target)
    app.gc_paused = paused
    app.run()
    return app.return_code or 0


def run_diff_tui(ref: str, load: Callable[[ProgressCallback], ImageComparison]) -> int:
    """Like :func:`run_tui`, for ``divepy diff``: ``load`` compares two images (``cli.diff.make_diff_loader``).

    Returns:
        The exit code: 0 after a normal quit, 2 when loading failed.
    """
    from dive_py.analysis.compare import build_diff_model
    from dive_py.ui.loading import BackgroundLoad

    loader = BackgroundLoad(load, build_diff_model).start()
    from dive_py.ui.config import load_ui_config
    from dive_py.ui.diff_view import DivepyDiffApp

    app = DivepyDiffApp(load=loader, ref=ref, config=load_ui_config())
    app.run()
    return app.return_code or 0


def __getattr__(name: str):  # noqa: ANN202 - lazy: importing dive_py.ui must not pull in Textual
    if name == "DivepyApp":
        from dive_py.ui.app import DivepyApp

        return DivepyApp
    raise AttributeError(name)


__all__ = ["DivepyApp", "run_diff_tui", "run_tui"]
