"""The analysis as values and one owner (issue 26): each value frozen, complete when it exists, made once."""

from __future__ import annotations

import dataclasses
import gc
import threading

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.analysis.gc_policy import paused
from dive_py.load.options import LoadOptions
from tests.fixtures.paths import EXAMPLE


def test_the_walk_is_made_once_on_demand_whoever_asks() -> None:
    analysis = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False), walk_later=True)
    assert analysis.walk_ready() is None  # the explorer paints before it
    walks = []
    threads = [threading.Thread(target=lambda: walks.append(analysis.walk())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(walks) == 4 and all(walk is walks[0] for walk in walks)
    assert analysis.walk_ready() is walks[0]
    complete = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    assert walks[0] == complete.walk() and complete.walk().final_size_bytes > 0


def test_the_values_are_frozen_and_the_extras_named() -> None:
    analysis = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    with pytest.raises(dataclasses.FrozenInstanceError):
        analysis.figures.efficiency = 0.5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        analysis.walk().final_size_bytes = 0  # type: ignore[misc]
    extras = analysis.extras()
    assert extras.hints == analysis.hints() and extras.packages is analysis.packages()
    assert len(extras.packages.layers) == len(analysis.layers)


def test_the_hints_minimum_is_the_analysis_own() -> None:
    everything = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False), hint_min_bytes=0)
    default = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    assert everything.hints() == default.hints(0)
    assert len(everything.hints().hints) >= len(default.hints().hints)


def test_paused_restores_the_gc_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()


def test_an_extra_kept_in_the_figures_record_is_there_next_time(tmp_path) -> None:  # noqa: ANN001
    options = LoadOptions(cache_dir=str(tmp_path))
    first = load_analysis(str(EXAMPLE), options)
    assert first.keeps_extras() and first.kept_extra("mine") is None
    first.keep_extra("mine", {"n": 1})
    again = load_analysis(str(EXAMPLE), options)
    assert again.cached and again.kept_extra("mine") == {"n": 1}
    assert not load_analysis(str(EXAMPLE), LoadOptions(use_cache=False)).keeps_extras()
