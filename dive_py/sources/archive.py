"""Provides access to the files of a saved image: a tar file, a stream, or an OCI folder.

Three shapes, one interface (:class:`ImageFiles`): list names, read a small file
(JSON), and scan a layer blob. A seekable tar is indexed first (headers only, seeking
past contents) so that only the layers the manifest names are read, in manifest order.
A stream (stdin, an engine's export) is read in one pass: layers are scanned as they
come and paired with the manifest at the end, as ``docker save`` writes the manifest last.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass

from dive_py.errors import DigestMismatchError, ImageFormatError
from dive_py.layers.compression import HashingReader, decompressing_reader, sniff
from dive_py.layers.scan import clean_member_path, scan_layer
from dive_py.layers.tarscan import BLOCK, TarReader, _checksum_ok
from dive_py.model import LayerScan

SMALL_FILE_LIMIT = 64 << 20
"""Largest manifest, index or config read into memory; larger is hostile or not JSON."""

SMALL_FILES_TOTAL_LIMIT = 256 << 20
"""Most bytes of non-layer files a one-pass read keeps in memory (it cannot know yet which it needs)."""

Progress = Callable[[int], None]


@dataclass(slots=True)
class Member:
    """A file of the outer archive."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    size: int = 0
    offset: int = 0
    link: str = ""


class ImageFiles:
    """The files of a saved image, by clean relative name."""

    what: str = "image"
    """How to name the archive in errors."""

    def names(self) -> set[str]:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        return self.resolve(name) is not None

    def resolve(self, name: str) -> str | None:
        """Follows symbolic and hard links between members; None when missing."""
        raise NotImplementedError

    def read_bytes(self, name: str) -> bytes:
        raise NotImplementedError

    def size_of(self, name: str) -> int:
        raise NotImplementedError

    def scan(
        self,
        name: str,
        what: str,
        *,
        expected_digest: str | None,
        expected_diff_id: str | None,
        progress: Progress | None = None,
    ) -> LayerScan:
        raise NotImplementedError

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        """Where a blob's bytes sit in a file, ``(path, offset, size)``; None when not in one.

        Lets layers be scanned by other processes, and looked up in the layer cache.
        """
        return None

    def close(self) -> None:
        """Releases open files."""

    def _missing(self, name: str) -> ImageFormatError:
        return ImageFormatError(f"{self.what}: the image names {name!r}, which the archive does not hold")


def _resolve_links(members: dict[str, Member], name: str) -> str | None:
    """Follows link members (relative to their folder, or to the archive root for hard links)."""
    seen = set()
    current = name
    while current not in seen:
        seen.add(current)
        member = members.get(current)
        if member is None:
            return None
        if member.kind == "symlink":
            target = member.link
            base = posixpath.dirname(current)
            joined = posixpath.normpath(posixpath.join(base, target)) if not target.startswith("/") else target
            current = joined.lstrip("/")
        elif member.kind == "hardlink":
            current = posixpath.normpath(member.link).lstrip("/")
        else:
            return current
    return None  # a loop of links


class TarFileImage(ImageFiles):
    """A seekable tar file (``docker save``, ``podman save``, an OCI archive)."""

    def __init__(self, path: str) -> None:
        self.what = path
        self._path = path
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._size = os.fstat(self._file.fileno()).st_size
        self.members = self._index()

    def _index(self) -> dict[str, Member]:
        f = self._file
        reader = TarReader(f.read, self.what, seek=f.seek, chunk=BLOCK * 32)
        members: dict[str, Member] = {}
        for header in reader:
            name = clean_member_path(header.name, self.what)
            if name is None:
                continue
            kind = _MEMBER_KINDS.get(header.type, "other")
            size = header.size if kind == "file" else 0
            if header.offset + size > self._size:
                raise ImageFormatError(f"{self.what} is truncated: {name!r} runs past the end of the file")
            link = header.linkname.decode("utf-8", "surrogateescape")
            members[name] = Member(name, kind, size, header.offset, link)
        if not members:
            raise ImageFormatError(f"{self.what}: empty tar archive, not an image")
        return members

    def names(self) -> set[str]:
        return set(self.members)

    def resolve(self, name: str) -> str | None:
        return _resolve_links(self.members, name)

    def _member(self, name: str) -> Member:
        resolved = self.resolve(name)
        if resolved is None or self.members[resolved].kind != "file":
            raise self._missing(name)
        return self.members[resolved]

    def size_of(self, name: str) -> int:
        return self._member(name).size

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        member = self._member(name)
        return self._path, member.offset, member.size

    def read_bytes(self, name: str) -> bytes:
        member = self._member(name)
        if member.size > SMALL_FILE_LIMIT:
            raise ImageFormatError(f"{self.what}: {name!r} is too large ({member.size} bytes) for a JSON file")
        self._file.seek(member.offset)
        data = self._file.read(member.size)
        if len(data) != member.size:
            raise ImageFormatError(f"{self.what} is truncated inside {name!r}")
        return data

    def open_blob(self, name: str) -> Callable[[int], bytes]:
        """A ``read(n)`` over one member's bytes, from its own file handle."""
        member = self._member(name)
        return region_reader(self._path, member.offset, member.size, f"{self.what} is truncated inside {name!r}")

    def scan(self, name, what, *, expected_digest, expected_diff_id, progress=None) -> LayerScan:  # noqa: ANN001
        return scan_layer(
            self.open_blob(name),
            what,
            expected_digest=expected_digest,
            expected_diff_id=expected_diff_id,
            progress=progress,
        )

    def close(self) -> None:
        self._file.close()


def region_reader(path: str, offset: int, size: int, truncated: str) -> Callable[[int], bytes]:
    """A ``read(n)`` over ``size`` bytes of a file from ``offset``, on its own handle.

    Args:
        truncated: the error message when the file ends before the region does.
    """
    handle = open(path, "rb")  # noqa: SIM115 - closed at the end of the region
    handle.seek(offset)
    left = [size]

    def read(n: int = -1) -> bytes:
        if left[0] <= 0:
            handle.close()
            return b""
        want = left[0] if n < 0 else min(n, left[0])
        data = handle.read(want)
        if not data:
            handle.close()
            raise ImageFormatError(truncated)
        left[0] -= len(data)
        return data

    return read


_MEMBER_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink"}


class FolderImage(ImageFiles):
    """An unpacked image folder (an OCI layout, or an extracted ``docker save``)."""

    def __init__(self, path: str) -> None:
        self.what = path
        self._root = os.path.realpath(path)

    def _local(self, name: str) -> str | None:
        """The file's path on disk, refusing names that leave the folder."""
        clean = posixpath.normpath(name)
        if clean.startswith("..") or clean.startswith("/"):
            return None
        full = os.path.realpath(os.path.join(self._root, clean))
        if full != self._root and not full.startswith(self._root + os.sep):
            return None  # a symlink out of the image folder: never follow it
        return full

    def names(self) -> set[str]:
        found = set()
        for dirpath, _dirs, files in os.walk(self._root):
            rel = os.path.relpath(dirpath, self._root)
            for file in files:
                found.add(posixpath.normpath(posixpath.join(rel, file)) if rel != "." else file)
        return found

    def resolve(self, name: str) -> str | None:
        local = self._local(name)
        if local is None or not os.path.isfile(local):
            return None
        return name

    def _file(self, name: str) -> str:
        local = self._local(name)
        if local is None or not os.path.isfile(local):
            raise self._missing(name)
        return local

    def size_of(self, name: str) -> int:
        return os.stat(self._file(name)).st_size

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        local = self._file(name)
        return local, 0, os.stat(local).st_size

    def read_bytes(self, name: str) -> bytes:
        local = self._file(name)
        if os.stat(local).st_size > SMALL_FILE_LIMIT:
            raise ImageFormatError(f"{self.what}: {name!r} is too large for a JSON file")
        with open(local, "rb") as f:
            return f.read()

    def scan(self, name, what, *, expected_digest, expected_diff_id, progress=None) -> LayerScan:  # noqa: ANN001
        with open(self._file(name), "rb") as f:
            return scan_layer(
                f.read,
                what,
                expected_digest=expected_digest,
                expected_diff_id=expected_diff_id,
                progress=progress,
            )


class StreamImage(ImageFiles):
    """An archive read once from a stream: layers are scanned as they pass by."""

    def __init__(self, read: Callable[[int], bytes], what: str, progress: Progress | None = None) -> None:
        self.what = what
        self._small: dict[str, bytes] = {}
        self._scans: dict[str, tuple[LayerScan, str]] = {}  # name -> (scan, sha256 of the blob)
        self._errors: dict[str, ImageFormatError] = {}
        self._small_total = 0
        self.members: dict[str, Member] = {}
        self._consume(read, progress)

    def _consume(self, read: Callable[[int], bytes], progress: Progress | None) -> None:
        counted = HashingReader(read, None, self.what, enabled=False)
        reader = TarReader(counted.read, self.what)
        for header in reader:
            name = clean_member_path(header.name, self.what)
            if name is None:
                continue
            kind = _MEMBER_KINDS.get(header.type, "other")
            link = header.linkname.decode("utf-8", "surrogateescape")
            self.members[name] = Member(name, kind, header.size if kind == "file" else 0, 0, link)
            if kind == "file":
                self._take(reader, name, header.size)
            if progress is not None:
                progress(counted.count)
        if not self.members:
            raise ImageFormatError(f"{self.what}: empty tar archive, not an image")

    def _take(self, reader: TarReader, name: str, size: int) -> None:
        stream = reader.content_stream(size)
        head = b""
        while len(head) < BLOCK and (piece := stream.read(BLOCK - len(head))):
            head += piece
        if _looks_like_layer(head):
            hashed = HashingReader(_chain(head, stream.read), None, name)
            try:
                # Named by member for now; scan() renames errors and warnings once it knows the layer.
                scan = scan_layer(hashed.read, name, expected_digest=None, expected_diff_id=None)
            except ImageFormatError as exc:
                # Not fatal yet: the manifest may never name this member.
                self._errors[name] = exc
                while hashed.read(1 << 20):
                    pass
            else:
                self._scans[name] = (scan, hashed.digest)
        elif size <= SMALL_FILE_LIMIT:
            self._small_total += size
            if self._small_total > SMALL_FILES_TOTAL_LIMIT:
                raise ImageFormatError(
                    f"{self.what}: holds more than {SMALL_FILES_TOTAL_LIMIT >> 20} MB of files that are not layers"
                )
            rest = [head]
            while chunk := stream.read(1 << 20):
                rest.append(chunk)
            self._small[name] = b"".join(rest)
        stream.finish()

    def names(self) -> set[str]:
        return set(self.members)

    def resolve(self, name: str) -> str | None:
        return _resolve_links(self.members, name)

    def size_of(self, name: str) -> int:
        resolved = self.resolve(name)
        if resolved is None:
            raise self._missing(name)
        return self.members[resolved].size

    def read_bytes(self, name: str) -> bytes:
        resolved = self.resolve(name)
        if resolved is None or resolved not in self._small:
            raise self._missing(name)
        return self._small[resolved]

    def scan(self, name, what, *, expected_digest, expected_diff_id, progress=None) -> LayerScan:  # noqa: ANN001
        resolved = self.resolve(name)
        if resolved in self._errors:
            exc = self._errors[resolved]
            raise type(exc)(_renamed(exc.message, resolved, what)) from None
        if resolved is None or resolved not in self._scans:
            raise self._missing(name)
        scan, digest = self._scans[resolved]
        checks = ((expected_digest, digest, "digest"), (expected_diff_id, scan.diff_id, "diff_id"))
        for expected, actual, label in checks:
            if expected and expected.startswith("sha256:") and actual and expected != actual:
                raise DigestMismatchError(
                    f"{what}: content does not match its {label} (expected {expected[:19]}…, got {actual[:19]}…)"
                )
        scan.warnings = [_renamed(text, resolved, what) for text in scan.warnings]
        return scan


def _renamed(text: str, name: str, what: str) -> str:
    """A message about member ``name`` (as scanned in one pass) reworded to name the layer as ``what``."""
    return what + text[len(name) :] if text.startswith(name) else f"{what}: {text}"


def _looks_like_layer(head: bytes) -> bool:
    """A blob is a layer when it is compressed or its first block is a tar header."""
    if sniff(head) != "none":
        return True
    return len(head) == BLOCK and _checksum_ok(head)


def _chain(head: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    pending = [head]

    def chained(n: int = -1) -> bytes:
        if pending:
            return pending.pop()
        return read(n)

    return chained


def open_image_files(path: str, progress: Progress | None = None) -> ImageFiles:
    """Opens what ``path`` names: a folder, a tar file, a compressed tar, or a FIFO."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageFormatError(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        return FolderImage(path)
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device can be read once only: no sniffing ahead, one pass.
        with open(path, "rb") as f:
            read, _ = decompressing_reader(f.read, path)
            return StreamImage(read, path, progress)
    try:
        with open(path, "rb") as f:
            head = f.read(BLOCK)
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise ImageFormatError(f"{path}: empty file, not an image archive")
    if sniff(head) != "none":
        # A whole archive compressed (``docker save | gzip``): one pass through the decompressor.
        with open(path, "rb") as f:
            read, _ = decompressing_reader(f.read, path)
            return StreamImage(read, path, progress)
    if len(head) < BLOCK or not _checksum_ok(head):
        raise ImageFormatError(f"{path}: not an image archive (neither a tar nor an OCI layout folder)")
    return TarFileImage(path)
