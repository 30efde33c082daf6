"""The trees' C loops check what they are handed (``dive_py/trees/_stack.c``, ``_columns.c``).

They read slots at offsets found in a class and columns as raw memory, so an object of another class or a
column of another type must raise TypeError (ValueError for lengths) before anything is read: a folder of
the wrong class used to be written past its end, and ``add_up(array('d'), ...)`` added doubles as integers.
scripts/asan.sh runs this file under AddressSanitizer, which reports any read or write out of bounds.
"""

from __future__ import annotations

import ctypes
import sys
from array import array

import pytest

from dive_py.model import DIRECTORY, FileEntry
from dive_py.trees import tree as tree_module
from dive_py.trees.tree import FileTree, LayerChanges, Node

try:
    from dive_py.trees import _columns, _stack
except ImportError:  # pragma: no cover - depends on the build
    _columns = _stack = None

pytestmark = pytest.mark.skipif(_stack is None or _columns is None, reason="the C loops are not built")


class Small:
    """A slots class smaller than Node: its ``children`` offset would be past the object's end."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = "small"


class Stray(FileTree):
    """A tree whose implied folders are not nodes."""

    def __init__(self, folder: object) -> None:
        super().__init__()
        self.folder = folder

    def _ensure_dirs(self, path: str, layer: int) -> object:
        return self.folder


def _stack_into(tree: FileTree, written: dict[str, FileEntry]) -> LayerChanges:
    changes = LayerChanges()
    _stack.stack_entries(tree, 0, written, changes, DIRECTORY)
    return changes


@pytest.mark.parametrize("folder", [Small(), object(), "a/b", 7], ids=["smaller-slots", "object", "str", "int"])
def test_a_folder_of_another_class_is_a_type_error(folder: object) -> None:
    with pytest.raises(TypeError, match="a folder node is"):
        _stack_into(Stray(folder), {"a/b/c": FileEntry("a/b/c", "f", 1)})


def test_a_folder_listed_by_the_layer_that_is_not_a_node_is_a_type_error() -> None:
    tree = FileTree()
    tree.root.children = {"a": Small()}  # the layer's folder entry revisits it, then files are stacked below it

    class Revisiting(FileTree):
        def _revisit(self, node: object, layer: int, entry: FileEntry) -> bool:
            return False

    revisiting = Revisiting()
    revisiting.root.children = tree.root.children
    written = {"a": FileEntry("a", DIRECTORY), "a/f": FileEntry("a/f", "f", 1)}
    with pytest.raises(TypeError, match="a folder node is Small"):
        _stack_into(revisiting, written)


def test_children_that_are_not_a_dict_are_a_type_error() -> None:
    tree = FileTree()
    tree.root.children = ["not", "a", "dict"]
    with pytest.raises(TypeError, match="children must be a dict or None"):
        _stack_into(tree, {"f": FileEntry("f", "f", 1)})


def test_a_root_of_another_class_is_a_type_error() -> None:
    tree = FileTree()
    tree.root = Small()
    with pytest.raises(TypeError, match="has no slot|slots"):
        _stack_into(tree, {"f": FileEntry("f", "f", 1)})


def test_a_subclass_of_node_is_a_folder_and_the_tree_stacks() -> None:
    class Folder(Node):
        __slots__ = ()

    tree = Stray(Folder("a", None))
    tree.folder.parent = tree.root
    _stack_into(tree, {"a/f": FileEntry("a/f", "f", 3)})
    assert list(tree.folder.children) == ["f"] and tree.folder.children["f"].flat[1].size == 3


def test_the_tree_stacks_the_same_after_the_checks() -> None:
    if tree_module.c_stack_entries is None:
        pytest.skip("DIVEPY_PURE_PYTHON is set")
    tree = FileTree()
    changes = _stack_into(
        tree, {"d": FileEntry("d", DIRECTORY), "d/f": FileEntry("d/f", "f", 2), "g/h": FileEntry("g/h", "f", 1)}
    )
    assert sorted(node.path for node in tree.walk()) == ["d", "d/f", "g", "g/h"]
    assert changes.parents == {"d", "g"} and changes.folders == ["d"]  # as the Python loop notes them


# -- the columns' passes ---------------------------------------------------------------------------------------


def test_add_up_takes_int64_values_and_int32_parents_only() -> None:
    with pytest.raises(TypeError, match="values: a column of 64-bit integers, not format 'd'"):
        _columns.add_up(array("d", [1.0, 2.0]), array("i", [-1, 0]))
    with pytest.raises(TypeError, match="values: a column of 64-bit integers, not format 'Q'"):
        _columns.add_up(array("Q", [1, 2]), array("i", [-1, 0]))
    with pytest.raises(TypeError, match="parent: a column of 32-bit integers, not format 'f'"):
        _columns.add_up(array("q", [1, 2]), array("f", [-1, 0]))
    with pytest.raises(TypeError, match="parent: a column of 32-bit integers, not format 'I'"):
        _columns.add_up(array("q", [1, 2]), array("I", [0, 0]))
    with pytest.raises(TypeError, match="kept: a column of bytes"):
        _columns.add_up(array("q", [1, 2]), array("i", [-1, 0]), array("h", [1, 1]))
    with pytest.raises(BufferError, match="not writable"):
        _columns.add_up(array("q", [1, 2]).tobytes(), array("i", [-1, 0]))
    with pytest.raises(BufferError, match="not C-contiguous"):
        _columns.add_up(memoryview(array("q", range(4)))[::2], array("i", [-1, 0]))
    with pytest.raises(TypeError, match="64-bit integers"):  # two dimensions
        _columns.add_up(memoryview(bytearray(16)).cast("q", (1, 2)), array("i", [-1, 0]))
    with pytest.raises(TypeError):
        _columns.add_up([1, 2], array("i", [-1, 0]))


def test_add_up_takes_int64_in_any_spelling() -> None:
    """Native or standard sizes in the machine's byte order: array's 'q', ctypes' '<q', a native 8-byte 'l'."""
    columns = [array("q", [1, 2]), memoryview((ctypes.c_int64 * 2)(1, 2))]
    if array("l").itemsize == 8:
        columns.append(array("l", [1, 2]))
    for values in columns:
        _columns.add_up(values, memoryview((ctypes.c_int32 * 2)(-1, 0)))
        assert bytes(values) == array("q", [3, 2]).tobytes()
    other_order = ctypes.c_int64.__ctype_be__ if sys.byteorder == "little" else ctypes.c_int64.__ctype_le__
    swapped = memoryview((other_order * 2)(1, 2))
    assert swapped.format in (">q", "<q")
    with pytest.raises(TypeError, match="64-bit integers"):  # read in this byte order, they would be nonsense
        _columns.add_up(swapped, array("i", [-1, 0]))


def test_add_up_refuses_a_sum_past_64_bits() -> None:
    for big in (2**62, -(2**62)):
        with pytest.raises(OverflowError, match="does not fit in 64 bits"):
            _columns.add_up(array("q", [big, big, big]), array("i", [-1, 0, 0]))
    values = array("q", [2**62, 2**62 - 1, 2**62])
    _columns.add_up(values, array("i", [-1, 0, -1]))  # the largest sum that fits
    assert values.tolist() == [2**63 - 1, 2**62 - 1, 2**62]


@pytest.mark.parametrize(
    ("name", "args", "match"),
    [
        ("scatter", (bytearray(2), array("q", [0]), b"\1"), "positions: a column of 32-bit"),
        ("scatter", (array("d", [0.0]), array("i", [0]), b"\1"), "target: a column of bytes"),
        ("scatter", (bytearray(2), array("i", [0]), array("i", [1])), "values: a column of bytes"),
        ("gather", (b"\1\0", array("d", [0.0])), "ids: a column of 32-bit"),
        ("gather", (array("H", [1, 0]), array("i", [0])), "table: a column of bytes"),
        ("set_positions", (array("i", [1, 0]),), "mask: a column of bytes"),
        ("spread_down", (bytearray(2), array("f", [-1, 0])), "spread_down: a column of 32-bit"),
        ("folders_above", (bytearray(2), array("i", [-1, 0]), array("q", [1, 1])), "codes: a column of bytes"),
        ("preorder", ((),), "a list of nodes"),
        ("layer_changes", ((), 1), r"layer_changes\(nodes, count\)"),
    ],
)
def test_each_pass_refuses_a_column_of_another_type(name: str, args: tuple, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        getattr(_columns, name)(*args)


def test_the_walks_refuse_nodes_that_are_not_what_they_should_be() -> None:
    with pytest.raises(AttributeError):
        _columns.preorder([object()])
    with pytest.raises(TypeError, match="flat must be a tuple"):
        _columns.layer_changes([Node("a", None, [0, None])], 1)
    with pytest.raises(TypeError):
        _columns.layer_changes([Node("a", None, ("zero", None))], 1)
    with pytest.raises(ValueError, match="must not be negative"):
        _columns.layer_changes([], -1)
    with pytest.raises(MemoryError):
        _columns.layer_changes([], 2**62)  # a layer count no allocation can hold


def test_a_node_whose_children_drop_it_mid_walk_is_kept_alive() -> None:
    """``children`` read through a property may empty the dict holding the node being walked."""

    class Dropping:
        def __init__(self, holder: dict) -> None:
            self.holder = holder

        @property
        def children(self) -> dict | None:
            self.holder.clear()
            return None

    holder: dict = {}
    holder["x"] = Dropping(holder)
    holder["y"] = Dropping(holder)
    top = Node("top", None)
    top.children = holder
    nodes, parent, depth = _columns.preorder([top])
    assert [type(node).__name__ for node in nodes] == ["Node", "Dropping", "Dropping"]
    assert array("i", parent).tolist() == [-1, 0, 0] and array("H", depth).tolist() == [0, 1, 1]
    assert holder == {}
