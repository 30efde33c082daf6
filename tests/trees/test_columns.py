"""The explorer's passes over every node (``dive_py.trees.passes``): folder sizes (``add_up``: a folder holds the sum
of the regular files below it at the layer, a path that is a file at one layer keeps its own bytes), the shown
rows' positions (``set_positions``) and the filter's (``gather``, ``spread_down``, ``folders_above``); the C loops
and the Python paths agree."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import sysconfig
from array import array

import pytest

from dive_py.model import FileEntry, LayerScan
from dive_py.trees import passes
from dive_py.trees import tree as tree_module
from dive_py.trees.passes import add_up, folders_above, gather, scatter, set_positions, spread_down, subtree_sizes
from dive_py.trees.rows import RowModel
from dive_py.trees.tree import FileTree
from tests.fixtures.paths import child_env


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


def _by_walk(model: RowModel, layer: int) -> list[int]:
    """Each node's bytes by summing the regular files present at ``layer`` in its subtree, node by node."""
    files = model.file_sizes(layer)
    end = model.order.end
    return [sum(files[pos : end[pos]]) for pos in range(len(files))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_folder_sizes_are_the_sum_below_in_c_and_in_python(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = RowModel(_tree(seed), 3)
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


def test_divepy_pure_python_turns_every_c_loop_off() -> None:
    """The one switch for the four modules that load a C loop (CI runs these tests once more with it set)."""
    hooks = (
        "from dive_py.layers import columns, scan; from dive_py.trees import passes, tree; "
        "print(scan._scan_run, columns._make_entries, tree.c_stack_entries, passes._columns)"
    )
    run = subprocess.run(
        [sys.executable, "-c", hooks], env=child_env(DIVEPY_PURE_PYTHON="1"), capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["None"] * 4


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
    model = RowModel(_tree(4), 3)
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


def _tree_with_deletions() -> FileTree:
    """The random tree plus a layer that deletes a file, empties a folder (opaque) and writes again."""
    tree = _tree(5)
    rng = random.Random(5)
    entries = {f"b/new{i}": FileEntry(f"b/new{i}", "f", rng.randint(1, 999)) for i in range(20)}
    entries["c"] = FileEntry("c", "d")
    deleted = [node.path for node in tree.walk() if node.children is None][:10]
    tree.apply_layer(3, LayerScan(entries=entries, whiteouts=deleted, opaques=["c"]))
    return tree


def test_preorder_in_c_and_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree_with_deletions()
    expected = list(tree.walk())  # parents before children, children by name
    depth = {}
    for node in expected:
        depth[node] = 0 if node.parent is tree.root else depth[node.parent] + 1
    for c_loop in (True, False):
        if not c_loop:
            monkeypatch.setattr(passes, "_preorder", None)
        nodes, parent, depths = passes.preorder(tree.root.sorted_children())
        assert nodes == expected
        parents = [n.parent if n.parent is not tree.root else None for n in nodes]
        assert [nodes[p] if p >= 0 else None for p in parent] == parents
        assert list(depths) == [depth[n] for n in nodes]
    assert passes.preorder([]) == ([], array("i"), array("H"))


def test_layer_changes_in_c_and_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree_with_deletions()
    nodes = list(tree.walk())
    expected = [(array("i"), [], [], []) for _ in range(3)]  # one layer fewer than stacked: the top is left out
    for pos, node in enumerate(nodes):
        events = node.events
        first = events[0][1] if events[0][0] == 0 else None
        for i, (layer, entry) in enumerate(events):
            if layer < 3:
                column = expected[layer]
                column[0].append(pos)
                column[1].append(entry)
                column[2].append(events[i - 1][1] if i else None)
                column[3].append(first)
    assert any(None in column[1] for column in passes.layer_changes(nodes, 4))  # the deletions are there
    assert passes.layer_changes(nodes, 3) == expected
    monkeypatch.setattr(passes, "_layer_changes", None)
    assert passes.layer_changes(nodes, 3) == expected


def _odd_layers() -> list[LayerScan]:
    """Layers that take every branch of the stacking: folders listed after their files or never, a file that
    replaces a folder (and the folder's later entries), a folder that replaces a file, names that repeat,
    a non-ASCII name, deletions."""
    f = lambda path, size=1: FileEntry(path, "f", size)  # noqa: E731
    d = lambda path: FileEntry(path, "d")  # noqa: E731
    return [
        LayerScan(entries={e.path: e for e in (f("a/b/Makefile"), d("a"), d("a/b"), f("x/y/z/Makefile", 5), f("é/ß"))}),
        LayerScan(entries={e.path: e for e in (f("a/b", 9), f("a/b/c"), d("x/y"), f("x/y/new"), f("top"))}),
        LayerScan(entries={e.path: e for e in (d("top"), f("top/in"), f("é/ß", 2), d("a/b"))}, whiteouts=["x/y/z"]),
    ]


def test_stacking_in_c_and_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    def stacked() -> tuple[list, list]:
        tree, changes = FileTree(), []
        for layer, scan in enumerate(_odd_layers()):
            made = tree.apply_layer(layer, scan)
            revisits = {path: node.path for path, node in made.revisits.items()}
            noted = (sorted(made.parents), revisits, made.folders, made.replaced_folder)
            changes.append((made.removed, made.missing_whiteouts, made.opaque_dirs, *noted))
        nodes = [(node.path, [(at, e and (e.path, e.kind, e.size)) for at, e in node.events]) for node in tree.walk()]
        assert len({id(node.name) for node in tree.walk() if node.name == "Makefile"}) == 1
        return nodes, changes

    if tree_module.c_stack_entries is None:
        pytest.skip("no C loop built")
    in_c = stacked()
    monkeypatch.setattr("dive_py.trees.tree.c_stack_entries", None)
    assert stacked() == in_c
    nodes = dict(in_c[0])
    assert nodes["a/b/Makefile"] == [(0, ("a/b/Makefile", "f", 1)), (1, None)]  # the file a/b replaced its folder
    assert nodes["a/b"][1] == (1, ("a/b", "d", 0))  # then a/b/c made it a folder again (implied)
    assert nodes["a/b/c"] == [(1, ("a/b/c", "f", 1))]
    assert nodes["x/y/z/Makefile"][-1] == (2, None)
    assert nodes["top"] == [(1, ("top", "f", 1)), (2, ("top", "d", 0))]
    assert nodes["é/ß"][-1] == (2, ("é/ß", "f", 2))
    assert [layer[-1] for layer in in_c[1]] == [False, True, False]  # layer 1: the file a/b replaced a folder
    assert in_c[1][2][-3] == {"top": "top", "é/ß": "é/ß", "a/b": "a/b"}  # paths the tree had
    assert in_c[1][2][-2] == ["top", "a/b"]


def _ancestors(model: RowModel, pos: int) -> list[int]:
    found, up = [], model.order.parent[pos]
    while up >= 0:
        found.append(up)
        up = model.order.parent[up]
    return found


@pytest.mark.parametrize("seed", [5, 6])
def test_filter_passes_in_c_and_in_python(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = RowModel(_tree(seed), 3)
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
