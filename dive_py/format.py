"""Provides the text forms of sizes, ratios and percents shared by the UI and the reports."""

from __future__ import annotations

import math

import humanize

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def size(num_bytes: int) -> str:
    """Bytes in decimal units exactly as dive prints them (go-humanize ``Bytes``: ``13 kB``)."""
    if num_bytes < 10:
        return f"{num_bytes} B"
    exponent = min(int(math.floor(math.log(num_bytes) / math.log(1000))), len(_UNITS) - 1)
    value = math.floor(num_bytes / 1000**exponent * 10 + 0.5) / 10
    return f"{value:.0f} {_UNITS[exponent]}" if value >= 10 else f"{value:.1f} {_UNITS[exponent]}"


def size_text(num_bytes: int) -> str:
    """Decimal units with one decimal, as the explorer shows them (``4.3 MB``, ``512 B``)."""
    if num_bytes < 1000:
        return f"{num_bytes} B"
    return humanize.naturalsize(num_bytes, format="%.1f")


def percent(ratio: float, digits: int = 2) -> str:
    """A 0..1 ratio as a percent (``98.44 %``)."""
    return f"{ratio * 100:.{digits}f} %"
