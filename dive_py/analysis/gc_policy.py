"""Provides the one cyclic-GC policy of the command line and the explorer.

A load builds ~10^6 objects (records, nodes, entries) that live as long as the program, and the reports
and hints make ~10^6 short-lived ones that leave no cycles worth collecting: with the cyclic GC on, its
passes traverse them again and again (on the 101k-file image: 7 full passes, ~0.35 s of a 2 s load; ~0.75 s
of ``--ci`` at 10^6 files; full passes that stall a keystroke in the explorer). So the GC is paused while an
image is loaded, analysed or reported on, and what a load built is frozen (:func:`gc.freeze`) out of every
later pass. For the command line and the explorer only: a frozen tree that is dropped is never collected
(parent links), so library callers (tests, benchmarks) leave the GC alone.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """Pauses the cyclic GC while an image is loaded and analysed; freezes what was built when it succeeds."""
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


@contextmanager
def paused() -> Iterator[None]:
    """Pauses the cyclic GC (the reports: many short-lived objects, no cycles worth a collection)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def keep_out() -> None:
    """Freezes everything alive now out of later collections (an analysis the explorer shows from now on)."""
    gc.freeze()


def pause() -> bool:
    """Turns the cyclic GC off until :func:`resume` (the explorer's start: ~10^5 objects made by the imports and
    the first screen all live on); True when it was on, so that the caller knows to resume it."""
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def resume() -> None:
    """Turns the cyclic GC back on after :func:`pause`."""
    gc.enable()
