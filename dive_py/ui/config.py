"""Provides the explorer's settings: initial view state and key bindings, read from YAML files.

``~/.dive.yaml`` is read first (dive's keys, where they mean the same here), then
``~/.config/divepy/config.yaml`` (same keys), whose values win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

UNREACHABLE_KEYS = {"ctrl+m": "enter", "ctrl+i": "tab", "ctrl+j": "enter"}
"""Keys a terminal sends as another key (ctrl+m is a carriage return): bound, they would never fire, or
fire on that other key. dive's default ``~/.dive.yaml`` binds ``toggle-modified-files`` to ``ctrl+m``."""

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
    "toggle-change-markers",
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
    markers: bool = False
    """Mark changed rows ``+``/``~``/``-`` (``filetree.show-markers``; on by itself under ``NO_COLOR``)."""
    ascii_only: bool = False
    """Draw the tree and the borders in ASCII (a C or other non-UTF-8 locale)."""
    theme: str | None = None
    """A Textual theme name (``ansi-dark`` and ``ansi-light`` use the terminal's own palette)."""
    cursor_to_first_change: bool = True
    """On arriving at a layer in layer-changes mode, put the cursor on its first change
    (``filetree.cursor-to-first-change``)."""
    warnings: list[str] = field(default_factory=list)
    """What the explorer tells the user once at start (keys it could not bind as asked)."""


_COERCED = {"C.UTF-8", "C.utf8", "UTF-8"}
"""What Python writes into ``LC_CTYPE`` when it coerces a C locale (PEP 538): not the user's choice."""


def locale_is_ascii(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the locale names no UTF-8 charset (``LANG=C``, ``POSIX``, ``en_US.ISO-8859-1``, none).

    Read from the environment as the C library would (``LC_ALL``, then ``LC_CTYPE``, then ``LANG``),
    skipping the ``LC_CTYPE`` Python itself sets when it coerces a C locale to UTF-8.
    """
    env = os.environ if environ is None else environ
    ctype = env.get("LC_CTYPE", "")
    value = env.get("LC_ALL") or (ctype if ctype not in _COERCED else "") or env.get("LANG", "") or ctype
    if ctype in _COERCED and not env.get("LC_ALL") and env.get("LANG", "C") in ("C", "POSIX"):
        value = env.get("LANG", "C")
    return "utf8" not in value.lower().replace("-", "")


def from_environment(config: UiConfig, environ: Mapping[str, str] | None = None) -> UiConfig:
    """Settings the terminal implies: markers under ``NO_COLOR``, ASCII drawing in a non-UTF-8 locale."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:  # https://no-color.org: set to anything
        config.markers = True
    config.ascii_only = locale_is_ascii(env)
    return config


def load_ui_config(paths: list[Path] | None = None) -> UiConfig:
    """Reads the config files that exist, later ones overriding earlier ones.

    Raises:
        ConfigError: a file is not valid YAML or a value has the wrong type.
    """
    config = UiConfig()
    for path in default_config_paths() if paths is None else paths:
        if not path.is_file():
            continue
        import yaml  # here: most users have no config file, and the explorer's first paint waits for imports

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: config must be a mapping")
        apply_settings(config, data, str(path))
    return from_environment(config)


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
    config.markers = _bool(filetree, "show-markers", config.markers, where)
    config.cursor_to_first_change = _bool(filetree, "cursor-to-first-change", config.cursor_to_first_change, where)
    theme = data.get("theme")
    if theme is not None:
        if not isinstance(theme, str):
            raise ConfigError(f"{where}: theme must be a theme name such as 'ansi-dark'")
        config.theme = theme
    for binding_id, keys in _section(data, "keybinding").items():
        if binding_id not in BINDING_IDS:
            continue  # dive keys with no counterpart here are ignored
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(f"{where}: keybinding.{binding_id} must be a key name such as 'ctrl+f'")
        names = _reachable_keys(config, binding_id, keys, where)
        if not names:
            continue  # the binding keeps divepy's default key
        config.keymap[binding_id] = ",".join(names)
        if binding_id == "toggle-sort-order":  # two bindings share the key: one per footer label
            config.keymap["toggle-sort-order-size"] = config.keymap[binding_id]


def _reachable_keys(config: UiConfig, binding_id: str, keys: str, where: str) -> list[str]:
    """The Textual names of ``keys``, less those a terminal cannot send; each such key is warned about once."""
    names = [_key_name(key) for key in keys.split(",")]
    for name in names:
        if name in UNREACHABLE_KEYS:
            config.warnings.append(
                f"{where}: keybinding.{binding_id} {name} reaches divepy as {UNREACHABLE_KEYS[name]}; "
                "kept divepy's key (see ? for it)"
            )
    return [name for name in names if name not in UNREACHABLE_KEYS]


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
