"""Provides the diff view's rows: two images' final file systems as a two-layer union tree (pure, no Textual).

Layer 0 is the base image's final file system. Layer 1 writes what the comparison lists as added,
modified or moved, and deletes what it lists as removed (and the paths moved files came from).
The row engine's layer mode at layer 1 then colours exactly the comparison's changes, and every
filter, mask, collapse and sort of the single-image explorer works unchanged.

What changed is the analysis' to say (:func:`dive_py.analysis.compare.build_diff_model` hands the comparison
down as :class:`TwoLayers`); this module only stacks it, so the trees never import the analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from dive_py.model import FileEntry, LayerScan
from dive_py.trees.rows import RowModel, TreeViewState
from dive_py.trees.tree import FileTree, Node

BASE_LAYER = 0
NEW_LAYER = 1

T = TypeVar("T")
C = TypeVar("C")


@dataclass(frozen=True)
class TwoLayers:
    """A comparison as the two layers to stack, paths without their leading slash unless said otherwise."""

    base: dict[str, FileEntry]
    """The base image's final file system, in path order."""
    written: dict[str, FileEntry]
    """What the new image added, modified or moved there."""
    deleted: list[str]
    """What it removed, and the paths moved files came from."""
    links: list[tuple[str, str, bool]] = field(default_factory=list)
    """``(path, other, moved)`` in the comparison's order, absolute paths: a file moved from ``other``, or
    (not ``moved``) a copy of ``other``."""


@dataclass
class Note:
    """What a row shows after its name: where a moved or copied file came from, where a moved one went."""

    text: str
    """E.g. ``← moved from /a/b``."""
    moved: bool
    """A move (drawn in its own colour) rather than a copy (drawn as added)."""


@dataclass
class DiffModel(Generic[T, C]):
    """The two-layer tree of a comparison, its row model and the notes of moved and copied paths."""

    comparison: T
    tree: FileTree
    model: RowModel
    changes: Mapping[str, C]
    """The comparison's entries by absolute path (unchanged paths have none)."""
    notes: dict[Node, Note] = field(default_factory=dict)

    def state(self, **options: Any) -> TreeViewState:  # noqa: ANN401 - TreeViewState's fields
        """A view state showing the comparison (layer mode at the new image's layer)."""
        return TreeViewState(layer=NEW_LAYER, aggregated=False, **options)

    def change(self, node: Node) -> C | None:
        """The comparison's entry for a path, or None when it is unchanged."""
        return self.changes.get("/" + node.path)


def stack_diff(comparison: T, layers: TwoLayers, changes: Mapping[str, C]) -> DiffModel[T, C]:
    """Stacks a comparison as two layers and builds its row model.

    Args:
        comparison: what the view shows beside the tree (kept on the model).
        layers: the comparison as two layers.
        changes: the comparison's entries by absolute path, for :meth:`DiffModel.change`.

    Returns:
        The model; its view state is :meth:`DiffModel.state`.
    """
    tree = FileTree()
    tree.apply_layer(BASE_LAYER, LayerScan(entries=layers.base))
    tree.apply_layer(NEW_LAYER, LayerScan(entries=layers.written, whiteouts=layers.deleted))
    notes: dict[Node, Note] = {}
    for path, other, moved in layers.links:
        node = tree.get(path)
        if moved:
            if node is not None:
                notes[node] = Note(f"← moved from {other}", True)
            source = tree.get(other)
            if source is not None:
                notes[source] = Note(f"→ moved to {path}", True)
        elif node is not None:
            notes[node] = Note(f"← copy of {other}", False)
    return DiffModel(comparison, tree, RowModel(tree, 2), changes, notes)


__all__ = ["BASE_LAYER", "NEW_LAYER", "DiffModel", "Note", "TwoLayers", "stack_diff"]
