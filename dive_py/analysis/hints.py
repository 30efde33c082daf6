"""Provides :func:`find_hints`: what in a build wastes space, sized, tied to a layer and its command, with the fix.

One walk over the union tree's nodes classifies every stored version of a regular file at most once, so
the hints' bytes never count a byte twice and :attr:`HintReport.fixable_bytes` is their plain sum:

- a version a later layer replaces with the same content: ``metadata-only`` (a ``chmod -R``, ``chown -R``
  or ``touch`` stored it again), else ``overwritten-later``;
- a version a later layer deletes: ``moved`` when that layer wrote the same content at another path,
  else ``deleted-later``;
- a version in the final file system: ``package-cache`` or ``temp-files`` by its path, else
  ``duplicate-content`` when the same content was already live at another path from an earlier layer
  (copies within one layer are what package installs make: a file installed and kept is never a hint).

Versions are then gathered per kind, layer and place (:mod:`dive_py.analysis.hint_places`), and the places of
one layer, kind and fix make one hint: one instruction's one mistake is one line, its biggest paths under it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any

from dive_py.analysis.hint_fixes import fix_text
from dive_py.analysis.hint_places import MAX_PATHS, Group, places
from dive_py.analysis.tree_walk import CACHES, Collector, TreeWalk, classify, walk_tree
from dive_py.model import REGULAR, FileEntry, Image
from dive_py.trees.tree import FileTree

DEFAULT_MIN_BYTES = 64_000
"""Hints that would save less than this are left out (``--hint-min-size``, ``hints: minSize`` in .dive-ci)."""

KINDS = (
    "deleted-later",
    "overwritten-later",
    "metadata-only",
    "moved",
    "duplicate-content",
    "package-cache",
    "temp-files",
)


@dataclass(frozen=True)
class Hint:
    """One waste pattern at one place: what a fix of one layer's command would save."""

    kind: str
    layer: int
    """Index of the layer whose command should change."""
    command: str
    bytes: int
    """Bytes the fix would save, each stored byte counted in one hint at most."""
    paths: tuple[str, ...]
    """Absolute in-image paths: the folders the pattern covers as a whole, or files (at most 20)."""
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """The hint as JSON (the figures cache's record and ``--json``)."""
        return {
            "kind": self.kind,
            "layer": self.layer,
            "command": self.command,
            "bytes": self.bytes,
            "paths": list(self.paths),
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hint:
        """The hint :meth:`to_dict` wrote."""
        return cls(
            str(data["kind"]),
            int(data["layer"]),
            str(data["command"]),
            int(data["bytes"]),
            tuple(str(p) for p in data["paths"]),
            str(data["fix"]),
        )


@dataclass
class HintReport:
    """The hints of an image at or above a minimum, biggest first, and their total."""

    hints: list[Hint] = field(default_factory=list)
    min_bytes: int = DEFAULT_MIN_BYTES
    image_bytes: int = 0

    @property
    def fixable_bytes(self) -> int:
        """The hints' bytes: no byte is counted twice, so their plain sum."""
        return sum(hint.bytes for hint in self.hints)

    @property
    def fixable_ratio(self) -> float:
        """The fixable bytes over the image's (0 for an empty image)."""
        return self.fixable_bytes / self.image_bytes if self.image_bytes else 0.0

    def at_least(self, min_bytes: int) -> HintReport:
        """The same report without the hints under ``min_bytes`` (which must not be under this one's minimum)."""
        kept = [hint for hint in self.hints if hint.bytes >= min_bytes]
        return HintReport(kept, min_bytes, self.image_bytes)

    def of_layer(self, index: int) -> list[Hint]:
        """The hints tied to layer ``index``."""
        return [hint for hint in self.hints if hint.layer == index]


def find_hints(
    image: Image, tree: FileTree, min_bytes: int = DEFAULT_MIN_BYTES, walk: TreeWalk | None = None
) -> HintReport:
    """Every hint of ``image`` saving at least ``min_bytes``, biggest first.

    Args:
        image: the loaded image (layer commands).
        tree: its union tree (all layers stacked).
        min_bytes: the smallest hint kept.
        walk: the pass over ``tree`` that the analysis made (:func:`walk_tree`), if it is at hand (it is
            only read).
    """
    found = classify(walk if walk is not None else walk_tree(tree, len(image.layers)))
    collect = found.collect
    _classify_deleted(image, found.deleted, collect)
    _classify_copies(found.repeats, collect)
    hints = _place_hints(image, tree, collect.groups.values(), min_bytes)
    hints.sort(key=lambda hint: (-hint.bytes, hint.layer, hint.kind, hint.paths))
    return HintReport(hints, min_bytes, image.size_bytes)


def _place_hints(image: Image, tree: FileTree, groups: Iterable[Group], min_bytes: int) -> list[Hint]:
    """One hint per layer, kind and fix (so per instruction: a ``chmod -R`` over folders of mixed modes is one
    hint, not one per folder), for those that save at least ``min_bytes``; its paths are the biggest units."""
    last = len(image.layers) - 1
    merged: dict[tuple[int, str, str], list[Any]] = {}  # [bytes, units]: summed and extended in place
    for group in groups:
        if sum(group.files.values()) < min_bytes:
            continue  # its places can only be smaller
        caps = CACHES if group.kind in ("package-cache", "temp-files") else None
        for place in places(tree, group, last if group.ref < 0 else group.ref, caps):
            key = (group.layer, group.kind, fix_text(group, place))
            found = merged.setdefault(key, [0, []])
            found[0] += place.bytes
            found[1].extend(place.units[:MAX_PATHS])  # each place's units come biggest first
    hints = []
    for (layer, kind, fix), (size, units) in merged.items():
        if size >= min_bytes:
            units.sort(key=lambda item: (-item[1], item[0]))
            paths = tuple("/" + unit for unit, _size in units[:MAX_PATHS])
            hints.append(Hint(kind, layer, image.layers[layer].command, size, paths, fix))
    return hints


def _classify_deleted(image: Image, deleted: list[tuple[int, int, FileEntry]], collect: Collector) -> None:
    """Deleted versions: ``moved`` when the deleting layer wrote the same content elsewhere, else ``deleted-later``."""
    written: dict[int, dict[tuple[int, int], str]] = {}
    for layer, at, entry in deleted:
        index = written.get(at)
        if index is None:
            index = written[at] = _content_index(image, at)
        target = index.get((entry.hash, entry.size))
        if target is not None and target != entry.path:
            collect.add("moved", at, at, target, entry.size, layer)
        else:
            collect.add("deleted-later", layer, layer, entry.path, entry.size, at)


def _content_index(image: Image, layer: int) -> dict[tuple[int, int], str]:
    """(hash, size) -> path of the regular files a layer writes."""
    return {
        (entry.hash, entry.size): path
        for path, entry in image.layers[layer].scan.entries.items()
        if entry.size and entry.kind == REGULAR
    }


def _classify_copies(repeats: list[tuple[Any, ...]], collect: Collector) -> None:
    """Live files whose content was already live at another path from an earlier layer: ``duplicate-content``.

    ``repeats`` holds the final files outside caches whose content hash repeats (:attr:`HintWalk.repeats`).
    Layer by layer (a stable sort keeps node order within a layer), the first copy of a content is its
    source. Keyed by the 64-bit content hash alone, the size compared on a match. ~10^6 repeats on a
    1M-entry image of copied trees: the columns are taken with ``map`` (C loops, each object read once per
    column) and files are positions in them, where comprehensions building a tuple per file cost ~1 s.
    """
    flats = sorted(repeats, key=itemgetter(-2))
    entries = list(map(itemgetter(-1), flats))
    hashes = list(map(attrgetter("hash"), entries))
    sizes = list(map(attrgetter("size"), entries))
    count = len(flats)
    first: dict[int, int] = {}
    source = list(map(first.setdefault, hashes, range(count)))  # the position of each content's first copy
    layer_key, start = itemgetter(-2), 0
    while start < count:
        layer = flats[start][-2]
        end = bisect_right(flats, layer, lo=start, key=layer_key)
        # A source before this layer's run is from an earlier layer.
        run = zip(range(start, end), source[start:end], strict=True)
        copies = [at for at, src in run if src < start and sizes[src] == sizes[at]]
        start = end
        if copies:
            _add_copies(collect.group("duplicate-content", layer, -1), copies, flats, source, sizes)


def _add_copies(
    group: Group, copies: list[int], flats: list[tuple[Any, ...]], source: list[int], sizes: list[int]
) -> None:
    """Adds one layer's copies (positions in the columns) to its group, in file order."""
    paths = list(map(attrgetter("path"), map(itemgetter(-1), map(flats.__getitem__, copies))))
    copy_sizes = list(map(sizes.__getitem__, copies))
    sources = list(map(flats.__getitem__, map(source.__getitem__, copies)))
    group.files.update(zip(paths, copy_sizes, strict=True))
    group.sources.update(zip(paths, map(attrgetter("path"), map(itemgetter(-1), sources)), strict=True))
    related = group.related
    # In file order: ties in the fix's "most bytes from" stay as they were.
    for source_layer, run in groupby(zip(map(itemgetter(-2), sources), copy_sizes, strict=True), key=itemgetter(0)):
        related[source_layer] = related.get(source_layer, 0) + sum(map(itemgetter(1), run))
