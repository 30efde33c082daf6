"""Provides ``BackgroundLoad``: reads and analyses the image in a thread while Textual starts and draws.

It imports nothing from Textual, so ``run_tui`` can start it before Textual is imported: the
import (half a second) then overlaps with reading the image. The UI polls it for progress rather than
being called from the thread, so a busy loader never waits on the UI and vice versa; only the end
is signalled (``on_done``: the app posts itself a message, which never blocks), so the explorer
does not wait for the next poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dive_py.analysis.analyze import Analysis
    from dive_py.model import ProgressCallback


def tree_model(analysis: Analysis) -> Any:  # noqa: ANN401 - a RowModel (rows is imported in the thread)
    """The explorer's row model for one analysed image."""
    from dive_py.trees.rows import RowModel

    return RowModel(analysis.tree, len(analysis.layers))


class BackgroundLoad:
    """``load(progress)`` plus the row model build (``prepare``), run once in a daemon thread."""

    def __init__(self, load: Callable[[ProgressCallback], Any], prepare: Callable[[Any], Any] = tree_model) -> None:
        self.load = load
        self.prepare = prepare
        """Builds what the view needs from what ``load`` returned (off the UI thread too)."""
        self.progress: tuple[str, int, int] = ("starting", 0, 0)
        """The latest ``(label, done, total)`` the loader reported."""
        self.result: tuple[Any, Any] | None = None
        """``(loaded, prepared)``: an Analysis and its RowModel, or a comparison and its diff model."""
        self.error: BaseException | None = None
        self.seconds: float | None = None
        """Wall time from start to a finished model (or an error)."""
        self.done = threading.Event()
        self.on_done: Callable[[], object] | None = None
        """Called from the thread once :attr:`done` is set; must not block (the app posts itself a message)."""
        self._thread = threading.Thread(target=self._run, name="divepy-load", daemon=True)

    def start(self) -> BackgroundLoad:
        if not self._thread.is_alive() and not self.done.is_set():
            self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def _report(self, label: str, done: int, total: int) -> None:
        self.progress = (label, done, total)

    def _run(self) -> None:
        from dive_py.analysis.gc_policy import long_lived

        started = time.perf_counter()
        try:
            with long_lived():
                loaded = self.load(self._report)
                self.progress = ("preparing the view", 1, 1)
                self.result = (loaded, self.prepare(loaded))
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, which shows or re-raises it
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - started
            self.done.set()
            on_done = self.on_done
            if on_done is not None:
                on_done()
