"""Provides the terminal explorer (Textual). Only ``cli.py`` imports this package, and only to start the UI."""

from __future__ import annotations

from collections.abc import Callable

from dive_py.analysis import Analysis
from dive_py.image.loader import ProgressCallback


def run_tui(ref: str, load: Callable[[ProgressCallback], Analysis]) -> int:
    """Shows the explorer at once with a loading screen, loads the image in a worker thread, then explores it.

    Args:
        ref: what the user asked for (shown while loading).
        load: reads and analyses the image, reporting ``progress(label, done, total)``; may raise
            ``DivepyError``, which is shown and ends the app with exit code 2.

    Returns:
        The exit code: 0 after a normal quit, 2 when loading failed.
    """
    from dive_py.ui.loading import BackgroundLoad

    loader = BackgroundLoad(load).start()  # reads the image while Textual is imported and starts up
    from dive_py.ui.app import DivepyApp
    from dive_py.ui.config import load_ui_config

    app = DivepyApp(load=loader, ref=ref, config=load_ui_config())
    app.run()
    return app.return_code or 0


def __getattr__(name: str):  # noqa: ANN202 - lazy: importing dive_py.ui must not pull in Textual
    if name == "DivepyApp":
        from dive_py.ui.app import DivepyApp

        return DivepyApp
    raise AttributeError(name)


__all__ = ["DivepyApp", "run_tui"]
