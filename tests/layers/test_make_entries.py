"""A layer's entries made from its columns (``dive_py.layers.columns.make_entries``): the C loop and the Python
path make the same entries, with one int object per distinct number (sizes, modes and owners repeat)."""

from __future__ import annotations

import random
from array import array

import pytest

from dive_py.layers import columns as layer_columns
from dive_py.layers.columns import LayerColumns, make_entries
from dive_py.model import FileEntry

FIELDS = FileEntry.__slots__


def _columns(seed: int, rows: int = 3000) -> LayerColumns:
    rng = random.Random(seed)
    columns = LayerColumns()
    for row in range(rows):
        kind = rng.choice("fffdlhcbp")
        link = f"target/{row}" if kind in "lh" and rng.random() < 0.5 else ""
        columns.append(
            f"dir{row % 17}/é{row}".encode(),
            kind,
            rng.choice((0, 1, 4096, 300, 2**40 + row % 3, rng.randint(0, 10**9))),
            rng.choice((0o644, 0o755, 0o4755, 0)),
            rng.choice((0, 1000, 65534, 2**33)),
            rng.choice((0, 1000, 50)),
            link,
            rng.getrandbits(64),
        )
    return columns


def _made(columns: LayerColumns) -> dict[str, FileEntry]:
    paths = [path.decode() for path in columns.paths]
    return make_entries(
        paths, columns.kinds, columns.sizes, columns.modes, columns.uids, columns.gids, columns.hashes, columns.links
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_c_and_python_make_the_same_entries(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if layer_columns._make_entries is None:
        pytest.skip("the C loop is not built")
    columns = _columns(seed)
    in_c = _made(columns)
    monkeypatch.setattr(layer_columns, "_make_entries", None)
    in_python = _made(columns)
    assert list(in_c) == list(in_python)
    for path, entry in in_c.items():
        assert [getattr(entry, name) for name in FIELDS] == [getattr(in_python[path], name) for name in FIELDS]
    links = [entry for entry in in_c.values() if entry.link]
    assert links and all(entry.kind in "lh" for entry in links)
    # One object per distinct number, as the Python path shares them.
    numbers = [getattr(entry, name) for entry in in_c.values() for name in ("size", "mode", "uid", "gid")]
    assert len({id(number) for number in numbers}) == len(set(numbers))


def test_the_c_loop_refuses_columns_that_do_not_match() -> None:
    make = layer_columns._make_entries
    if make is None:
        pytest.skip("the C loop is not built")
    q, big = array("q", [1]), array("Q", [1])
    with pytest.raises(TypeError, match="column 3: a column of unsigned 32-bit integers, not format 'q'"):
        make(["a"], b"f", q, array("q", [1]), q, q, big, FileEntry)
    with pytest.raises(ValueError, match="column 2"):
        make(["a", "b"], b"ff", q, array("I", [1]), q, q, big, FileEntry)
    with pytest.raises(TypeError, match="paths must be str"):
        make([b"a"], b"f", q, array("I", [1]), q, q, big, FileEntry)
    with pytest.raises(TypeError, match="plain class"):
        make(["a"], b"f", q, array("I", [1]), q, q, big, dict)
