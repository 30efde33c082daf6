"""Provides :func:`walk_tree`: the one pass over the union tree that both the figures and the hints read,
and :func:`classify`, which sorts out what the hints need from it.

:func:`dive_py.analysis.analyze.analyze` needs the bytes of the final file system, of its repeated
content and of each layer's replaced versions; :func:`dive_py.analysis.hints.find_hints` needs every
replaced version classified and the final files whose content repeats. The figures' pass keeps the nodes
with several versions and the final files (lists it makes anyway) and the repeated contents (from the
counts it makes anyway), so the hints start from those, later and only when asked, instead of visiting
every node again (~10^5 on a large image). The explorer's first paint pays only for keeping them.

The classification by :func:`classify` (see :mod:`dive_py.analysis.hints` for the kinds):

- a version a later layer replaces with the same content: ``metadata-only``, else ``overwritten-later``;
- a version a later layer deletes: kept in :attr:`TreeWalk.deleted` (``moved`` or ``deleted-later``,
  told apart later from the deleting layer's own files);
- a final file under a package cache or temporary folder: ``package-cache`` or ``temp-files``;
- a final file whose content is final at another path too: kept in :attr:`TreeWalk.repeats`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dive_py.analysis.hint_places import Group
from dive_py.model import REGULAR, FileEntry
from dive_py.trees.tree import FileTree

_HOME = r"(?:root|home/[^/]+)"
CACHES = re.compile(
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
CACHE_PREFIXES = ("var/", "etc/apk/", "root/", "home/", "go/", "usr/local/share/.cache/", "tmp/")
"""A cheap first test: most paths start with none of these, and skip the expression."""


class Collector:
    """Stored versions by (kind, hint layer, reference layer): path -> bytes, plus the layer the fix names."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, int, int], Group] = {}

    def group(self, kind: str, layer: int, ref: int) -> Group:
        """The group of (kind, hint layer, reference layer), made on first use."""
        key = (kind, layer, ref)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(kind, layer, ref)
        return group

    def add(self, kind: str, layer: int, ref: int, path: str, size: int, related: int | str = -1) -> None:
        """Counts ``size`` bytes of ``path`` in its group, and against ``related`` (the layer or path the fix names)."""
        group = self.group(kind, layer, ref)
        files, others = group.files, group.related
        files[path] = files.get(path, 0) + size
        others[related] = others.get(related, 0) + size  # not Counter's +=: ~4x the cost, 10^4-10^5 calls


@dataclass
class TreeWalk:
    """What one pass over the union tree found: the figures' sums and the hints' raw material."""

    final_bytes: int = 0
    """Bytes of regular files in the final file system."""
    duplicate_bytes: int = 0
    """Bytes of final files whose content (hash and size) is already final at another path."""
    shadowed: list[int] = field(default_factory=list)
    """Per layer: bytes it adds that later layers overwrite or delete."""
    several: list[tuple[Any, ...]] = field(default_factory=list)
    """The events (``node.flat``) of the nodes with more than one version."""
    finals: list[tuple[Any, ...]] = field(default_factory=list)
    """The events of the final regular files of some bytes."""
    repeated: set[int] = field(default_factory=set)
    """The content hashes final at more than one path."""


@dataclass
class HintWalk:
    """The hints' raw material, sorted out of a :class:`TreeWalk` by :func:`classify`."""

    collect: Collector = field(default_factory=Collector)
    """Replaced versions and cache files, classified."""
    deleted: list[tuple[int, int, FileEntry]] = field(default_factory=list)
    """(layer, deleting layer, entry) of each deleted version of some bytes."""
    repeats: list[tuple[Any, ...]] = field(default_factory=list)
    """The events of the final files whose content hash is final at more than one path, in node order,
    but for caches' files (their hints are ``package-cache`` and ``temp-files``, never copies)."""


def walk_tree(tree: FileTree, layer_count: int) -> TreeWalk:
    """Visits every node once, for the figures: see the module's docstring.

    Comprehensions over the flat node list (this runs after the last layer, before the explorer's first
    paint); the lists the hints start from are what the figures need anyway, kept.
    """
    walk = TreeWalk(shadowed=[0] * layer_count)
    flats = [node.flat for node in tree.nodes]
    walk.finals = finals = [flat for flat in flats if (e := flat[-1]) is not None and e.kind == REGULAR and e.size]
    walk.final_bytes = sum(flat[-1].size for flat in finals)
    copies = Counter((entry.hash, entry.size) for flat in finals if (entry := flat[-1]))
    walk.duplicate_bytes = sum(size * (count - 1) for (_hash, size), count in copies.items() if count > 1)
    walk.repeated = {content_hash for (content_hash, _size), count in copies.items() if count > 1}
    walk.several = several = [flat for flat in flats if len(flat) > 2]
    shadowed, regular = walk.shadowed, REGULAR
    for flat in several:
        for i in range(1, len(flat) - 2, 2):  # every version but the last
            entry = flat[i]
            if entry is not None and entry.kind == regular:
                shadowed[flat[i - 1]] += entry.size
    return walk


def classify(walk: TreeWalk) -> HintWalk:
    """The hints' raw material from the figures' pass: no second walk over every node."""
    hint_walk = HintWalk()
    _classify_versions(hint_walk, walk.several)
    cached = _classify_caches(hint_walk, [flat for flat in walk.finals if flat[-1].path.startswith(CACHE_PREFIXES)])
    if walk.repeated:
        repeated = walk.repeated
        repeats = [flat for flat in walk.finals if flat[-1].hash in repeated]
        hint_walk.repeats = [flat for flat in repeats if flat[-1].path not in cached] if cached else repeats
    return hint_walk


def _classify_versions(walk: HintWalk, flats: list[tuple[Any, ...]]) -> None:
    """Every version (of some bytes) but the last of the nodes with several."""
    add_deleted, add, regular = walk.deleted.append, walk.collect.add, REGULAR
    for flat in flats:
        for i in range(1, len(flat) - 2, 2):
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


def _classify_caches(walk: HintWalk, flats: list[tuple[Any, ...]]) -> set[str]:
    """Final files under package caches and temporary folders (``flats`` passed the cheap prefix test): their
    paths are returned."""
    add, caches = walk.collect.add, CACHES.match
    cached = set()
    for flat in flats:
        entry = flat[-1]
        if (found := caches(entry.path)) is not None:
            name = found.lastgroup or "temp"
            kind = "temp-files" if name == "temp" else "package-cache"
            add(kind, flat[-2], -1, entry.path, entry.size, f"{name}:{found.group(name)}")
            cached.add(entry.path)
    return cached
