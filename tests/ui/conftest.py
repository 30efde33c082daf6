"""The explorer's tests: the bundled example and a diff of the seed image, loaded once per module; a plain terminal."""

from __future__ import annotations

import datetime
import os

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import ImageComparison, compare
from dive_py.analysis.from_reference import load_analysis
from tests.fixtures.paths import EXAMPLE
from tests.fixtures.truncate import write_first_layers

PACKAGE = EXAMPLE.parents[1]
"""The folder the example is loaded from by its relative name, ``examples/tomcat02.tar`` (the package's)."""


SCREEN_NOW = datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC)
"""The explorer's clock in these tests: layer ages read the same on every day the snapshots are compared."""


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dive_py.format.now_utc", lambda: SCREEN_NOW)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file view and extract read contents back from the archive by its relative name (see ``tomcat``).

    And a truecolor terminal, whatever the run's ``TERM`` (``xterm`` has 16 colours, where the explorer takes
    the ANSI theme by itself): the tests that want few colours say so.
    """
    monkeypatch.chdir(PACKAGE)
    monkeypatch.setenv("COLORTERM", "truecolor")


@pytest.fixture(scope="module")
def tomcat() -> Analysis:
    """The bundled example, dive_py/examples/tomcat02.tar, loaded as examples/tomcat02.tar from the package.

    Relative, so the image name on screen (snapshots) does not depend on where the checkout is; tests that
    read contents back from the archive run in the package folder (``monkeypatch.chdir(PACKAGE)``). One per
    module: a module's tests may change it (the explorer keeps view state on it).
    """
    cwd = os.getcwd()
    os.chdir(PACKAGE)
    try:
        return load_analysis("examples/tomcat02.tar")
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def tomcat_diff(tmp_path_factory: pytest.TempPathFactory) -> ImageComparison:
    """tomcat02.tar against its own first four layers, both loaded by relative names (stable on screen)."""
    new = EXAMPLE
    folder = tmp_path_factory.mktemp("diff")
    write_first_layers(new, folder / "tomcat02-parent.tar", 4)
    (folder / "tomcat02.tar").symlink_to(new)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        comparison = compare(load_analysis("tomcat02-parent.tar"), load_analysis("tomcat02.tar"))
    finally:
        os.chdir(cwd)
    comparison.folder = folder  # type: ignore[attr-defined] - where the file view reads contents back
    return comparison


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A colour terminal in a UTF-8 locale, whatever the test run's own environment."""
    for name in ("NO_COLOR", "LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    return monkeypatch
