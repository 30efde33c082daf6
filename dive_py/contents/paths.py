"""Provides path lookup in the stacked file system of one layer, as ``cat`` and ``extract`` name paths.

A path is resolved the way a process inside the container would see it: symbolic links are followed,
absolute targets start again at the image root. A target that climbs above the image root is refused
rather than clamped (the kernel would clamp it at ``/``; a link that needs that is more likely hostile
than meant). Errors say why a path is not there (never there, deleted in layer K, a folder on the way
is a file), one line each.
"""

from __future__ import annotations

from dataclasses import dataclass

from dive_py.errors import DivepyError
from dive_py.model import DIRECTORY, SYMLINK, FileEntry
from dive_py.trees.tree import FileTree, Node

MAX_LINKS = 40
"""Symbolic links followed in one lookup before giving up (Linux's ``MAXSYMLINKS``)."""

ROOT_ENTRY = FileEntry("", DIRECTORY, 0, 0o755)
"""The image root's version: the tree's root node has no events of its own."""


class PathLookupError(DivepyError):
    """The path is not present (or not usable) in the stacked file system at the layer asked for."""


@dataclass
class Found:
    """A path present at a layer: its node and the version the layer stack shows."""

    node: Node
    entry: FileEntry

    @property
    def shown(self) -> str:
        """The path as the user reads it (``/usr/bin/env``)."""
        return "/" + self.node.path


def version_layer(node: Node, layer: int) -> int | None:
    """The layer that wrote the version of ``node`` present at ``layer``, or None if absent."""
    for at, entry in reversed(node.events):
        if at <= layer:
            return at if entry is not None else None
    return None


def find_path(tree: FileTree, path: str, layer: int, *, follow_last: bool) -> Found:
    """Looks ``path`` up in the file system stacked up to ``layer`` (0-based).

    Args:
        tree: the image's union tree.
        path: absolute or relative to the image root (``/usr/bin/env`` or ``usr/bin/env``).
        layer: the top layer of the stack, 0-based.
        follow_last: follow a symbolic link in the last component too (``cat``); folders on the way
            are always followed.

    Returns:
        The node and its version at ``layer``.

    Raises:
        PathLookupError: the path (or a folder on the way) is absent or was deleted, a folder on
            the way is not a folder, a link leaves the image root, or links loop.
    """
    pending = [name for name in path.split("/") if name and name != "."]
    node = tree.root
    done: list[str] = []  # the real names resolved so far, from the root (no links among them)
    link = ""  # the last link followed, for the message when its target climbs out
    hops = 0
    while pending:
        name = pending.pop(0)
        if name == "..":
            if not done:
                raise PathLookupError(link or f"{path!r} climbs above the image root")
            done.pop()
            node = node.parent or tree.root
            continue
        child = (node.children or {}).get(name)
        here = "/" + "/".join([*done, name])
        entry = child.state(layer) if child is not None else None
        if child is None or entry is None:
            raise PathLookupError(_absent(child, here, layer))
        if entry.kind == SYMLINK and (pending or follow_last):
            hops += 1
            if hops > MAX_LINKS or not entry.link:
                raise PathLookupError(f"{here}: a symbolic link that loops or points nowhere ({entry.link!r})")
            link = f"{here} is a symbolic link to {entry.link!r}, which leaves the image root"
            if entry.link.startswith("/"):  # absolute: from the image root, as inside the container
                node, done = tree.root, []
            pending[:0] = [n for n in entry.link.split("/") if n and n != "."]
            continue
        if pending and entry.kind != DIRECTORY:
            raise PathLookupError(f"{here} is not a folder at layer {layer}, so {path!r} does not exist there")
        node = child
        done.append(name)
    entry = node.state(layer) if node is not tree.root else ROOT_ENTRY
    if entry is None:  # pragma: no cover - each node on the way was present at the layer
        raise PathLookupError(_absent(node, "/" + node.path, layer))
    return Found(node, entry)


def _absent(node: Node | None, shown: str, layer: int) -> str:
    """Why ``shown`` is not there at ``layer``: never was, not yet, or deleted (and when)."""
    if node is not None:
        deleted_at = None
        for at, entry in node.events:
            if at > layer:
                break
            deleted_at = at if entry is None else None
        if deleted_at is not None:
            return f"{shown} was deleted in layer {deleted_at} (see --layer)"
        if node.events and node.events[0][0] > layer:
            return f"{shown} does not exist yet at layer {layer} (it appears in layer {node.events[0][0]})"
    return f"{shown} does not exist at layer {layer}"
