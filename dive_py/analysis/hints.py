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

Versions are then gathered per kind, layer and place (:mod:`dive_py.analysis.hint_places`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dive_py.analysis.hint_fixes import fix_text
from dive_py.analysis.hint_places import MAX_PATHS, Group, places
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

_HOME = r"(?:root|home/[^/]+)"
_CACHES = re.compile(
    "|".join(
        f"(?P<{name}>{pattern})/"
        for name, pattern in (
            ("apt_lists", r"var/lib/apt/lists"),
            ("apt_archives", r"var/cache/apt"),
            ("apk", r"var/cache/apk|etc/apk/cache"),
            ("dnf", r"var/cache/(?:dnf|yum|zypp)"),
            ("pip", _HOME + r"/\.cache/pip"),
            ("npm", _HOME + r"/\.npm"),
            ("yarn", _HOME + r"/\.cache/yarn|usr/local/share/\.cache/yarn"),
            ("go", rf"(?:{_HOME}/)?go/pkg/mod|{_HOME}/\.cache/go-build"),
            ("maven", _HOME + r"/\.m2/repository|" + _HOME + r"/\.gradle/caches"),
            ("temp", r"tmp|var/tmp"),
        )
    )
)
"""Package-manager caches and temporary folders, by the root the pattern covers (paths have no leading /)."""
_CACHE_PREFIXES = ("var/", "etc/apk/", "root/", "home/", "go/", "usr/local/share/.cache/", "tmp/")
"""A cheap first test: most paths start with none of these, and skip the expression."""


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

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "layer": self.layer,
            "command": self.command,
            "bytes": self.bytes,
            "paths": list(self.paths),
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Hint:
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
        return sum(hint.bytes for hint in self.hints)

    @property
    def fixable_ratio(self) -> float:
        return self.fixable_bytes / self.image_bytes if self.image_bytes else 0.0

    def at_least(self, min_bytes: int) -> HintReport:
        """The same report without the hints under ``min_bytes`` (which must not be under this one's minimum)."""
        kept = [hint for hint in self.hints if hint.bytes >= min_bytes]
        return HintReport(kept, min_bytes, self.image_bytes)

    def of_layer(self, index: int) -> list[Hint]:
        return [hint for hint in self.hints if hint.layer == index]


class _Collector:
    """Stored versions by (kind, hint layer, reference layer): path -> bytes, plus the layer the fix names."""

    def __init__(self) -> None:
        self.groups: dict[tuple, Group] = {}

    def add(self, kind: str, layer: int, ref: int, path: str, size: int, related: int | str = -1) -> None:
        key = (kind, layer, ref)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(kind, layer, ref)
        files, others = group.files, group.related
        files[path] = files.get(path, 0) + size
        others[related] = others.get(related, 0) + size  # not Counter's +=: ~4x the cost, 10^4-10^5 calls


def find_hints(image: Image, tree: FileTree, min_bytes: int = DEFAULT_MIN_BYTES) -> HintReport:
    """Every hint of ``image`` saving at least ``min_bytes``, biggest first.

    Args:
        image: the loaded image (layer commands).
        tree: its union tree (all layers stacked).
        min_bytes: the smallest hint kept.
    """
    collect = _Collector()
    buckets, deleted = _walk(image, tree, collect)
    _classify_deleted(image, deleted, collect)
    _classify_copies(buckets, collect)
    hints = _place_hints(image, tree, collect.groups.values(), min_bytes)
    hints.sort(key=lambda hint: (-hint.bytes, hint.layer, hint.kind, hint.paths))
    return HintReport(hints, min_bytes, image.size_bytes)


def _place_hints(image: Image, tree: FileTree, groups, min_bytes: int) -> list[Hint]:  # noqa: ANN001
    """One hint per group and place, for those that save at least ``min_bytes``."""
    last = len(image.layers) - 1
    hints = []
    for group in groups:
        if sum(group.files.values()) < min_bytes:
            continue  # its places can only be smaller
        caps = _CACHES if group.kind in ("package-cache", "temp-files") else None
        for place in places(tree, group, last if group.ref < 0 else group.ref, caps):
            if place.bytes >= min_bytes:
                paths = tuple("/" + unit for unit, _size in place.units[:MAX_PATHS])
                command = image.layers[group.layer].command
                hints.append(Hint(group.kind, group.layer, command, place.bytes, paths, fix_text(group, place)))
    return hints


def _walk(image: Image, tree: FileTree, collect: _Collector) -> tuple[list[list], list]:
    """Classifies replaced versions and cache files; returns the other live files by layer and the deleted versions.

    One loop with everything bound locally: it visits every node of the image (~10^5 on a large one).
    """
    buckets: list[list] = [[] for _ in image.layers]  # final regular files outside caches, by layer
    deleted: list = []  # (layer, deleting layer, entry)
    add_deleted, add = deleted.append, collect.add
    caches, prefixes, regular = _CACHES.match, _CACHE_PREFIXES, REGULAR
    for flat in [node.flat for node in tree.nodes]:
        if len(flat) > 2:
            for i in range(1, len(flat) - 2, 2):  # every version but the last
                entry = flat[i]
                if entry is None or entry.kind != regular or not entry.size:
                    continue
                at, after = flat[i + 1], flat[i + 2]
                if after is None:
                    add_deleted((flat[i - 1], at, entry))
                elif after.kind == regular and after.hash == entry.hash and after.size == entry.size:
                    add("metadata-only", at, at, entry.path, entry.size, flat[i - 1])
                else:
                    add("overwritten-later", flat[i - 1], flat[i - 1], entry.path, entry.size, at)
        entry = flat[-1]
        if entry is None or entry.kind != regular or not entry.size:
            continue
        if entry.path.startswith(prefixes) and (found := caches(entry.path)) is not None:
            name = found.lastgroup or "temp"
            kind = "temp-files" if name == "temp" else "package-cache"
            add(kind, flat[-2], -1, entry.path, entry.size, f"{name}:{found.group(name)}")
            continue
        buckets[flat[-2]].append(entry)
    return buckets, deleted


def _classify_deleted(image: Image, deleted: list, collect: _Collector) -> None:
    """Deleted versions: ``moved`` when the deleting layer wrote the same content elsewhere, else ``deleted-later``."""
    written: dict[int, dict] = {}
    for layer, at, entry in deleted:
        index = written.get(at)
        if index is None:
            index = written[at] = _content_index(image, at)
        target = index.get((entry.hash, entry.size))
        if target is not None and target != entry.path:
            collect.add("moved", at, at, target, entry.size, layer)
        else:
            collect.add("deleted-later", layer, layer, entry.path, entry.size, at)


def _content_index(image: Image, layer: int) -> dict:
    """(hash, size) -> path of the regular files a layer writes."""
    return {
        (entry.hash, entry.size): path
        for path, entry in image.layers[layer].scan.entries.items()
        if entry.size and entry.kind == REGULAR
    }


def _classify_copies(buckets: list[list], collect: _Collector) -> None:
    """Live files whose content was already live at another path from an earlier layer: ``duplicate-content``.

    Layer by layer, so the first copy of a content is known before its copies are met (keyed by the
    64-bit content hash alone, the size compared on a match: a tuple key a file costs more).
    """
    first: dict[int, tuple[int, FileEntry]] = {}
    for layer, bucket in enumerate(buckets):
        if first:
            for entry in [entry for entry in bucket if entry.hash in first]:
                source_layer, source = first[entry.hash]
                if source.size == entry.size:
                    collect.add("duplicate-content", layer, -1, entry.path, entry.size, source_layer)
                    collect.groups["duplicate-content", layer, -1].sources[entry.path] = source.path
        for entry in bucket:
            if entry.hash not in first:
                first[entry.hash] = (layer, entry)
