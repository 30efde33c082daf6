"""Provides ``compare``: two analysed images in, what changed between their final file systems out.

The comparison is of the stacked file system at each image's top layer, path by path; layers
are only used to name the shared prefix. Counts are of files and links, never of folders
(a folder "changes" whenever anything below it does, so counting it would double-count).
"""

from __future__ import annotations

import enum
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dive_py.analysis.analyze import Analysis
from dive_py.model import DIRECTORY, REGULAR, FileEntry, Layer

if TYPE_CHECKING:
    from dive_py.trees.diff_rows import DiffModel


class Change(enum.StrEnum):
    """How one path differs from the base image to the new one."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"
    MOVED = "moved"
    """Content-identical to a base file whose path is gone in the new image."""
    UNMODIFIED = "unmodified"


ATTRIBUTES = ("kind", "hash", "size", "mode", "uid", "gid", "link")
"""What makes two versions of a path differ (dive's rule, plus link target and size)."""


@dataclass(slots=True)
class FileChange:
    """One changed path; ``base``/``new`` are the versions on each side (None where absent)."""

    path: str
    """Absolute path, e.g. ``/usr/local/tomcat/webapps/ROOT/index.jsp``."""
    change: Change
    base: FileEntry | None
    new: FileEntry | None
    moved_from: str | None = None
    """For ``MOVED``: the base path the content came from."""
    copy_of: str | None = None
    """For an added file: a base file with the same content (hash and size)."""
    changed: tuple[str, ...] = ()
    """For ``MODIFIED``: which of :data:`ATTRIBUTES` differ."""

    @property
    def size_bytes(self) -> int | None:
        """The path's size in the new image, or None when it is not there."""
        return None if self.new is None else self.new.size

    @property
    def base_size_bytes(self) -> int | None:
        """The path's size in the base image, or None when it is not there."""
        return None if self.base is None else self.base.size

    @property
    def delta_bytes(self) -> int:
        """New size minus base size (an absent side counts 0)."""
        return (self.size_bytes or 0) - (self.base_size_bytes or 0)

    @property
    def is_dir(self) -> bool:
        """True when neither side is anything but a folder (such changes are listed, never counted)."""
        return all(e is None or e.kind == DIRECTORY for e in (self.base, self.new))


@dataclass(slots=True)
class FolderSize:
    """Bytes of regular files under one top-level folder, on each side."""

    path: str
    base_size_bytes: int
    size_bytes: int

    @property
    def delta_bytes(self) -> int:
        """New size minus base size."""
        return self.size_bytes - self.base_size_bytes


@dataclass
class ImageComparison:
    """What changed from ``base`` to ``new``; the CLI, the reports and the diff view read it."""

    base: Analysis
    new: Analysis
    shared_layers: int
    """Length of the common prefix of layers (same ``diff_id``)."""
    changes: list[FileChange]
    """Every changed path, folders included, sorted by path."""
    top_level: list[FolderSize] = field(default_factory=list)
    """Size per top-level folder (``/`` holds the files at the root), sorted by path."""

    @property
    def files(self) -> list[FileChange]:
        """The changes of files and links (what the counts count)."""
        return [c for c in self.changes if not c.is_dir]

    def of(self, change: Change) -> list[FileChange]:
        """The changed files (not folders) of one kind."""
        return [c for c in self.changes if c.change == change and not c.is_dir]

    @property
    def added_bytes(self) -> int:
        """The bytes of the added files."""
        return sum(c.size_bytes or 0 for c in self.of(Change.ADDED))

    @property
    def removed_bytes(self) -> int:
        """The bytes of the removed files."""
        return sum(c.base_size_bytes or 0 for c in self.of(Change.REMOVED))

    @property
    def size_delta_bytes(self) -> int:
        """Change of the final file system's bytes (regular files): added − removed ± modified."""
        return self.new.walk().final_size_bytes - self.base.walk().final_size_bytes

    @property
    def image_size_delta_bytes(self) -> int:
        """Change of the image size (sum of layer bytes, dive's figure)."""
        return self.new.size_bytes - self.base.size_bytes

    @property
    def copies(self) -> list[FileChange]:
        """The added files with the content of a base file (a copy of it)."""
        return [c for c in self.changes if c.copy_of is not None]

    def biggest(self, change: Change, count: int = 10) -> list[FileChange]:
        """The largest changes of one kind: by new size (added, moved), base size (removed), |delta| (modified)."""

        def weight(c: FileChange) -> int:
            if change == Change.REMOVED:
                return c.base_size_bytes or 0
            return abs(c.delta_bytes) if change == Change.MODIFIED else c.size_bytes or 0

        return sorted(self.of(change), key=lambda c: (-weight(c), c.path))[:count]


def shared_layer_count(base: list[Layer], new: list[Layer]) -> int:
    """Length of the common prefix of two layer lists, by uncompressed digest (else blob digest).

    A layer is only the same layer when everything below it is too: a matching diff_id
    on top of different layers holds the same bytes but not the same file system.
    """
    count = 0
    for a, b in zip(base, new, strict=False):
        if (a.diff_id or a.digest) != (b.diff_id or b.digest) or not (a.diff_id or a.digest):
            break
        count += 1
    return count


def compare(base: Analysis, new: Analysis) -> ImageComparison:
    """Compares the final file systems of two analysed images.

    Args:
        base: the image before (e.g. the main branch's build).
        new: the image after.

    Returns:
        The comparison: shared layers, every changed path, moves and copies, sizes per top folder.
    """
    before = final_files(base)
    after = final_files(new)
    changes: list[FileChange] = []
    for path, entry in after.items():
        old = before.get(path)
        if old is None:
            changes.append(FileChange(path, Change.ADDED, None, entry))
        elif not old.same_as(entry):
            changed = tuple(a for a in ATTRIBUTES if getattr(old, a) != getattr(entry, a))
            changes.append(FileChange(path, Change.MODIFIED, old, entry, changed=changed))
    changes.extend(FileChange(p, Change.REMOVED, e, None) for p, e in before.items() if p not in after)
    changes = _pair_moves(changes)
    _mark_copies(changes, before, after)
    changes.sort(key=lambda c: c.path)
    return ImageComparison(
        base=base,
        new=new,
        shared_layers=shared_layer_count(base.layers, new.layers),
        changes=changes,
        top_level=_top_level_sizes(before, after),
    )


def final_files(analysis: Analysis) -> dict[str, FileEntry]:
    """The final file system of an image: absolute path -> version."""
    top = len(analysis.layers) - 1
    if top < 0:
        return {}
    return {"/" + entry.path: entry for _node, entry in analysis.tree.live_nodes(top)}


def build_diff_model(comparison: ImageComparison) -> DiffModel[ImageComparison, FileChange]:
    """The diff view's rows of a comparison: its two images' final file systems stacked as two layers."""
    from dive_py.trees.diff_rows import TwoLayers, stack_diff  # the row engine: only the diff view asks

    base = final_files(comparison.base)
    written: dict[str, FileEntry] = {}
    deleted: list[str] = []
    links: list[tuple[str, str, bool]] = []
    for change in comparison.changes:  # sorted by path: folders come before what they hold
        if change.change == Change.REMOVED:
            deleted.append(change.path[1:])
        elif change.new is not None and change.change != Change.UNMODIFIED:
            written[change.path[1:]] = change.new
        if change.moved_from:
            deleted.append(change.moved_from[1:])
            links.append((change.path, change.moved_from, True))
        elif change.copy_of:
            links.append((change.path, change.copy_of, False))
    layers = TwoLayers({path[1:]: base[path] for path in sorted(base)}, written, deleted, links)
    return stack_diff(comparison, layers, {change.path: change for change in comparison.changes})


def _content_key(entry: FileEntry | None) -> tuple[int, int] | None:
    if entry is None or entry.kind != REGULAR:
        return None
    return entry.hash, entry.size


def _suffix_match(a: str, b: str) -> int:
    """How many trailing path components two paths share (prefers ``webapps.dist/X`` for ``webapps/X``)."""
    count = 0
    for x, y in zip(reversed(a.split("/")), reversed(b.split("/")), strict=False):
        if x != y:
            break
        count += 1
    return count


def _best(path: str, candidates: Iterable[str]) -> str:
    return min(candidates, key=lambda c: (-_suffix_match(path, c), c))


def _pair_moves(changes: list[FileChange]) -> list[FileChange]:
    """Turns each added regular file whose content left a removed path into one MOVED change.

    Empty files are never paired: any empty file would match any other.
    """
    removed: dict[tuple[int, int], list[FileChange]] = defaultdict(list)
    for c in changes:
        key = _content_key(c.base)
        if c.change == Change.REMOVED and key is not None and key[1] > 0:
            removed[key].append(c)
    if not removed:
        return changes
    gone: set[str] = set()
    out = []
    for c in changes:
        pool = removed.get(_content_key(c.new)) if c.change == Change.ADDED else None  # type: ignore[arg-type]
        pool = [r for r in pool or () if r.path not in gone]
        if pool:
            source = min(pool, key=lambda r: (-_suffix_match(c.path, r.path), r.path))
            gone.add(source.path)
            out.append(FileChange(c.path, Change.MOVED, source.base, c.new, moved_from=source.path))
        else:
            out.append(c)
    return [c for c in out if not (c.change == Change.REMOVED and c.path in gone)]


def _mark_copies(changes: list[FileChange], before: dict[str, FileEntry], after: dict[str, FileEntry]) -> None:
    """Names, for each added regular file, a base file of the same content.

    A candidate still present in the new image is preferred, then the one whose trailing
    path components match best. Empty files count only when the names match too.
    """
    wanted = {_content_key(c.new) for c in changes if c.change == Change.ADDED}
    wanted.discard(None)
    if not wanted:
        return
    sources: dict[tuple[int, int], list[str]] = defaultdict(list)
    for path, entry in before.items():
        key = _content_key(entry)
        if key in wanted:
            sources[key].append(path)  # type: ignore[index]
    for c in changes:
        candidates = sources.get(_content_key(c.new)) if c.change == Change.ADDED else None  # type: ignore[arg-type]
        if not candidates:
            continue
        if c.new is not None and c.new.size == 0:
            name = posixpath.basename(c.path)
            candidates = [p for p in candidates if posixpath.basename(p) == name]
            if not candidates:
                continue
        kept = [p for p in candidates if p in after]
        c.copy_of = _best(c.path, kept or candidates)


def _top_level_sizes(before: dict[str, FileEntry], after: dict[str, FileEntry]) -> list[FolderSize]:
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for side, files in enumerate((before, after)):
        for path, entry in files.items():
            head = path.split("/", 2)
            top = "/" + head[1] if len(head) > 2 or entry.kind == DIRECTORY else "/"
            sizes[top][side] += entry.size if entry.kind == REGULAR else 0
    return [FolderSize(path, b, n) for path, (b, n) in sorted(sizes.items())]


def comparison_to_dict(comparison: ImageComparison) -> dict[str, Any]:
    """The ``divepy diff --json`` shape (issue 7), with a few extra keys.

    Extra keys: ``summary.moved``, ``summary.copies``, ``summary.modifiedDeltaBytes``,
    ``summary.imageSizeDeltaBytes``; per file ``kind``, ``baseKind``, ``deltaBytes``,
    ``changed``, ``movedFrom``, ``copyOf``; ``folders`` (folder-only changes) and ``topLevel``.
    ``sizeDeltaBytes`` is the change of the final file system's bytes, so
    ``addedBytes - removedBytes + modifiedDeltaBytes == sizeDeltaBytes``.
    """
    c = comparison
    modified = c.of(Change.MODIFIED)
    return {
        "base": _image_dict(c.base, c.shared_layers),
        "new": _image_dict(c.new, c.shared_layers),
        "sharedLayers": c.shared_layers,
        "summary": {
            "added": len(c.of(Change.ADDED)),
            "removed": len(c.of(Change.REMOVED)),
            "modified": len(modified),
            "addedBytes": c.added_bytes,
            "removedBytes": c.removed_bytes,
            "sizeDeltaBytes": c.size_delta_bytes,
            "moved": len(c.of(Change.MOVED)),
            "copies": len(c.copies),
            "modifiedDeltaBytes": sum(m.delta_bytes for m in modified),
            "imageSizeDeltaBytes": c.image_size_delta_bytes,
        },
        "files": [_change_dict(f) for f in c.files],
        "folders": [_change_dict(f) for f in c.changes if f.is_dir],
        "topLevel": [
            {"path": f.path, "sizeBytes": f.size_bytes, "baseSizeBytes": f.base_size_bytes, "deltaBytes": f.delta_bytes}
            for f in c.top_level
        ],
    }


def _image_dict(analysis: Analysis, shared: int) -> dict[str, Any]:
    image = analysis.image
    return {
        "name": image.name,
        "tags": image.tags,
        "source": image.source,
        "configDigest": image.config_digest,
        "sizeBytes": analysis.size_bytes,
        "finalSizeBytes": analysis.walk().final_size_bytes,
        "inefficientBytes": analysis.wasted_bytes,
        "efficiencyScore": analysis.efficiency,
        "layers": [
            {
                "index": layer.index,
                "digest": layer.digest,
                "digestId": layer.diff_id,
                "sizeBytes": layer.size_bytes,
                "command": layer.command,
                "shared": layer.index < shared,
            }
            for layer in image.layers
        ],
    }


_KIND_NAMES = {"f": "file", "d": "dir", "l": "symlink", "h": "hardlink", "c": "char", "b": "block", "p": "fifo"}


def _change_dict(change: FileChange) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": change.path,
        "change": str(change.change),
        "sizeBytes": change.size_bytes,
        "baseSizeBytes": change.base_size_bytes,
        "deltaBytes": change.delta_bytes,
        "kind": _KIND_NAMES.get(change.new.kind, change.new.kind) if change.new else None,
        "baseKind": _KIND_NAMES.get(change.base.kind, change.base.kind) if change.base else None,
    }
    if change.changed:
        out["changed"] = list(change.changed)
    if change.moved_from:
        out["movedFrom"] = change.moved_from
    if change.copy_of:
        out["copyOf"] = change.copy_of
    return out
