"""Provides the explorer's settings: initial view state and key bindings, read from YAML files.

``~/.dive.yaml`` is read first (dive's keys, where they mean the same here), then
``~/.config/divepy/config.yaml`` (same keys), whose values win.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dive_py.errors import ConfigError
from dive_py.trees.view_state import DiffType

DIFF_NAMES = {
    "added": DiffType.ADDED,
    "removed": DiffType.REMOVED,
    "modified": DiffType.MODIFIED,
    "unmodified": DiffType.UNMODIFIED,
}
"""dive's ``diff.hide`` words."""

KEY_ALIASES = {"pgup": "pageup", "pgdn": "pagedown", "ctrl+/": "ctrl+slash", "/": "slash", "?": "question_mark"}
"""dive's key names that Textual spells differently."""

BINDING_IDS = (
    "quit",
    "toggle-view",
    "filter-files",
    "compare-layer",
    "compare-all",
    "toggle-collapse-dir",
    "toggle-collapse-all-dir",
    "toggle-added-files",
    "toggle-removed-files",
    "toggle-modified-files",
    "toggle-unmodified-files",
    "toggle-filetree-attributes",
    "toggle-sort-order",
    "toggle-wrap-tree",
    "page-up",
    "page-down",
    "extract-file",
    "view-file",
    "search",
    "only-changes",
    "size-filter",
)
"""Binding ids that ``keybinding.<id>`` may rebind (dive's names, plus divepy's own)."""


def default_config_paths() -> list[Path]:
    """dive's file, then divepy's (later files win)."""
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".dive.yaml", xdg / "divepy" / "config.yaml"]


@dataclass
class UiConfig:
    """Initial state and key overrides of the explorer."""

    hidden: set[DiffType] = field(default_factory=set)
    collapse_dirs: bool = False
    """Start with every folder collapsed (``filetree.collapse-dir``)."""
    show_attributes: bool = True
    aggregated: bool = False
    """Start in aggregated compare mode (``layer.show-aggregated-changes``)."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> comma-separated Textual key names."""


def load_ui_config(paths: list[Path] | None = None) -> UiConfig:
    """Reads the config files that exist, later ones overriding earlier ones.

    Raises:
        ConfigError: a file is not valid YAML or a value has the wrong type.
    """
    config = UiConfig()
    for path in default_config_paths() if paths is None else paths:
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: config must be a mapping")
        apply_settings(config, data, str(path))
    return config


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A section, accepting both nested (``diff: {hide: …}``) and dotted (``diff.hide``) keys."""
    value = data.get(name)
    section = dict(value) if isinstance(value, dict) else {}
    prefix = name + "."
    for key, item in data.items():
        if isinstance(key, str) and key.startswith(prefix):
            section[key[len(prefix) :]] = item
    return section


def apply_settings(config: UiConfig, data: dict[str, Any], where: str = "config") -> None:
    """Applies one parsed config mapping onto ``config``."""
    hide = _section(data, "diff").get("hide")
    if hide is not None:
        words = [hide] if isinstance(hide, str) else hide
        if not isinstance(words, list) or any(str(w).lower() not in DIFF_NAMES for w in words):
            raise ConfigError(f"{where}: diff.hide takes a list of added, removed, modified, unmodified")
        config.hidden = {DIFF_NAMES[str(w).lower()] for w in words}
    filetree = _section(data, "filetree")
    config.collapse_dirs = _bool(filetree, "collapse-dir", config.collapse_dirs, where)
    config.show_attributes = _bool(filetree, "show-attributes", config.show_attributes, where)
    config.aggregated = _bool(_section(data, "layer"), "show-aggregated-changes", config.aggregated, where)
    for binding_id, keys in _section(data, "keybinding").items():
        if binding_id not in BINDING_IDS:
            continue  # dive keys with no counterpart here are ignored
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(f"{where}: keybinding.{binding_id} must be a key name such as 'ctrl+f'")
        config.keymap[binding_id] = ",".join(_key_name(key) for key in keys.split(","))
        if binding_id == "toggle-sort-order":  # two bindings share the key: one per footer label
            config.keymap["toggle-sort-order-size"] = config.keymap[binding_id]


def _key_name(key: str) -> str:
    key = key.strip().lower()
    return KEY_ALIASES.get(key, key)


def _bool(section: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false")
    return value
