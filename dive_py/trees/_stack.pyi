"""Types of the optional C loop in ``_stack.c`` (see its docstring); mypy reads this, Python never does."""

from dive_py.model import FileEntry
from dive_py.trees.tree import FileTree, LayerChanges

def stack_entries(
    tree: FileTree, layer: int, written: dict[str, FileEntry], changes: LayerChanges, directory: str
) -> None: ...
