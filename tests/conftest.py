"""Shared test set-up for every folder: a clean environment (no CI mode, no user cache).

Paths and helpers are in tests/fixtures/paths.py; the explorer's example fixtures in tests/ui/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Hypothesis draws new examples each run by default: in CI (CI=true, or HYPOTHESIS_PROFILE=ci as .ci/run sets)
# every run draws the same ones, so a red run is the code's doing and can be replayed; elsewhere they vary.
# A test's own @settings still sets what it names (max_examples, deadline) on top of the profile.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "") not in ("", "0", "false") else "default")
)


@pytest.fixture(autouse=True)
def _no_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI sets CI=true, which switches divepy into --ci mode: tests choose the mode themselves."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _no_user_cache_in_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module and session fixtures load images before any test's own fixtures run: keep theirs out of ~/.cache too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DIVEPY_CACHE_DIR", raising=False)
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache-session")))
        yield


@pytest.fixture(autouse=True)
def _private_layer_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Loads write a layer cache: keep it out of the user's ~/.cache, and start each test with an empty one."""
    monkeypatch.delenv("DIVEPY_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A skipped snapshot test leaves its snapshot unused, which syrupy counts as a failure (exit 1) even
    though nothing is stale: pytest-textual-snapshot's one-file-per-test snapshots never match a skipped
    item. When a snapshot test skips, unused snapshots are reported as a warning for this run instead;
    in a run where every snapshot test runs, an unused (stale) snapshot still fails."""
    report = yield
    if report.skipped and "snap_compare" in getattr(item, "fixturenames", ()):
        item.config.option.warn_unused_snapshots = True
    return report
