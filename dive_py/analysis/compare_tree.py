"""Provides the diff view's rows: two images' final file systems as a two-layer union tree (pure, no Textual).

Layer 0 is the base image's final file system. Layer 1 writes what the comparison lists as added,
modified or moved, and deletes what it lists as removed (and the paths moved files came from).
The row engine's layer mode at layer 1 then colours exactly the comparison's changes, and every
filter, mask, collapse and sort of the single-image explorer works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dive_py.analysis.compare import Change, FileChange, ImageComparison, final_files
from dive_py.model import LayerScan
from dive_py.trees.rows import RowModel, TreeViewState
from dive_py.trees.tree import FileTree, Node

BASE_LAYER = 0
NEW_LAYER = 1


@dataclass
class Note:
    """What a row shows after its name: where a moved or copied file came from, where a moved one went."""

    text: str
    """E.g. ``← moved from /a/b``."""
    moved: bool
    """A move (drawn in its own colour) rather than a copy (drawn as added)."""


@dataclass
class DiffModel:
    """The two-layer tree of a comparison, its row model and the notes of moved and copied paths."""

    comparison: ImageComparison
    tree: FileTree
    model: RowModel
    notes: dict[Node, Note] = field(default_factory=dict)
    _index: dict[str, FileChange] | None = field(default=None, init=False, repr=False)

    def state(self, **options) -> TreeViewState:  # noqa: ANN003 - TreeViewState's fields
        """A view state showing the comparison (layer mode at the new image's layer)."""
        return TreeViewState(layer=NEW_LAYER, aggregated=False, **options)

    def change(self, node: Node) -> FileChange | None:
        """The comparison's entry for a path, or None when it is unchanged."""
        return self._changes().get("/" + node.path)

    def _changes(self) -> dict[str, FileChange]:
        if self._index is None:
            self._index = {c.path: c for c in self.comparison.changes}
        return self._index


def build_diff_model(comparison: ImageComparison) -> DiffModel:
    """Stacks the comparison as two layers and builds its row model.

    Args:
        comparison: what :func:`dive_py.analysis.compare.compare` returned.

    Returns:
        The model; its view state is :meth:`DiffModel.state`.
    """
    tree = FileTree()
    base = final_files(comparison.base)
    tree.apply_layer(BASE_LAYER, LayerScan(entries={path[1:]: base[path] for path in sorted(base)}))
    written, deleted = {}, []
    for change in comparison.changes:  # sorted by path: folders come before what they hold
        if change.change == Change.REMOVED:
            deleted.append(change.path[1:])
        elif change.new is not None and change.change != Change.UNMODIFIED:
            written[change.path[1:]] = change.new
        if change.moved_from:
            deleted.append(change.moved_from[1:])
    tree.apply_layer(NEW_LAYER, LayerScan(entries=written, whiteouts=deleted))
    notes: dict[Node, Note] = {}
    for change in comparison.changes:
        node = tree.get(change.path)
        if change.moved_from:
            notes[node] = Note(f"← moved from {change.moved_from}", True)
            source = tree.get(change.moved_from)
            if source is not None:
                notes[source] = Note(f"→ moved to {change.path}", True)
        elif change.copy_of and node is not None:
            notes[node] = Note(f"← copy of {change.copy_of}", False)
    return DiffModel(comparison, tree, RowModel(tree, 2), notes)


__all__ = ["BASE_LAYER", "NEW_LAYER", "DiffModel", "Note", "build_diff_model"]
