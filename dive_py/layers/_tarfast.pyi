"""Types of the optional C loops in ``_tarfast.c`` (see its docstrings); mypy reads this, Python never does."""

from array import array
from collections.abc import Callable

from _typeshed import ReadableBuffer

from dive_py.model import FileEntry

def scan_run(
    buf: ReadableBuffer,
    pos: int,
    xxh3: Callable[[ReadableBuffer], int],
    paths: list[bytes],
    links: dict[int, str],
) -> tuple[int, int, bytes, bytes, bytes, bytes, bytes, bytes]: ...
def make_entries(
    paths: list[str],
    kinds: bytes | bytearray,
    sizes: array[int],
    modes: array[int],
    uids: array[int],
    gids: array[int],
    hashes: array[int],
    entry_class: type[FileEntry],
) -> dict[str, FileEntry]: ...
