"""Provides ``analyze``: an image in, the figures dive reports (and a few it does not) out.

When the image was loaded with the cache on, the figures are cached too, in
``<cache>/figures-v<N>/``, keyed by the chain of the layers' diff_ids (each one computed by
a full scan when its layer was read, or proven for a cached scan) and the versions of the
scan and figure formats: the same layers give the same figures whatever the archive.
Opening the image again then needs neither the layers' entries nor the union tree, which
is built on first use of :attr:`Analysis.tree`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import xxhash

from dive_py.cache.scans import CACHE_VERSION, write_atomically
from dive_py.errors import DivepyError
from dive_py.model import REGULAR, Image, LayerScan
from dive_py.trees.efficiency import EfficiencyCounter, Inefficiency, layer_visits
from dive_py.trees.tree import FileTree

FIGURES_VERSION = 1
"""Bump whenever a figure is computed differently: cached figures of older versions are then never read."""

_DIFF_ID = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass
class Analysis:
    """Everything divepy knows about one image; the UI, CI rules and export read it."""

    image: Image
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
    _tree: FileTree | None = field(default=None, repr=False, compare=False)

    @property
    def layers(self):  # noqa: ANN201 - list[Layer]
        return self.image.layers

    @property
    def tree(self) -> FileTree:
        """The union tree of all layers; stacked on first use when the figures came from the cache."""
        if self._tree is None:
            self._tree = _stack(self.image)
        return self._tree


def analyze(image: Image) -> Analysis:
    """Stacks the layers and computes dive's figures plus reclaimable and duplicate bytes.

    Figures cached for the same chain of layers are used as they are (see the module).
    """
    key = figures_key(image)
    if key is not None:
        cached = _load_figures(image, key)
        if cached is not None:
            image.stacked = None
            return cached
    analysis = _analyze(image)
    if key is not None:
        _store_figures(image, key, analysis)
    return analysis


@contextmanager
def long_lived() -> Iterator[None]:
    """Pauses the cyclic GC while an image is loaded and analysed; freezes what was built when it succeeds.

    A load builds ~10^6 objects (records, nodes, entries) that live as long as the program: with the GC on,
    its passes traverse them again and again (on the 101k-file image: 7 full passes, ~0.35 s of a 2 s
    load, then more at exit). Frozen (:func:`gc.freeze`), they stay out of every later pass. For the
    command line and the explorer only: a frozen tree that is dropped is never collected (parent links).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    if enabled:
        gc.freeze()
        gc.enable()


def _stack(image: Image) -> FileTree:
    tree = FileTree()
    for layer in image.layers:
        try:
            tree.apply_layer(layer.index, layer.scan)
        except DivepyError as exc:
            raise type(exc)(f"{image.name}: layer {layer.index + 1}: {exc.message}") from None
    return tree


class Stacker:
    """Stacks layers in order into the union tree and the efficiency counter.

    The loader feeds it each layer as soon as that layer and all below it are scanned,
    while the other layers are still being scanned (see :func:`dive_py.load.image.build_image`);
    :func:`analyze` stacks whatever is left.
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
        self.counter.add_visits(*layer_visits(scan, changes))
        if changes.missing_whiteouts:
            sample = ", ".join("/" + p for p in changes.missing_whiteouts[:3])
            self.warnings.append(
                f"layer {index + 1}: {len(changes.missing_whiteouts)} whiteout(s) of paths that do not "
                f"exist below ({sample}); counted as 0 bytes"
            )
        if "" in scan.opaques and index > 0:
            self.warnings.append(f"layer {index + 1}: opaque marker at the root hides every file of the layers below")
        return True


def _analyze(image: Image) -> Analysis:
    stacker = image.stacked if isinstance(image.stacked, Stacker) else None
    image.stacked = None
    layers = image.layers
    if (
        stacker is None
        or len(stacker.scans) > len(layers)
        or any(scan is not layer.scan for scan, layer in zip(stacker.scans, layers, strict=False))
    ):
        stacker = Stacker()
    for layer in layers[len(stacker.scans) :]:
        if not stacker.add(layer.index, layer.scan):
            break
    if stacker.error is not None:
        failed = len(stacker.scans)
        raise type(stacker.error)(f"{image.name}: layer {failed + 1}: {stacker.error.message}") from None
    tree, counter = stacker.tree, stacker.counter
    inefficiencies = counter.inefficiencies()
    final_size, duplicates, shadowed = _tree_bytes(tree, len(image.layers))
    return _assemble(
        image,
        efficiency=counter.score(),
        inefficiencies=inefficiencies,
        wasted=sum(item.cumulative_bytes for item in inefficiencies),
        final=final_size,
        duplicates=duplicates,
        shadowed=shadowed,
        warnings=[*image.warnings, *stacker.warnings],
        tree=tree,
    )


def _assemble(
    image: Image,
    *,
    efficiency: float,
    inefficiencies: list[Inefficiency],
    wasted: int,
    final: int,
    duplicates: int,
    shadowed: list[int],
    warnings: list[str],
    tree: FileTree | None = None,
) -> Analysis:
    """An :class:`Analysis` from the stacked figures; sizes and ratios derive from the layers here only."""
    size = sum(layer.size_bytes for layer in image.layers)
    user_size = size - (image.layers[0].size_bytes if image.layers else 0)
    return Analysis(
        image=image,
        _tree=tree,
        efficiency=efficiency,
        size_bytes=size,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_ratio=wasted / user_size if user_size else 0.0,
        inefficiencies=inefficiencies,
        reclaimable_bytes=max(size - final, 0),
        duplicate_content_bytes=duplicates,
        final_size_bytes=final,
        layer_shadowed_bytes=shadowed,
        warnings=warnings,
    )


def _tree_bytes(tree: FileTree, layer_count: int) -> tuple[int, int, list[int]]:
    """Bytes of regular files in the final file system, bytes of those whose content repeats, and per
    layer the bytes it adds that later layers overwrite or delete.

    A node is in the final file system when its last event is a version: deleting a folder
    deletes what it holds, and a path added again under it re-adds the folder (tree.py).
    (Comprehensions over the flat node list: this runs after the last layer, while nothing else can.)
    """
    flats = [node.flat for node in tree.nodes]
    final_files = [entry for flat in flats if (entry := flat[-1]) is not None and entry.kind == REGULAR]
    final = sum(entry.size for entry in final_files)
    copies = Counter((entry.hash, entry.size) for entry in final_files if entry.size)
    duplicates = sum(size * (count - 1) for (_hash, size), count in copies.items() if count > 1)
    shadowed = [0] * layer_count
    for flat in flats:
        if len(flat) > 2:
            for i in range(1, len(flat) - 2, 2):  # every version but the last
                entry = flat[i]
                if entry is not None and entry.kind == REGULAR:
                    shadowed[flat[i - 1]] += entry.size
    return final, duplicates, shadowed


# -- the figure cache --------------------------------------------------------------------


def figures_key(image: Image) -> str | None:
    """The figure cache's key for an image, or None when it is not to be cached.

    Only images loaded with the cache on, every layer of which has a computed diff_id
    (a layer skipped by ``--ignore-errors`` has none), have one.
    """
    if image.cache_dir is None or not image.layers:
        return None
    chain = [layer.scan.diff_id for layer in image.layers]
    if not all(_DIFF_ID.fullmatch(diff_id) for diff_id in chain):
        return None
    text = f"divepy figures {FIGURES_VERSION} scans {CACHE_VERSION}\n" + "\n".join(chain)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _figures_path(image: Image, key: str) -> str:
    return os.path.join(image.cache_dir or "", f"figures-v{FIGURES_VERSION}", key[:2], key + ".json")


def _store_figures(image: Image, key: str, analysis: Analysis) -> None:
    record = {
        "key": key,
        "layers": len(image.layers),
        "efficiency": analysis.efficiency,
        "wasted": analysis.wasted_bytes,
        "inefficiencies": [[i.path, i.count, i.cumulative_bytes] for i in analysis.inefficiencies],
        "final": analysis.final_size_bytes,
        "duplicates": analysis.duplicate_content_bytes,
        "shadowed": analysis.layer_shadowed_bytes,
        "warnings": analysis.warnings[len(image.warnings) :],  # the image's own come from the load
    }
    body = json.dumps(record, separators=(",", ":")).encode("utf-8", "surrogatepass")
    write_atomically(_figures_path(image, key), body + b"\n" + xxhash.xxh3_64_hexdigest(body).encode("ascii"))


def _load_figures(image: Image, key: str) -> Analysis | None:
    """The cached figures as an :class:`Analysis` (tree not built), or None when missing or unusable."""
    try:
        with open(_figures_path(image, key), "rb") as f:
            data = f.read()
        body, _, check = data.rpartition(b"\n")
        if xxhash.xxh3_64_hexdigest(body).encode("ascii") != check:
            return None
        record = json.loads(body.decode("utf-8", "surrogatepass"))
        if record["key"] != key or record["layers"] != len(image.layers):
            return None
        shadowed = [int(value) for value in record["shadowed"]]
        if len(shadowed) != len(image.layers):
            return None
        inefficiencies = [Inefficiency(str(p), int(count), int(size)) for p, count, size in record["inefficiencies"]]
        efficiency = float(record["efficiency"])
        wasted, final, duplicates = int(record["wasted"]), int(record["final"]), int(record["duplicates"])
        warnings = [*image.warnings, *(str(w) for w in record["warnings"])]
    except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
    return _assemble(
        image,
        efficiency=efficiency,
        inefficiencies=inefficiencies,
        wasted=wasted,
        final=final,
        duplicates=duplicates,
        shadowed=shadowed,
        warnings=warnings,
    )
