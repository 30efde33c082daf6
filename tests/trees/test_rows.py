"""Tests the file tree's visible rows (diff types, filters, collapse, sort) as plain-text renderings."""

from __future__ import annotations

import textwrap

import pytest

from dive_py.model import FileEntry, LayerScan
from dive_py.trees.rows import ABSENT, DiffType, RowModel, TreeViewState, render_rows, visible_rows
from dive_py.trees.tree import FileTree


def _scan(*entries: FileEntry, whiteouts: tuple[str, ...] = (), opaques: tuple[str, ...] = ()) -> LayerScan:
    return LayerScan(entries={e.path: e for e in entries}, whiteouts=list(whiteouts), opaques=list(opaques))


def d(path: str, mode: int = 0o755) -> FileEntry:
    return FileEntry(path, "d", 0, mode)


def f(path: str, size: int, hash: int = 1, mode: int = 0o644) -> FileEntry:  # noqa: A002
    return FileEntry(path, "f", size, mode, hash=hash)


@pytest.fixture(scope="module")
def tree() -> FileTree:
    """Layer 0 the base; 1 modifies, adds, deletes; 2 rewrites a file unchanged, chmods one, empties a folder."""
    tree = FileTree()
    tree.apply_layer(
        0,
        _scan(
            d("bin"),
            f("bin/ls", 50, 10),
            f("bin/sh", 100, 11, 0o755),
            FileEntry("bin/bash", "l", 0, 0o777, link="sh"),
            d("etc"),
            f("etc/passwd", 10, 1),
            d("opt"),
            f("opt/a", 5, 5),
            d("usr"),
        ),
    )
    tree.apply_layer(
        1, _scan(f("etc/passwd", 20, 2), d("usr/local"), f("usr/local/app.py", 7, 3), whiteouts=("bin/ls",))
    )
    tree.apply_layer(2, _scan(f("etc/passwd", 20, 2), f("bin/sh", 100, 11, 0o4755), d("opt"), opaques=("opt",)))
    return tree


def rows_text(tree: FileTree, sizes: bool = False, **state) -> str:  # noqa: ANN003
    return render_rows(visible_rows(tree, TreeViewState(**state), 3), sizes=sizes)


def expected(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_first_layer_is_all_added(tree: FileTree) -> None:
    assert rows_text(tree, layer=0, sizes=True) == expected("""
        A 150 ├── bin
        A 0 │   ├── bash → sh
        A 50 │   ├── ls
        A 100 │   └── sh
        A 10 ├── etc
        A 10 │   └── passwd
        A 5 ├── opt
        A 5 │   └── a
        A 0 └── usr
    """)


def test_layer_mode_marks_the_layers_own_changes(tree: FileTree) -> None:
    assert rows_text(tree, layer=1) == expected("""
        M ├── bin
        . │   ├── bash → sh
        R │   ├── ls
        . │   └── sh
        M ├── etc
        M │   └── passwd
        . ├── opt
        . │   └── a
        M └── usr
        A     └── local
        A         └── app.py
    """)


def test_unchanged_rewrite_is_unmodified_and_chmod_is_modified(tree: FileTree) -> None:
    assert rows_text(tree, layer=2) == expected("""
        M ├── bin
        . │   ├── bash → sh
        M │   └── sh
        . ├── etc
        . │   └── passwd
        M ├── opt
        R │   └── a
        . └── usr
        .     └── local
        .         └── app.py
    """)


def test_aggregated_compares_with_the_first_layer(tree: FileTree) -> None:
    assert rows_text(tree, layer=2, aggregated=True) == expected("""
        M ├── bin
        . │   ├── bash → sh
        R │   ├── ls
        M │   └── sh
        M ├── etc
        M │   └── passwd
        M ├── opt
        R │   └── a
        M └── usr
        A     └── local
        A         └── app.py
    """)


def test_aggregated_first_layer_is_all_added_as_in_layer_mode(tree: FileTree) -> None:
    assert rows_text(tree, layer=0, aggregated=True) == rows_text(tree, layer=0)
    model = RowModel(tree, 3)
    assert set(model.codes(0, True)) - {ABSENT} == {DiffType.ADDED}
    # The layers above still compare with the first layer's contents as unmodified, whatever was computed first.
    assert model.codes(1, True) == model.codes(1, False)
    assert rows_text(tree, layer=2, aggregated=True).splitlines()[1] == ". │   ├── bash → sh"


def test_hidden_types_keep_folders_that_hold_visible_rows(tree: FileTree) -> None:
    hidden = {DiffType.UNMODIFIED, DiffType.MODIFIED}
    assert rows_text(tree, layer=1, hidden=hidden) == expected("""
        M ├── bin
        R │   └── ls
        M └── usr
        A     └── local
        A         └── app.py
    """)
    assert rows_text(tree, layer=1, only_changes=True) == rows_text(tree, layer=1, hidden={DiffType.UNMODIFIED})


def test_filter_is_a_regex_on_the_full_path(tree: FileTree) -> None:
    assert rows_text(tree, layer=1, filter=r"^/usr/.*\.py$") == expected("""
        M └── usr
        A     └── local
        A         └── app.py
    """)
    assert rows_text(tree, layer=1, filter="pass") == expected("""
        M └── etc
        M     └── passwd
    """)


def test_collapse_one_folder_and_all(tree: FileTree) -> None:
    assert rows_text(tree, layer=1, toggled={"bin", "usr/local"}) == expected("""
        M ├── bin
        M ├── etc
        M │   └── passwd
        . ├── opt
        . │   └── a
        M └── usr
        A     └── local
    """)
    assert rows_text(tree, layer=1, collapse_all=True, toggled={"usr"}) == expected("""
        M ├── bin
        M ├── etc
        . ├── opt
        M └── usr
        A     └── local
    """)


def test_sort_by_size_and_size_filter(tree: FileTree) -> None:
    assert rows_text(tree, layer=0, sort_by_size=True, sizes=True) == expected("""
        A 150 ├── bin
        A 100 │   ├── sh
        A 50 │   ├── ls
        A 0 │   └── bash → sh
        A 10 ├── etc
        A 10 │   └── passwd
        A 5 ├── opt
        A 5 │   └── a
        A 0 └── usr
    """)
    assert rows_text(tree, layer=0, min_size=50) == expected("""
        A └── bin
        A     ├── ls
        A     └── sh
    """)


def test_model_switches_layers_and_finds_rows(tree: FileTree) -> None:
    model = RowModel(tree, 3)
    state = TreeViewState(layer=1)
    rows = model.visible(state)
    app_py = tree.get("usr/local/app.py")
    assert rows.row_of(app_py) == 10
    state.layer = 0
    assert model.visible(state).row_of(app_py) is None
    assert state.filter_error() is None
    state.filter = "("
    assert state.filter_error() is not None


def test_node_positions_are_found_without_a_dict_of_every_node(tree: FileTree) -> None:
    model = RowModel(tree, 3)
    for pos, node in enumerate(model.order.nodes):
        assert model.pos_of.get(node) == pos
        assert model.pos_of[node] == pos
    assert model.pos_of.get(tree.root) is None
    stranger = FileTree()
    stranger.apply_layer(0, _scan(d("bin"), f("bin/ls", 1)))
    assert model.pos_of.get(stranger.get("bin/ls")) is None
    with pytest.raises(KeyError):
        model.pos_of[stranger.get("bin")]


def test_a_name_repeated_across_folders_and_layers_is_one_string() -> None:
    """Names repeat (``Makefile`` in every folder, a tree copied to another layer): the union tree keeps one string
    per distinct name, not one per node (~55 MB at 10^6 nodes)."""
    tree = FileTree()
    for layer, top in enumerate(("src", "copy")):
        # Built from pieces, so that each entry's name is a string of its own before the tree shares it.
        tree.apply_layer(layer, _scan(d(top), f("/".join((top, "Make" + "file")), 10), f(top + "/" + "x.c", 1)))
    names = [node.name for node in tree.walk() if node.name in ("Makefile", "x.c")]
    assert len(names) == 4
    assert len({id(name) for name in names}) == 2
