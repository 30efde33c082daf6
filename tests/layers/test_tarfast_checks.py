"""The layer's C loops check what they are handed (``dive_py/layers/_tarfast.c``): ``scan_run`` a byte buffer and a
hasher, ``make_entries`` typed columns, exact str paths and a class with FileEntry's slots. Each mistake raises
TypeError or ValueError before anything is read; a view of the tar the hasher keeps is released, so it raises
instead of reading the buffer after the loop let it go. scripts/asan.sh runs this file under AddressSanitizer.
"""

from __future__ import annotations

import tarfile
from array import array

import pytest
import xxhash

from dive_py.model import FileEntry
from tests.layers.test_tarfast import _header, _member
from tests.layers.test_tarfast_extensions import _ext, _record, _same_both_ways

try:
    from dive_py.layers import _tarfast
except ImportError:  # pragma: no cover - depends on the build
    _tarfast = None

pytestmark = pytest.mark.skipif(_tarfast is None, reason="the C loops are not built")

MEMBER = _member("f", b"abc")


@pytest.mark.parametrize(
    ("buf", "match"),
    [(array("d", [0.0] * 64), "buf: a column of bytes, not format 'd'"), ("a str", "bytes-like"), (None, "bytes-like")],
)
def test_scan_run_takes_bytes_only(buf: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        _tarfast.scan_run(buf, 0, xxhash.xxh3_64_intdigest, [], {})


def test_scan_run_checks_its_other_arguments() -> None:
    with pytest.raises(TypeError, match="xxh3 must be callable"):
        _tarfast.scan_run(MEMBER, 0, None, [], {})
    with pytest.raises(TypeError, match=r"scan_run\(buf, pos, xxh3, paths, links\)"):
        _tarfast.scan_run(MEMBER, 0, xxhash.xxh3_64_intdigest, [], [])
    with pytest.raises(TypeError):
        _tarfast.scan_run(MEMBER, "0", xxhash.xxh3_64_intdigest, [], {})
    with pytest.raises(OverflowError):
        _tarfast.scan_run(MEMBER, 2**70, xxhash.xxh3_64_intdigest, [], {})


@pytest.mark.parametrize("pos", [-1, -(2**40), len(MEMBER), 10**12])
def test_a_position_outside_the_buffer_reads_nothing(pos: int) -> None:
    paths: list[bytes] = []
    end, total, kinds, *_columns = _tarfast.scan_run(MEMBER, pos, xxhash.xxh3_64_intdigest, paths, {})
    assert (end, total, kinds, paths) == (pos, 0, b"", [])


def test_sizes_claimed_past_int64_are_left_to_python() -> None:
    """A link's size is not held by the buffer: eleven claiming 9 * 10^17 bytes each would overflow the total."""
    claimed = 9 * 10**17
    member = _ext(b"x", _record("size", str(claimed))) + _header("l", 0, tarfile.SYMTYPE)
    blob = member * 11 + bytes(1024)
    paths: list[bytes] = []
    end, total, kinds, *_columns = _tarfast.scan_run(blob, 0, xxhash.xxh3_64_intdigest, paths, {})
    assert (end, total, kinds) == (10 * len(member), 10 * claimed, b"l" * 10)  # the eleventh is Python's
    assert _same_both_ways(blob)


def test_a_view_the_hasher_keeps_is_released() -> None:
    kept: list[memoryview] = []

    def keeping(view: memoryview) -> int:
        kept.append(view)
        return 7

    paths: list[bytes] = []
    result = _tarfast.scan_run(bytearray(MEMBER), 0, keeping, paths, {})
    assert paths == [b"f"] and array("Q", result[-1]).tolist() == [7]
    with pytest.raises(ValueError, match="released"):
        bytes(kept[0])


def test_a_view_in_the_hashers_error_is_released() -> None:
    def failing(view: memoryview) -> int:
        raise RuntimeError(view)

    with pytest.raises(RuntimeError) as raised:
        _tarfast.scan_run(MEMBER, 0, failing, [], {})
    with pytest.raises(ValueError, match="released"):
        bytes(raised.value.args[0])


# -- make_entries ------------------------------------------------------------------------------------------------

Q, U32, U64 = array("q", [1]), array("I", [0o644]), array("Q", [5])


def _make(
    *,
    paths: object = ("a",),
    kinds: object = b"f",
    sizes: object = Q,
    modes: object = U32,
    entry_class: object = FileEntry,
) -> dict:
    paths = list(paths) if isinstance(paths, tuple) else paths
    return _tarfast.make_entries(paths, kinds, sizes, modes, Q, Q, U64, entry_class)


def test_make_entries_makes_an_entry_from_good_columns() -> None:
    entry = _make()["a"]
    assert (entry.path, entry.kind, entry.size, entry.mode, entry.hash, entry.link) == ("a", "f", 1, 0o644, 5, "")


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ({"kinds": array("d", [1.0])}, "column 1: a column of bytes, not format 'd'"),
        ({"kinds": array("i", [102])}, "column 1: a column of bytes, not format 'i'"),
        ({"sizes": array("d", [1.0])}, "column 2: a column of 64-bit integers, not format 'd'"),
        ({"sizes": array("Q", [1])}, "column 2: a column of 64-bit integers, not format 'Q'"),
        ({"modes": array("i", [1])}, "column 3: a column of unsigned 32-bit integers, not format 'i'"),
        ({"modes": array("f", [1])}, "column 3: a column of unsigned 32-bit integers, not format 'f'"),
        ({"paths": ("a",), "entry_class": dict}, "plain class with __slots__"),
        ({"entry_class": FileEntry("x", "f")}, "entry_class"),
        ({"paths": ("a",), "kinds": "f"}, "bytes-like"),
        ({"paths": ["a"].__iter__()}, "entry_class"),
    ],
)
def test_make_entries_refuses_what_it_cannot_read(columns: dict, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        _make(**columns)


def test_make_entries_refuses_paths_that_are_not_exactly_str() -> None:
    class Path(str):
        def __hash__(self) -> int:  # would run while the loop holds the list's items
            return 0

    with pytest.raises(TypeError, match="paths must be str"):
        _make(paths=[Path("a")])
    with pytest.raises(ValueError, match="column 1 is not 2 items"):
        _make(paths=["a", "b"])
    with pytest.raises(ValueError, match="not an ASCII letter"):
        _make(kinds=b"\xff")


def test_make_entries_refuses_a_class_with_other_slots() -> None:
    class Fewer:
        __slots__ = ("path", "kind")

    class Renamed:
        __slots__ = ("path", "kind", "size", "mode", "uid", "gid", "link", "digest")

    with pytest.raises(TypeError, match="has no slot size"):
        _make(entry_class=Fewer)
    with pytest.raises(TypeError, match="has no slot hash"):
        _make(entry_class=Renamed)
