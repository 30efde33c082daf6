"""Provides :func:`compare_builds`: what a patched Dockerfile's build saved, and what else it changed.

Two analyses (the original Dockerfile's build and the patched one's) are compared: the measured saving
(difference of the images' stored bytes) against the fixes' claim, and every path of the final file
system that differs outside the fixed hints' paths. Times are not compared (every build differs there);
kind, size, content, mode, owner and link target are. Paths that change from build to build anyway (logs,
the linker cache, the source time a ``.pyc`` stamps in its header) are reported as build noise, apart from
real differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dive_py.analysis.analyze import Analysis

NOISE = ("/var/log", "/var/cache/debconf", "/etc/ld.so.cache", "/var/cache/ldconfig", "/root/.bash_history")
"""Paths every build writes anew: named as build noise, never counted as a change the fix made."""

PASS_RATIO = 0.9
"""The measured saving must reach this share of the exact fixes' claim."""


@dataclass
class BuildComparison:
    """The original and patched builds side by side."""

    original_bytes: int
    patched_bytes: int
    claimed_bytes: int
    changed: list[tuple[str, str]] = field(default_factory=list)
    """(path, what differs) outside the hints' paths."""
    noise: list[tuple[str, str]] = field(default_factory=list)
    """Likewise, under :data:`NOISE`."""

    @property
    def saved_bytes(self) -> int:
        """The bytes the patched build saved."""
        return self.original_bytes - self.patched_bytes

    @property
    def ratio(self) -> float:
        """The saved bytes over the claimed ones (1.0 when nothing was claimed)."""
        return self.saved_bytes / self.claimed_bytes if self.claimed_bytes else 1.0

    @property
    def passed(self) -> bool:
        """Whether the patch saved enough and changed no other file."""
        return self.ratio >= PASS_RATIO and not self.changed


FileRecord = tuple[str, int, int, int, int, int, str]
"""A path of a final file system: (kind, size, content hash, mode, uid, gid, link)."""


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies under it (``root`` may end in ``/*``)."""
    root = root.removesuffix("/*").rstrip("/") or "/"
    return root == "/" or path == root or path.startswith(root + "/")


def final_files(analysis: Analysis) -> dict[str, FileRecord]:
    """Every path of the image's final file system: (kind, size, content hash, mode, uid, gid, link)."""
    last = len(analysis.image.layers) - 1
    files = {}
    for node, entry in analysis.tree.live_nodes(last):
        files["/" + node.path] = (entry.kind, entry.size, entry.hash, entry.mode, entry.uid, entry.gid, entry.link)
    return files


def compare_builds(original: Analysis, patched: Analysis, hint_paths: list[str], claimed: int) -> BuildComparison:
    """The saving and the differences of two builds, outside ``hint_paths``."""
    result = BuildComparison(original.size_bytes, patched.size_bytes, claimed)
    result.changed, result.noise = compare_files(final_files(original), final_files(patched), hint_paths)
    return result


def compare_files(
    before: dict[str, FileRecord], after: dict[str, FileRecord], hint_paths: list[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(changed, noise): the paths of two final file systems (:func:`final_files`) that differ outside
    ``hint_paths``, each with what differs; noise is what lies under :data:`NOISE`."""
    changed: list[tuple[str, str]] = []
    noise: list[tuple[str, str]] = []
    holders = _holders(before, after, hint_paths) | _holders(after, before, hint_paths)
    for path in sorted(before.keys() | after.keys()):
        if path in holders or any(inside(path, hint) for hint in hint_paths):
            continue  # inside a hint's paths (or a folder that only held them): the fix is meant to change it
        what = _difference(before.get(path), after.get(path))
        if what is None:
            continue
        noisy = any(path == root or path.startswith(root + "/") for root in NOISE) or _bytecode_stamp(path, what)
        (noise if noisy else changed).append((path, what))
    return changed, noise


def _bytecode_stamp(path: str, what: str) -> bool:
    """A ``.pyc`` of the same size whose bytes differ: its header stamps the source file's time of that build."""
    return path.endswith(".pyc") and "/__pycache__/" in path and what == "content differ"


def _holders(files: dict[str, FileRecord], other: dict[str, FileRecord], hint_paths: list[str]) -> set[str]:
    """Folders only in ``files`` that hold nothing but the hints' paths (``/root/.cache`` around ``pip``'s)."""
    missing = {path for path, meta in files.items() if path not in other and meta[0] == "d"}
    if not missing:
        return set()
    holding: dict[str, bool] = dict.fromkeys(missing, True)
    for path in files:
        if any(inside(path, hint) for hint in hint_paths):
            continue
        parent = path.rsplit("/", 1)[0] or "/"
        while parent in holding:
            if path not in missing:
                holding[parent] = False
            parent = parent.rsplit("/", 1)[0] or "/"
    return {path for path, only in holding.items() if only and _holds_hint(path, hint_paths)}


def _holds_hint(folder: str, hint_paths: list[str]) -> bool:
    return any(hint.startswith(folder + "/") for hint in hint_paths)


_FIELDS = ("kind", "size", "content", "mode", "owner", "group", "link target")


def _difference(old: FileRecord | None, new: FileRecord | None) -> str | None:
    if old == new:
        return None
    if old is None:
        return "only in the patched build"
    if new is None:
        return "only in the original build"
    names = [name for name, a, b in zip(_FIELDS, old, new, strict=True) if a != b]
    if names == ["mode"] and old[0] == "d":
        return f"mode {oct(old[3])} -> {oct(new[3])}"
    return ", ".join(names) + " differ"
