"""Provides the image data model: file entries, layer scans, layers and images.

Layers are always oldest first (manifest order). ``digest`` is the hash of the blob as
stored (maybe compressed); ``diff_id`` the hash of the uncompressed layer tar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

REGULAR = "f"
DIRECTORY = "d"
SYMLINK = "l"
HARDLINK = "h"
CHAR_DEVICE = "c"
BLOCK_DEVICE = "b"
FIFO = "p"

KIND_TYPEFLAG = {
    REGULAR: ord("0"),
    HARDLINK: ord("1"),
    SYMLINK: ord("2"),
    CHAR_DEVICE: ord("3"),
    BLOCK_DEVICE: ord("4"),
    DIRECTORY: ord("5"),
    FIFO: ord("6"),
}
"""Tar type flag per kind, as dive exports it in ``typeFlag``."""

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(label, done_bytes, total_bytes)`` while an image is read."""

Read = Callable[[int], bytes]
"""A ``read(n)`` over a stream of bytes (``-1``: the rest)."""

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


class FileEntry:
    """One member of a layer tar, reduced to what the analysis needs.

    Slots keep a record near 100 bytes: images hold 100k+ of them.
    """

    __slots__ = ("path", "kind", "size", "mode", "uid", "gid", "link", "hash")

    def __init__(
        self,
        path: str,
        kind: str,
        size: int = 0,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        link: str = "",
        hash: int = 0,  # noqa: A002 - the field is named as dive names it
    ) -> None:
        self.path = path
        """Normalised path without a leading slash, e.g. ``usr/bin/env``."""
        self.kind = kind
        """One of the kind letters above."""
        self.size = size
        """Bytes stored in the tar for this member (0 for links and folders)."""
        self.mode = mode
        """Permission bits plus setuid/setgid/sticky (12 bits)."""
        self.uid = uid
        self.gid = gid
        self.link = link
        """Target of a symbolic or hard link."""
        self.hash = hash
        """xxh3-64 of the content of a regular file (0 otherwise)."""

    @property
    def is_dir(self) -> bool:
        """Whether the entry is a folder."""
        return self.kind == DIRECTORY

    def same_as(self, other: FileEntry) -> bool:
        """Whether two versions of a path are equal for diffing (dive's rule plus link target)."""
        return (
            self.kind == other.kind
            and self.hash == other.hash
            and self.mode == other.mode
            and self.uid == other.uid
            and self.gid == other.gid
            and self.link == other.link
            and self.size == other.size
        )

    def go_file_mode(self) -> int:
        """The mode as Go's ``os.FileMode`` (what dive writes in ``fileMode``)."""
        mode = self.mode & 0o777
        if self.mode & 0o4000:
            mode |= 1 << 23
        if self.mode & 0o2000:
            mode |= 1 << 22
        if self.mode & 0o1000:
            mode |= 1 << 20
        mode |= _GO_TYPE_BITS.get(self.kind, 0)
        return mode

    def __repr__(self) -> str:
        return f"FileEntry({self.path!r}, {self.kind!r}, size={self.size})"


_GO_TYPE_BITS = {
    DIRECTORY: 1 << 31,
    SYMLINK: 1 << 27,
    CHAR_DEVICE: (1 << 26) | (1 << 21),
    BLOCK_DEVICE: 1 << 26,
    FIFO: 1 << 25,
}


@dataclass
class LayerScan:
    """What one pass over a layer tar found, in tar order (the last of a duplicate wins)."""

    entries: dict[str, FileEntry] = field(default_factory=dict)
    """Regular members by path; a later member of the same path replaces the earlier."""
    whiteouts: list[str] = field(default_factory=list)
    """Paths a ``.wh.NAME`` member deletes from the layers below."""
    whiteout_attributes: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Mode (12 bits), uid and gid of the ``.wh.NAME`` member by the path it deletes (the last member of a
    path wins), as dive exports them; a path missing here reads as ``(0, 0, 0)``. A side table: whiteouts
    are rare, and the path list above stays what the stacking reads."""
    opaques: list[str] = field(default_factory=list)
    """Folders a ``.wh..wh..opq`` marker empties of everything from the layers below."""
    size_bytes: int = 0
    """Sum of the stored sizes of every member (dive's layer size)."""
    member_count: int = 0
    diff_id: str = ""
    """sha256 of the uncompressed tar, when it was computed."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Layer:
    """One layer of an image, with its history entry and its scanned contents."""

    index: int
    id: str
    """dive's layer id: the archive folder of a legacy layer, else the blob's hex digest."""
    digest: str
    """Digest of the blob as stored (``sha256:...``)."""
    diff_id: str
    """Digest of the uncompressed tar, from the config's ``rootfs.diff_ids``."""
    command: str
    """History ``created_by`` with ``/bin/sh -c `` stripped, as dive shows it."""
    created: str = ""
    author: str = ""
    comment: str = ""
    scan: LayerScan = field(default_factory=LayerScan)
    label: str = ""
    """The source's name for a layer that no build made, shown before its command: ``container tomcat01
    (not committed)`` for a container's writable layer. Empty for the layers of an image."""

    @property
    def size_bytes(self) -> int:
        """The layer's size (its files' bytes, dive's figure)."""
        return self.scan.size_bytes

    @property
    def short_command(self) -> str:
        """The command without the ``#(nop) `` marker, on one line."""
        text = self.command.strip()
        if text.startswith("#(nop)"):
            text = text[len("#(nop)") :].strip()
        return text.replace("\n", "↵")


class LayerBlobs(Protocol):
    """What a source hands down to read its layers again: the blob of layer ``index`` as stored."""

    def open_layer(self, index: int) -> Read:
        """A ``read(n)`` over the layer's blob as stored (maybe compressed).

        Raises:
            DivepyError: the blob cannot be read again; the message says why and what to do.
        """
        ...


@dataclass
class Image:
    """An image: metadata and its layers, oldest first."""

    name: str
    """What the user asked for (path or reference)."""
    layers: list[Layer]
    tags: list[str] = field(default_factory=list)
    config_digest: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    """Which layout it was read from, e.g. ``docker-archive``."""
    platform: str | None = None
    """``os/arch[/variant]`` of the image analysed (its index entry's, else its config's); None if unknown."""
    warnings: list[str] = field(default_factory=list)
    blobs: LayerBlobs | None = field(default=None, repr=False, compare=False)
    """Opens each layer's blob again after the load: the source's own reader, for file contents."""
    provenance: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The BuildKit provenance (SLSA predicate) attached beside the image, when its layout has one."""

    @property
    def size_bytes(self) -> int:
        """The image's size: the sum of its layers' (dive's figure)."""
        return sum(layer.size_bytes for layer in self.layers)


class EntryColumns(Protocol):
    """A layer's members as columns (:class:`~dive_py.layers.columns.LayerColumns`, which imports this module)."""

    def entries(self) -> dict[str, FileEntry]:
        """The members as entries, by path."""
        ...


class LazyLayerScan(LayerScan):
    """A :class:`LayerScan` whose ``entries`` are made on first access: from columns, or by a decode function.

    A scan made in a worker process or read from the cache is sent and stored as columns;
    the entry objects are only made where the layers are stacked, and not at all when the
    figures come from the cache.
    """

    _entries: dict[str, FileEntry] | None

    def __init__(self, decode: Callable[[], dict[str, FileEntry]] | None = None, **fields: Any) -> None:
        self._decode = decode
        self.columns: EntryColumns | None = None
        """The scan's :class:`~dive_py.layers.columns.LayerColumns`, when it was made from them."""
        # None: the ``entries`` setter below takes it (no entries yet); the dataclass field says dict only.
        super().__init__(entries=None, **fields)  # type: ignore[arg-type]

    def set_columns(self, columns: EntryColumns) -> None:
        """Keeps the layer's entries as columns, decoded on first use of :attr:`entries`."""
        self.columns = columns
        self._entries = None
        self._decode = columns.entries

    @property
    def entries(self) -> dict[str, FileEntry]:
        """The layer's entries by path (decoded from the columns on first use)."""
        if self._entries is None:
            decode, self._decode = self._decode, None
            self._entries = decode() if decode is not None else {}
            self.columns = None  # the entries hold it all now (~100 bytes a member less to keep)
        return self._entries

    @entries.setter
    def entries(self, value: dict[str, FileEntry] | None) -> None:
        self._entries = value

    @property
    def entries_loaded(self) -> bool:
        """Whether the entries have been decoded."""
        return self._entries is not None
