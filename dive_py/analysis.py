"""Provides ``analyze``: an image in, the figures dive reports (and a few it does not) out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dive_py.errors import DivepyError
from dive_py.filetree.efficiency import EfficiencyCounter, Inefficiency, layer_visits
from dive_py.filetree.tree import FileTree
from dive_py.image.model import REGULAR, Image


@dataclass
class Analysis:
    """Everything divepy knows about one image; the UI, CI rules and export read it."""

    image: Image
    tree: FileTree
    efficiency: float
    """dive's efficiency score, 0..1."""
    size_bytes: int
    """Sum of every layer's stored file bytes (dive's image size)."""
    user_size_bytes: int
    """Size of all layers but the first (the base image)."""
    wasted_bytes: int
    user_wasted_ratio: float
    """wasted_bytes / user_size_bytes; 0 when there are no user bytes (dive gives NaN)."""
    inefficiencies: list[Inefficiency]
    reclaimable_bytes: int
    """Σ layer bytes − bytes of the final file system: what squashing would save."""
    duplicate_content_bytes: int
    """Bytes of final-file-system files whose content is already present at another path."""
    final_size_bytes: int
    """Bytes of regular files in the final file system."""
    layer_shadowed_bytes: list[int]
    """Per layer: bytes it adds that later layers overwrite or delete."""
    warnings: list[str] = field(default_factory=list)

    @property
    def layers(self):  # noqa: ANN201 - list[Layer]
        return self.image.layers


def analyze(image: Image) -> Analysis:
    """Stacks the layers and computes dive's figures plus reclaimable and duplicate bytes."""
    tree = FileTree()
    counter = EfficiencyCounter()
    warnings = list(image.warnings)
    for layer in image.layers:
        try:
            changes = tree.apply_layer(layer.index, layer.scan)
        except DivepyError as exc:
            raise type(exc)(f"{image.name}: layer {layer.index + 1}: {exc.message}") from None
        counter.add_visits(*layer_visits(layer.scan, changes))
        if changes.missing_whiteouts:
            sample = ", ".join("/" + p for p in changes.missing_whiteouts[:3])
            warnings.append(
                f"layer {layer.index + 1}: {len(changes.missing_whiteouts)} whiteout(s) of paths that do not "
                f"exist below ({sample}); counted as 0 bytes"
            )
        if "" in layer.scan.opaques and layer.index > 0:
            warnings.append(f"layer {layer.index + 1}: opaque marker at the root hides every file of the layers below")
    size = sum(layer.size_bytes for layer in image.layers)
    user_size = size - (image.layers[0].size_bytes if image.layers else 0)
    inefficiencies = counter.inefficiencies()
    wasted = sum(item.cumulative_bytes for item in inefficiencies)
    final_size, duplicates = _final_fs_bytes(tree, len(image.layers) - 1)
    return Analysis(
        image=image,
        tree=tree,
        efficiency=counter.score(),
        size_bytes=size,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_ratio=wasted / user_size if user_size else 0.0,
        inefficiencies=inefficiencies,
        reclaimable_bytes=max(size - final_size, 0),
        duplicate_content_bytes=duplicates,
        final_size_bytes=final_size,
        layer_shadowed_bytes=_shadowed_bytes(tree, len(image.layers)),
        warnings=warnings,
    )


def _final_fs_bytes(tree: FileTree, top: int) -> tuple[int, int]:
    """Bytes of regular files at the top layer, and of those whose content repeats."""
    if top < 0:
        return 0, 0
    total = 0
    seen: dict[tuple[int, int], int] = defaultdict(int)
    for _node, entry in tree.live_nodes(top):
        if entry.kind == REGULAR:
            total += entry.size
            if entry.size:
                seen[(entry.hash, entry.size)] += 1
    duplicates = sum(size * (count - 1) for (_hash, size), count in seen.items() if count > 1)
    return total, duplicates


def _shadowed_bytes(tree: FileTree, layer_count: int) -> list[int]:
    shadowed = [0] * layer_count
    stack = [tree.root]  # every node, in no order: the sums do not need walk()'s sorted children
    while stack:
        node = stack.pop()
        if node.children:
            stack.extend(node.children.values())
        events = node.events
        for i in range(len(events) - 1):
            entry = events[i][1]
            if entry is not None and entry.kind == REGULAR:
                shadowed[events[i][0]] += entry.size
    return shadowed
