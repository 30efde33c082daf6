"""The explorer's passes over every node (``dive_py.trees.passes``): folder sizes (``add_up``: a folder holds the sum
of the regular files below it at the layer, a path that is a file at one layer keeps its own bytes), the shown
rows' positions (``set_positions``) and the filter's (``gather``, ``spread_down``, ``folders_above``); the C loops
and the Python paths agree."""

from __future__ import annotations

import random
import shutil
import sysconfig
from array import array

import pytest

from dive_py.model import FileEntry, LayerScan
from dive_py.trees import passes
from dive_py.trees.passes import add_up, folders_above, gather, scatter, set_positions, spread_down, subtree_sizes
from dive_py.trees.rows import TreeModel
from dive_py.trees.tree import FileTree


def _tree(seed: int) -> FileTree:
    """Three layers of random paths under a few nested folders; the last turns a folder into a file."""
    rng = random.Random(seed)
    tree = FileTree()
    for layer in range(3):
        entries = {}
        for _ in range(300):
            path = "/".join(rng.choice("abc") for _ in range(rng.randint(1, 5))) + f"/f{rng.randint(0, 40)}"
            entries[path] = FileEntry(path, "f", rng.randint(0, 10_000), hash=rng.getrandbits(32))
        if layer == 2:
            entries["a"] = FileEntry("a", "f", 123_456)  # a folder below becomes a file (its children stay listed)
        tree.apply_layer(layer, LayerScan(entries=entries))
    return tree


def _by_walk(model: TreeModel, layer: int) -> list[int]:
    """Each node's bytes by summing the regular files present at ``layer`` in its subtree, node by node."""
    files = model.file_sizes(layer)
    end = model.order.end
    return [sum(files[pos : end[pos]]) for pos in range(len(files))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_folder_sizes_are_the_sum_below_in_c_and_in_python(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = TreeModel(_tree(seed), 3)
    for layer in range(3):
        expected = _by_walk(model, layer)
        assert list(add_up(model.file_sizes(layer), model.order)) == expected
        monkeypatch.setattr(passes, "_add_up", None)
        assert list(add_up(model.file_sizes(layer), model.order)) == expected
        monkeypatch.undo()
        kept = bytearray(random.Random(seed + layer).choice((0, 1)) for _ in range(len(model.order)))
        files = model.file_sizes(layer)
        only_kept = [sum(files[i] * kept[i] for i in range(pos, model.order.end[pos])) for pos in range(len(files))]
        assert list(add_up(files, model.order, kept)) == only_kept
        monkeypatch.setattr(passes, "_add_up", None)
        assert list(add_up(files, model.order, kept)) == only_kept
        monkeypatch.undo()
    top = model.order.nodes.index(model.tree.get("a"))
    assert add_up(model.file_sizes(2), model.order)[top] >= 123_456


def test_the_c_loop_is_built_where_a_compiler_is() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip("no C compiler: these passes run in Python")
    from dive_py.trees import _columns

    with pytest.raises(ValueError, match="parent comes after"):
        _columns.add_up(array("q", [1, 2]), array("i", [1, -1]))
    with pytest.raises(ValueError, match="same length"):
        _columns.add_up(array("q", [1, 2]), array("i", [-1]))
    with pytest.raises(ValueError, match="same length"):
        _columns.add_up(array("q", [1, 2]), array("i", [-1, 0]), bytearray(1))


@pytest.mark.parametrize("seed", [1, 2])
def test_shown_positions_in_c_and_in_python(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    shown = bytearray(rng.choice((0, 0, 1)) for _ in range(5000))
    expected = [pos for pos, flag in enumerate(shown) if flag]
    assert list(set_positions(shown)) == expected
    assert list(set_positions(bytearray(3))) == []
    monkeypatch.setattr(passes, "_set_positions", None)
    assert list(set_positions(shown)) == expected


def test_scatter_in_c_and_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    positions, values = array("i", [4, 0, 2]), bytes([7, 8, 9])
    expected = bytearray([8, 0, 9, 0, 7])
    target = bytearray(5)
    scatter(target, positions, values)
    assert target == expected
    if passes._scatter is not None:
        with pytest.raises(IndexError):
            passes._scatter(bytearray(2), array("i", [2]), b"\1")
        with pytest.raises(ValueError, match="one value byte each"):
            passes._scatter(bytearray(2), array("i", [1]), b"")
    monkeypatch.setattr(passes, "_scatter", None)
    target = bytearray(5)
    scatter(target, positions, values)
    assert target == expected


def test_subtree_sizes_in_c_and_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    model = TreeModel(_tree(4), 3)
    parent = model.order.parent
    expected = [1] * len(parent)
    for pos in range(len(parent)):  # every node counts for itself and each of its ancestors
        up = parent[pos]
        while up >= 0:
            expected[up] += 1
            up = parent[up]
    assert list(subtree_sizes(model.order.parent)) == expected
    monkeypatch.setattr(passes, "_add_up", None)
    assert list(subtree_sizes(model.order.parent)) == expected


def _ancestors(model: TreeModel, pos: int) -> list[int]:
    found, up = [], model.order.parent[pos]
    while up >= 0:
        found.append(up)
        up = model.order.parent[up]
    return found


@pytest.mark.parametrize("seed", [5, 6])
def test_filter_passes_in_c_and_in_python(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = TreeModel(_tree(seed), 3)
    rng = random.Random(seed)
    count = len(model.order)
    marked = bytearray(1 if rng.random() < 0.05 else 0 for _ in range(count))
    # A node is marked below a marked ancestor; a present folder is added above a marked node, an absent one not.
    below = bytearray(marked[pos] or any(marked[up] for up in _ancestors(model, pos)) for pos in range(count))
    codes = bytes(rng.choice((0, 1, 2)) for _ in range(count))
    above = bytearray(marked)
    for pos in range(count):
        if marked[pos]:
            for up in _ancestors(model, pos):
                above[up] = above[up] or (1 if codes[up] else 0)
    table, ids = bytes(rng.choice((0, 1)) for _ in range(50)), array("i", (rng.randrange(50) for _ in range(count)))
    for pure in (False, True):
        if pure:
            for loop in ("_gather", "_spread_down", "_folders_above"):
                monkeypatch.setattr(passes, loop, None)
        spread = bytearray(marked)
        spread_down(spread, model.order)
        assert spread == below
        assert folders_above(marked, codes, model.order) == above
        assert gather(table, ids) == bytearray(table[i] for i in ids)


def test_the_filter_passes_check_their_arguments_in_c() -> None:
    if passes._gather is None:
        pytest.skip("no C loops built")
    from dive_py.trees import _columns

    with pytest.raises(IndexError):
        _columns.gather(b"\1", array("i", [1]))
    with pytest.raises(ValueError, match="same length"):
        _columns.spread_down(bytearray(2), array("i", [-1]))
    with pytest.raises(ValueError, match="parent comes after"):
        _columns.spread_down(bytearray(2), array("i", [1, -1]))
    with pytest.raises(ValueError, match="a code per node"):
        _columns.folders_above(bytearray(2), array("i", [-1, 0]), b"\1")
