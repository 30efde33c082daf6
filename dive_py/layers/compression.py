"""Provides compression sniffing (by magic bytes, never by name) and streaming decompressors."""

from __future__ import annotations

import hashlib
import queue
import threading
import weakref
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import IO, cast

from dive_py.errors import DigestMismatchError, ImageFormatError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

Read = Callable[[int], bytes]
CHUNK = 1 << 20


def sniff(head: bytes) -> str:
    """Names the compression of a stream from its first bytes: ``gzip``, ``zstd`` or ``none``."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class PrefixedReader:
    """A ``read(n)`` over bytes already read (a sniffed prefix) followed by the rest of a stream."""

    def __init__(self, prefix: bytes, read: Read) -> None:
        self._prefix = prefix
        self._read = read

    def read(self, n: int = -1) -> bytes:
        """Reads up to ``n`` bytes (all with ``n < 0``), the sniffed prefix first."""
        if self._prefix:
            if n < 0:
                data, self._prefix = self._prefix + self._read(-1), b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            if len(data) < n:
                data += self._read(n - len(data))
            return data
        return self._read(n)


HASH_QUEUE_CHUNKS = 3
"""Chunks read ahead of the hashing thread at most: bounds the memory a slow hash can pin."""

HASH_THREAD_AFTER = 8 << 20
"""Bytes hashed inline before a helper thread takes over: most blobs are small, and a thread
(start, queue hand-offs, join) costs more than hashing a few MB (~5 ms) on the caller's thread."""


def _hash_worker(hasher: hashlib._Hash, chunks: queue.Queue[bytes | None]) -> None:
    while (data := chunks.get()) is not None:
        hasher.update(data)
        chunks.task_done()
    chunks.task_done()


class HashingReader:
    """Passes a stream through while computing its sha256, to check a digest at the end.

    sha256 is the costliest step of a plain layer (~0.6 ns a byte). hashlib releases the GIL
    for large updates, so past the first :data:`HASH_THREAD_AFTER` bytes a helper thread
    hashes while the caller parses the tar.
    """

    def __init__(self, read: Read, expected: str | None, what: str, *, enabled: bool = True) -> None:
        self._read = read
        self._hash = hashlib.sha256() if enabled else None
        self._chunks: queue.Queue[bytes | None] | None = None
        self.expected = expected
        self.what = what
        self.count = 0
        self.label = "digest"
        """What ``expected`` is, for the error: ``digest`` (blob as stored) or ``diff_id`` (uncompressed tar)."""

    def read(self, n: int = -1) -> bytes:
        """Reads up to ``n`` bytes (all with ``n < 0``), hashing what passes."""
        data = self._read(n)
        if data:
            if self._hash is not None:
                chunks = self._chunks
                if chunks is not None:
                    chunks.put(data)
                elif self.count + len(data) <= HASH_THREAD_AFTER:
                    self._hash.update(data)  # a small blob: starting a thread costs more than it saves
                else:
                    self._start_thread().put(data)
            self.count += len(data)
        return data

    def _start_thread(self) -> queue.Queue[bytes | None]:
        chunks: queue.Queue[bytes | None] = queue.Queue(HASH_QUEUE_CHUNKS)
        threading.Thread(target=_hash_worker, args=(self._hash, chunks), daemon=True, name="sha256").start()
        # An abandoned reader (a scan that raised) still ends its thread.
        self._ender = weakref.finalize(self, chunks.put, None)
        self._chunks = chunks
        return chunks

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of what was read, or "" when hashing is off."""
        if self._hash is None:
            return ""
        if self._chunks is not None:
            self._ender()  # end the helper once it has hashed what was read so far
            self._chunks.join()
            self._chunks = None
        return "sha256:" + self._hash.hexdigest()

    def verify(self) -> None:
        """Raises when the bytes read do not match the expected digest."""
        digest = self.digest
        if digest and self.expected and self.expected.startswith("sha256:") and digest != self.expected:
            raise DigestMismatchError(
                f"{self.what}: content does not match its {self.label} "
                f"(expected {self.expected[:19]}…, got {digest[:19]}…)"
            )


def decompressing_reader(read: Read, what: str) -> tuple[Read, str]:
    """Wraps a raw blob stream so that reads return its uncompressed bytes.

    Returns:
        The ``read`` of the uncompressed stream and the compression found.
    """
    head = read(4)
    kind = sniff(head)
    raw = PrefixedReader(head, read)
    if kind == "gzip":
        return _gzip_reader(raw, what), kind
    if kind == "zstd":
        return _zstd_reader(raw, what), kind
    return raw.read, kind


def _gzip_reader(raw: PrefixedReader, what: str) -> Read:
    try:
        from isal import isal_zlib  # 2x stdlib zlib (PERF-NOTES)

        zmod: ModuleType = isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; keep working without it
        zmod = zlib
    return _MultiMemberGzip(raw.read, zmod, what).read


class _MultiMemberGzip:
    """Inflates a gzip stream of one or more members (estargz writes one per file).

    The input is fed to the decompressor in pieces of :data:`PIECE` bytes: when an output limit
    stops it, the decompressor copies the input it did not consume, so a whole 1 MiB chunk
    would be copied again for every limited call (the tar reader asks for a few hundred bytes
    when a header straddles two chunks).
    """

    PIECE = 256 << 10

    def __init__(self, read: Read, zmod: ModuleType, what: str) -> None:
        self._read = read
        self._zmod = zmod
        self._what = what
        self._d = zmod.decompressobj(31)
        self._started = False
        self._raw: bytes = b""  # compressed bytes read from the stream
        self._at = 0  # how far _raw was fed
        self._tail: bytes = b""  # input the decompressor left when its output limit was reached
        self._done = False

    def _next_input(self) -> bytes | memoryview:
        if self._tail:
            data, self._tail = self._tail, b""
            return data
        if self._at >= len(self._raw):
            self._raw, self._at = self._read(CHUNK), 0
            if not self._raw:
                return b""
        piece = memoryview(self._raw)[self._at : self._at + self.PIECE]
        self._at += len(piece)
        return piece

    def read(self, n: int = -1) -> bytes:
        want = n if n > 0 else CHUNK
        while not self._done:
            if self._d.eof:
                # Member finished: what follows (the rest of the piece first) is another member,
                # zero padding or the end.
                self._tail = self._d.unused_data
                self._d = self._zmod.decompressobj(31)
                self._started = False
            data = self._next_input()
            if not len(data):
                if self._started:
                    raise ImageFormatError(f"{self._what}: gzip stream is truncated")
                self._done = True
                break
            if not self._started and data[0] == 0:
                data = bytes(data).lstrip(b"\0")
                if not data:
                    continue
            try:
                out: bytes = self._d.decompress(data, want)
            except Exception as exc:  # zlib.error or isal's error: a corrupt stream
                raise ImageFormatError(f"{self._what}: corrupt gzip stream ({exc})") from None
            self._started = True
            self._tail = self._d.unconsumed_tail
            if out:
                return out
        return b""


def _zstd_reader(raw: PrefixedReader, what: str) -> Read:
    import zstandard

    # zstandard reads any object with a read(n); its stubs ask for a file.
    source = cast(IO[bytes], raw)
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True, read_size=1 << 20)

    def read(n: int = -1) -> bytes:
        try:
            return reader.read(n if n > 0 else 1 << 20)
        except zstandard.ZstdError as exc:
            raise ImageFormatError(f"{what}: corrupt zstd stream ({exc})") from None

    return read
