"""Tests the explorer's config files: divepy's and dive's keys, bad values, a rebound key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.errors import ConfigError
from dive_py.trees.rows import DiffType
from dive_py.ui.config import UiConfig, load_ui_config
from tests.fixtures.paths import EXAMPLE


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_files(tmp_path: Path) -> None:
    assert load_ui_config([tmp_path / "missing.yaml"]) == UiConfig()


def test_dive_keys_are_read(tmp_path: Path) -> None:
    dive = write(
        tmp_path / ".dive.yaml",
        """
diff:
  hide: [added, Unmodified]
filetree:
  collapse-dir: true
  show-attributes: false
layer:
  show-aggregated-changes: true
keybinding:
  filter-files: ctrl+f, ctrl+slash
  toggle-sort-order: ctrl+s
  page-up: pgup
  some-dive-only-key: ctrl+z
""",
    )
    config = load_ui_config([dive])
    assert config.hidden == {DiffType.ADDED, DiffType.UNMODIFIED}
    assert config.collapse_dirs and not config.show_attributes and config.aggregated
    assert config.keymap == {
        "filter-files": "ctrl+f,ctrl+slash",
        "toggle-sort-order": "ctrl+s",
        "toggle-sort-order-size": "ctrl+s",
        "page-up": "pageup",
    }


def test_later_files_win_and_dotted_keys_work(tmp_path: Path) -> None:
    dive = write(tmp_path / ".dive.yaml", "filetree:\n  collapse-dir: true\n")
    ours = write(tmp_path / "config.yaml", "filetree.collapse-dir: false\ndiff.hide: removed\n")
    config = load_ui_config([dive, ours])
    assert not config.collapse_dirs
    assert config.hidden == {DiffType.REMOVED}


@pytest.mark.parametrize(
    "text",
    [
        "diff:\n  hide: [sideways]\n",
        "filetree:\n  collapse-dir: maybe\n",
        "keybinding:\n  quit: 3\n",
        "- a list\n",
        "a: [b",
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_ui_config([write(tmp_path / "config.yaml", text)])


async def test_keymap_rebinds_the_app(tmp_path: Path) -> None:
    from dive_py.ui.app import DivepyApp

    analysis = load_analysis(str(EXAMPLE))
    config = load_ui_config([write(tmp_path / "c.yaml", "keybinding:\n  toggle-filetree-attributes: ctrl+k\n")])
    app = DivepyApp(analysis, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.explorer.tree_view
        view.focus()
        await pilot.press("ctrl+k")
        assert not view.show_attributes
