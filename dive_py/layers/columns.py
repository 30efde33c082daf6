"""Provides ``LayerColumns``: a layer's members as columns, the form a scan is built, sent and cached in.

A 100k-member layer as :class:`~dive_py.model.FileEntry` objects costs ~30 MB and
~0.1 s to build; as columns (path bytes in a list, numbers in ``array``s) it costs a
third of the memory, and a worker process can send it back as a few byte strings. The
objects are made once, in the process that stacks the layers (:meth:`LayerColumns.entries`).
"""

from __future__ import annotations

import os
import posixpath
from array import array
from collections.abc import Callable

from dive_py.errors import UnsafePathError
from dive_py.model import HARDLINK, FileEntry

_make_entries: Callable[..., dict[str, FileEntry]] | None
try:  # optional C, like the scanner's loop (DIVEPY_PURE_PYTHON=1 turns it off)
    from dive_py.layers._tarfast import make_entries as _c_make_entries

    _make_entries = _c_make_entries
except ImportError:  # pragma: no cover - depends on the build
    _make_entries = None
if os.environ.get("DIVEPY_PURE_PYTHON"):
    _make_entries = None

NUMBER_COLUMNS = (("sizes", "q"), ("modes", "I"), ("uids", "q"), ("gids", "q"), ("hashes", "Q"))
"""The numeric columns and their ``array`` type codes, in encoding order."""


class LayerColumns:
    """The regular members of one layer tar, in tar order; row ``i`` of every column is member ``i``.

    ``paths`` are clean relative paths as UTF-8 bytes; ``kinds`` the kind letters of
    :mod:`dive_py.model` as ASCII bytes; ``links`` the link targets by row (most
    rows have none). Until :meth:`finish`, a path may repeat (the last one wins).
    """

    __slots__ = ("paths", "kinds", "sizes", "modes", "uids", "gids", "hashes", "links")

    def __init__(self) -> None:
        self.paths: list[bytes] = []
        self.kinds = bytearray()
        self.sizes = array("q")
        self.modes = array("I")
        self.uids = array("q")
        self.gids = array("q")
        self.hashes = array("Q")
        self.links: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def append(self, path: bytes, kind: str, size: int, mode: int, uid: int, gid: int, link: str, digest: int) -> None:
        """Adds one row (the scanner's hot loop appends to the columns itself)."""
        if link:
            self.links[len(self.paths)] = link
        self.paths.append(path)
        self.kinds.append(ord(kind))
        self.sizes.append(size)
        self.modes.append(mode)
        self.uids.append(uid)
        self.gids.append(gid)
        self.hashes.append(digest)

    def finish(self, what: str) -> list[str]:
        """Checks the paths, keeps the last member of a repeated path, resolves hard links.

        Returns:
            Warnings (hard links to paths the layer does not hold).

        Raises:
            UnsafePathError: a path is not valid UTF-8.
        """
        self._check_utf8(what)
        if len(set(self.paths)) != len(self.paths):
            self._keep_last()
        return self._resolve_hardlinks(what)

    def _check_utf8(self, what: str) -> None:
        try:
            b"\0".join(self.paths).decode("utf-8")
        except UnicodeDecodeError:
            for raw in self.paths:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise UnsafePathError(f"{what}: member name is not valid UTF-8: {raw[:80]!r}") from None

    def _keep_last(self) -> None:
        """Drops every row whose path a later row repeats (the last member of a path wins, at its position)."""
        seen: set[bytes] = set()
        keep = []
        for row in range(len(self.paths) - 1, -1, -1):
            path = self.paths[row]
            if path not in seen:
                seen.add(path)
                keep.append(row)
        keep.reverse()
        self.paths = [self.paths[row] for row in keep]
        self.kinds = bytearray(self.kinds[row] for row in keep)
        for name, code in NUMBER_COLUMNS:
            column = getattr(self, name)
            setattr(self, name, array(code, [column[row] for row in keep]))
        links = self.links
        self.links = {new: links[old] for new, old in enumerate(keep) if old in links}

    def _resolve_hardlinks(self, what: str) -> list[str]:
        """Gives each hard link the content hash of its target in the same layer, and the clean target path."""
        hard = ord(HARDLINK)
        rows = [row for row, kind in enumerate(self.kinds) if kind == hard] if hard in self.kinds else []
        if not rows:
            return []
        where = {path: row for row, path in enumerate(self.paths)}
        dangling = []
        for row in rows:
            link = self.links.get(row, "")
            target = posixpath.normpath(link.lstrip("/")) if link else ""
            found = where.get(target.encode("utf-8", "surrogateescape")) if target else None
            if found is None:
                dangling.append((self.paths[row], link))
                continue
            self.hashes[row] = self.hashes[found]
            self.links[row] = target
        if not dangling:
            return []
        sample = ", ".join(f"{p.decode('utf-8')!r} -> {link[:200]!r}" for p, link in dangling[:3])
        count = len(dangling)
        return [f"{what}: {count} hard link(s) to paths this layer does not hold ({sample}); shown without content"]

    def entries(self) -> dict[str, FileEntry]:
        """The rows as entries by path (after :meth:`finish`)."""
        if not self.paths:
            return {}
        text = b"\0".join(self.paths).decode("utf-8").split("\0")
        return make_entries(text, self.kinds, self.sizes, self.modes, self.uids, self.gids, self.hashes, self.links)

    @classmethod
    def from_entries(cls, entries: dict[str, FileEntry]) -> LayerColumns:
        """The columns of entries already made (a scan read back from entries)."""
        columns = cls()
        for entry in entries.values():
            columns.append(
                entry.path.encode("utf-8", "surrogatepass"),
                entry.kind,
                entry.size,
                entry.mode,
                entry.uid,
                entry.gid,
                entry.link,
                entry.hash,
            )
        return columns


def make_entries(
    paths: list[str],
    kinds: bytes | bytearray,
    sizes: array[int],
    modes: array[int],
    uids: array[int],
    gids: array[int],
    hashes: array[int],
    links: dict[int, str],
) -> dict[str, FileEntry]:
    """Entries by path from columns whose paths are already text (each row's path is unique)."""
    if _make_entries is not None:
        # ~0.15 s at 10^6 rows, where the comprehension took ~0.5 s: the stacking's share of the load there.
        entries = _make_entries(paths, kinds, sizes, modes, uids, gids, hashes, FileEntry)
    else:
        # Few distinct modes and owners, and sizes repeat: one int object each instead of one per entry
        # (28 bytes each above 256; ~3 MB on the 101k-file image).
        shared = {number: number for column in (sizes, modes, uids, gids) for number in set(column)}
        entries = {
            path: FileEntry(path, kind, shared[size], shared[mode], shared[uid], shared[gid], "", digest)
            for path, kind, size, mode, uid, gid, digest in zip(
                paths, kinds.decode("ascii"), sizes, modes, uids, gids, hashes, strict=True
            )
        }
    for row, link in links.items():
        entries[paths[row]].link = link
    return entries
