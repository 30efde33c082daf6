"""Provides CI rule settings: a ``.dive-ci`` YAML file, overridden by flags (sizes are read by :mod:`dive_py.units`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dive_py.errors import ConfigError

RULE_DEFAULTS: dict[str, str] = {
    "lowestEfficiency": "0.9",
    "highestWastedBytes": "disabled",
    "highestUserWastedPercent": "0.1",
    "highestReclaimableBytes": "disabled",
    "highestDuplicateContentBytes": "disabled",
    "highestSizeIncreaseBytes": "disabled",
    "highestSizeIncreasePercent": "disabled",
    "highestWastedBytesIncrease": "disabled",
    "highestFixableBytes": "disabled",
    "highestFixablePercent": "disabled",
}
"""Every rule key with its default, as dive spells the keys (dive's three come first)."""

DEFAULT_CONFIG_FILE = ".dive-ci"
DISABLED_WORDS = frozenset({"", "disabled", "off", "false"})


def is_disabled(value: str) -> bool:
    """Whether a rule's value turns it off (``off``, ``disabled`` and the like)."""
    return value.strip().lower() in DISABLED_WORDS


@dataclass
class CiConfig:
    """Raw rule settings by key (strings as written); rules parse and validate them."""

    rules: dict[str, str] = field(default_factory=lambda: dict(RULE_DEFAULTS))
    source: str = "defaults"
    """Where the settings came from, for the report."""
    ignored_keys: list[str] = field(default_factory=list)
    hint_min_size: str | None = None
    """``hints: minSize:`` as written (e.g. ``64kB``): the smallest hint reported; None for the default."""


def _canonical_key(key: str) -> str | None:
    """Maps ``lowest-efficiency`` / ``lowestEfficiency`` / ``lowest_efficiency`` to the rule key."""
    squashed = key.replace("-", "").replace("_", "").lower()
    for name in RULE_DEFAULTS:
        if name.lower() == squashed:
            return name
    return None


def _yaml_value(value: object) -> str:
    if value is None or value is False:
        return "disabled"
    if isinstance(value, bool):
        raise ConfigError("a rule threshold cannot be `true`")
    if isinstance(value, int | float | str):
        return str(value)
    raise ConfigError(f"rule threshold must be a number or a string, not {type(value).__name__}")


def load_ci_config(path: str | None, overrides: dict[str, str | None]) -> CiConfig:
    """Reads the rules file (``path``, else ``.dive-ci`` if present) and applies flag overrides.

    Raises:
        ConfigError: a named file is missing, or the file is not valid YAML rules.
    """
    config = CiConfig()
    explicit = path is not None
    path = path or DEFAULT_CONFIG_FILE
    if os.path.exists(path):
        _read_rules_file(path, config)
    elif explicit:
        raise ConfigError(f"{path}: CI config file not found")
    for key, value in overrides.items():
        if value is not None:
            config.rules[key] = value
    return config


def _read_rules_file(path: str, config: CiConfig) -> None:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read CI config ({exc})") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: CI config must be a YAML mapping with a `rules:` section")
    hints = data.get("hints")
    if isinstance(hints, dict) and hints.get("minSize") is not None:
        config.hint_min_size = str(hints["minSize"])
    elif hints is not None:
        raise ConfigError(f"{path}: `hints:` must be a mapping with a `minSize:` (e.g. 64kB)")
    rules = data.get("rules", {})
    if rules is None:
        rules = {}
    if not isinstance(rules, dict):
        raise ConfigError(f"{path}: `rules:` must be a mapping of rule names to thresholds")
    for key, value in rules.items():
        name = _canonical_key(str(key))
        if name is None:
            config.ignored_keys.append(str(key))
            continue
        try:
            config.rules[name] = _yaml_value(value)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {name}: {exc.message}") from None
    config.source = path
