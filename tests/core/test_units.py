"""Byte sizes as people write them: dive's syntax (go-humanize ParseBytes) and what is refused."""

from __future__ import annotations

import pytest

from dive_py.errors import ConfigError
from dive_py.units import MAX_BYTES, SIZE_UNITS, parse_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32025", 32025),
        ("20Mb", 20_000_000),
        ("20MB", 20_000_000),
        ("20mb", 20_000_000),
        ("20MiB", 20 * 1024**2),
        ("1.5kB", 1500),
        ("1.5 KiB", 1536),
        ("2G", 2_000_000_000),
        ("1,000", 1000),
        ("0", 0),
    ],
)
def test_byte_sizes_parse_like_dive(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-5", "12 parsecs", "1.2.3"])
def test_bad_byte_sizes_are_refused(text):
    with pytest.raises(ConfigError):
        parse_bytes(text)


def test_every_unit_is_case_insensitive():
    for unit, multiplier in SIZE_UNITS.items():
        assert parse_bytes(f"3{unit.upper()}") == parse_bytes(f"3 {unit}") == 3 * multiplier


def test_fractions_of_a_byte_are_dropped_and_spaces_allowed():
    assert parse_bytes(" 1.9 ") == 1
    assert parse_bytes(".5k") == 500
    assert parse_bytes("7.") == 7


def test_too_large_is_refused():
    assert parse_bytes("15EiB") < MAX_BYTES
    with pytest.raises(ConfigError, match="too large"):
        parse_bytes("16EiB")


def test_an_unknown_unit_is_named():
    with pytest.raises(ConfigError, match="unknown unit 'parsecs'"):
        parse_bytes("12 parsecs")
