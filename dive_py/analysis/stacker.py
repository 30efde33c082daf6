"""Provides :class:`Stacker`: layers stacked in order into the union tree and the efficiency counter.

The loader hands it each layer as soon as that layer and all below it are scanned, while the others are
still being scanned (``load_image(..., on_layer=stacker.add)``); :func:`dive_py.analysis.analyze.analyze`
stacks whatever is left.
"""

from __future__ import annotations

from dive_py.errors import DivepyError
from dive_py.model import Image, LayerScan
from dive_py.trees.efficiency import EfficiencyCounter, layer_visits
from dive_py.trees.tree import FileTree


class Stacker:
    """Stacks layers in order into the union tree and the efficiency counter.

    Args of :meth:`add` match :data:`dive_py.load.image.LayerReady`.
    """

    def __init__(self) -> None:
        self.tree = FileTree()
        self.counter = EfficiencyCounter()
        self.warnings: list[str] = []
        self.scans: list[LayerScan] = []
        """The scans stacked so far, layer 0 first."""
        self.error: DivepyError | None = None
        """What stopped the stacking (then the tree is half-built and only good for re-raising)."""

    def add(self, index: int, scan: LayerScan) -> bool:
        """Stacks layer ``index`` (the next one); False when it failed (see :attr:`error`)."""
        if self.error is not None or index != len(self.scans):
            return False
        try:
            changes = self.tree.apply_layer(index, scan)
        except DivepyError as exc:
            self.error = exc
            return False
        self.scans.append(scan)
        self.counter.add_visits(layer_visits(index, scan, changes, self.tree))
        if changes.missing_whiteouts:
            sample = ", ".join("/" + p for p in changes.missing_whiteouts[:3])
            self.warnings.append(
                f"layer {index}: {len(changes.missing_whiteouts)} whiteout(s) of paths that do not "
                f"exist below ({sample}); counted as 0 bytes"
            )
        if changes.links_as_folders:
            sample = ", ".join("/" + p for p in changes.links_as_folders[:3])
            self.warnings.append(
                f"layer {index}: {len(changes.links_as_folders)} symlink(s) of this layer have files of the same "
                f"layer below them ({sample}); shown as folders, but extracting the layer writes through the link"
            )
        if "" in scan.opaques and index > 0:
            self.warnings.append(f"layer {index}: opaque marker at the root hides every file of the layers below")
        return True

    def fits(self, image: Image) -> bool:
        """Whether what was stacked so far is the bottom of ``image`` (the very same scans)."""
        layers = image.layers
        return len(self.scans) <= len(layers) and all(
            scan is layer.scan for scan, layer in zip(self.scans, layers, strict=False)
        )

    def finish(self, image: Image) -> None:
        """Stacks the layers of ``image`` not stacked yet.

        Raises:
            DivepyError: a layer cannot be stacked; the message names the image and the layer.
        """
        for layer in image.layers[len(self.scans) :]:
            if not self.add(layer.index, layer.scan):
                break
        if self.error is not None:
            failed = len(self.scans)
            raise type(self.error)(f"{image.name}: layer {failed}: {self.error.message}") from None


def stack_tree(image: Image) -> FileTree:
    """The union tree of all layers of ``image`` (for figures that came from the cache)."""
    tree = FileTree()
    for layer in image.layers:
        try:
            tree.apply_layer(layer.index, layer.scan)
        except DivepyError as exc:
            raise type(exc)(f"{image.name}: layer {layer.index}: {exc.message}") from None
    return tree
