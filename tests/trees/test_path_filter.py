"""The filter's matches (``dive_py.trees.path_filter``): each way of finding them (per distinct name, among an
earlier pattern's matches, over every path, a regex, from the cache) marks exactly the nodes whose absolute path a
regex search matches, with the C loops and without."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from dive_py.model import FileEntry, LayerScan
from dive_py.trees import passes
from dive_py.trees.path_filter import CACHED_PATTERNS, PathFilter
from dive_py.trees.rows import DiffType, RowModel, TreeViewState
from dive_py.trees.tree import FileTree

NAMES = ["usr", "lib", "src", "us", "sr", "libusr", "a", "b", "x.py", "lib-x", "rsu"]


def _model(seed: int) -> RowModel:
    """Two layers of random paths whose names share pieces (so patterns match inside names, across ``/``, and
    in names at any depth); the second layer turns a folder into a file."""
    rng = random.Random(seed)
    tree = FileTree()
    for layer in range(2):
        entries = {}
        for _ in range(400):
            path = "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 5)))
            entries[path] = FileEntry(path, "f", rng.randint(0, 1000), hash=rng.getrandbits(32))
        if layer == 1:
            entries["usr"] = FileEntry("usr", "f", 7)
        tree.apply_layer(layer, LayerScan(entries=entries))
    return RowModel(tree, 2)


def _searched(model: RowModel, pattern: str) -> bytearray:
    """The plain definition: a regex search over every absolute path."""
    search = re.compile(pattern).search
    return bytearray(bool(search(path)) for path in model.paths())


def _typed(text: str) -> list[str]:
    """The patterns typing ``text`` then erasing it shows, one a keystroke."""
    prefixes = [text[:i] for i in range(1, len(text) + 1)]
    return prefixes + prefixes[-2::-1]


def _spied(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts the calls of each way of matching."""
    calls: Counter = Counter()
    for name in ("_by_name", "_among", "_from_positions"):
        original = getattr(PathFilter, name)

        def spy(self, *args, _original=original, _name=name):  # noqa: ANN001, ANN002, ANN202
            calls[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(PathFilter, name, spy)
    return calls


@pytest.mark.parametrize("pure", [False, True], ids=["c", "python"])
@pytest.mark.parametrize("seed", [1, 2])
def test_every_keystroke_matches_what_a_regex_search_of_every_path_does(
    seed: int, pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        for loop in ("_gather", "_spread_down", "_folders_above", "_set_positions", "_scatter"):
            monkeypatch.setattr(passes, loop, None)
    calls = _spied(monkeypatch)
    model = _model(seed)
    patterns = _typed("usr/lib/a") + _typed("libusr") + ["/", "r/l", "^/usr", "a$", r"x\.py", "lib-x", "sr", "zz"]
    for pattern in patterns:
        assert model.match_mask(pattern) == _searched(model, pattern), pattern
    assert calls["_by_name"] and calls["_among"] and calls["_from_positions"]  # each way was taken


def test_the_cache_starts_again_when_full_and_stays_right(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(3)
    patterns = [f"{a}{b}" for a in "uslrab" for b in "uslrab"][: CACHED_PATTERNS + 5]
    for pattern in patterns + patterns[::-1]:
        assert model.match_mask(pattern) == _searched(model, pattern), pattern
    assert len(model.path_filter._cache) <= CACHED_PATTERNS


@pytest.mark.parametrize("pure", [False, True], ids=["c", "python"])
def test_filtered_rows_and_folder_sizes_follow_the_matches(pure: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if pure:
        monkeypatch.setattr(passes, "_folders_above", None)
    model = _model(4)
    for pattern in _typed("lib/us"):
        rows = model.visible(TreeViewState(layer=1, filter=pattern))
        matched = _searched(model, pattern)
        codes = model.codes(1)
        shown = [pos for pos in range(len(model.order)) if codes[pos] and _holds(model, pos, matched, codes)]
        assert list(rows.positions) == shown, pattern
        files = model.file_sizes(1)
        end = model.order.end
        for row, pos in enumerate(rows.positions):
            if rows.diff_type(row) != DiffType.REMOVED:  # a removed path shows its size below the layer
                kept = sum(files[p] for p in range(pos, end[pos]) if matched[p] and codes[p])
                assert rows.size(row) == kept


def _holds(model: RowModel, pos: int, matched: bytearray, codes: bytes) -> bool:
    """The node matches, or holds a node present that does."""
    return any(matched[p] and codes[p] for p in range(pos, model.order.end[pos]))
