"""Provides the text forms of sizes, ratios and percents shared by the UI and the reports, and the words
for ages, durations and counts (humanize's: ``10 days ago``, ``1.2 seconds``, ``101,229 files``).

One rule for sizes everywhere (explorer, diff pane, text, Markdown and CI reports): dive's, so divepy's
figures read as dive's do and ``--ci`` output matches dive's byte for byte.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
_FRACTION = re.compile(r"(\.\d+)")


def size(num_bytes: int) -> str:
    """Bytes in decimal units exactly as dive prints them (go-humanize ``Bytes``: ``13 kB``)."""
    if num_bytes < 10:
        return f"{num_bytes} B"
    exponent = min(int(math.floor(math.log(num_bytes) / math.log(1000))), len(_UNITS) - 1)
    value = math.floor(num_bytes / 1000**exponent * 10 + 0.5) / 10
    return f"{value:.0f} {_UNITS[exponent]}" if value >= 10 else f"{value:.1f} {_UNITS[exponent]}"


def percent(ratio: float, digits: int = 2) -> str:
    """A 0..1 ratio as a percent (``98.44 %``)."""
    return f"{ratio * 100:.{digits}f} %"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, agreeing: ``1 path``, ``2 paths``, ``1,024 files`` (``plural`` if not noun + s)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def signed(num_bytes: int, render: Callable[[int], str] = size, *, plus_zero: bool = False) -> str:
    """A change in bytes with its sign: ``+3.4 MB``, ``-512 B``, and ``0 B`` (``+0 B`` with ``plus_zero``).

    Args:
        num_bytes: the change; negative for a shrink.
        render: writes the magnitude (:func:`size`, dive's rule, unless a caller needs another).
        plus_zero: mark no change as ``+`` too (the CI report's baseline line has always done so).
    """
    if num_bytes == 0 and not plus_zero:
        return render(0)
    return ("+" if num_bytes >= 0 else "-") + render(abs(num_bytes))


def signed_percent(ratio: float) -> str:
    """A change as a percent with its sign (``+53.46 %``, ``-3.00 %``; no sign for 0)."""
    return f"{'+' if ratio > 0 else ''}{percent(ratio)}"


def now_utc() -> datetime.datetime:
    """The clock :func:`age` reads (the explorer's tests fix it, so snapshots do not age)."""
    return datetime.datetime.now(datetime.UTC)


def age(timestamp: str, now: datetime.datetime | None = None) -> str:
    """How long ago an RFC 3339 time was, in words (``10 days ago``, humanize's); "" when it cannot be read.

    Engines write nanoseconds (``2026-11-28T01:19:49.191619931Z``), which Python's parser refuses: the
    fraction is cut to microseconds first.
    """
    import humanize  # here: only the layer details need it

    text = _FRACTION.sub(lambda m: m.group(1)[:7], timestamp.strip())
    try:
        then = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.UTC)
    return humanize.naturaltime((now or now_utc()) - then)


def duration(seconds: float) -> str:
    """A wall time in words: ``53 milliseconds``, ``1.2 seconds``, ``1 minute and 15.5 seconds`` (humanize's)."""
    import humanize

    delta = datetime.timedelta(seconds=max(seconds, 0.0))
    if seconds < 1:
        return humanize.precisedelta(delta, minimum_unit="milliseconds", format="%0.0f")
    return humanize.precisedelta(delta, minimum_unit="seconds", format="%0.1f")
