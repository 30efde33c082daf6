"""Provides byte sizes as people write them (``32025``, ``20MB``, ``1.5kB``, ``20MiB``), read the way dive reads them.

One parser for every size a user gives: CI rule thresholds (``.dive-ci`` and flags) and ``$DIVEPY_CACHE_LIMIT``.
"""

from __future__ import annotations

import re

from dive_py.errors import ConfigError

SIZE_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mi": 1024**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "ti": 1024**4, "tib": 1024**4,
    "p": 1000**5, "pb": 1000**5, "pi": 1024**5, "pib": 1024**5,
    "e": 1000**6, "eb": 1000**6, "ei": 1024**6, "eib": 1024**6,
}  # fmt: skip
"""go-humanize's ParseBytes table, lower-cased: units are case-insensitive, so ``20Mb`` is 20,000,000 bytes."""

MAX_BYTES = 2**64
"""Sizes from here up are refused: go-humanize parses into a uint64."""

_SIZE_RE = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")


def parse_bytes(text: str) -> int:
    """Parses a byte size the way dive does (go-humanize ``ParseBytes``); fractions of a byte are dropped.

    Args:
        text: a number with an optional unit from :data:`SIZE_UNITS` (``1,024``, ``1.5 kB``, ``2GiB``).

    Raises:
        ConfigError: not a size, an unknown unit, or 2**64 bytes or more.
    """
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ConfigError(f"invalid byte size {text!r} (examples: 32025, 20MB, 1.5kB, 20MiB)")
    number, unit = match.groups()
    multiplier = SIZE_UNITS.get(unit.lower())
    if multiplier is None:
        raise ConfigError(f"invalid byte size {text!r}: unknown unit {unit!r}")
    value = float(number.replace(",", "")) * multiplier
    if value >= MAX_BYTES:
        raise ConfigError(f"invalid byte size {text!r}: too large")
    return int(value)
