"""Provides ``tune_malloc``: glibc's allocator set up for streaming megabyte buffers.

Every layer is read in 1 MiB chunks (and inflated into more). By default glibc serves
each such chunk with a fresh ``mmap`` and unmaps it when freed, so every chunk is
faulted in page by page again: on the 1.76 GB benchmark image that is ~450,000 page
faults, ~0.15 s of kernel time. With a fixed mmap threshold above the chunk size the
chunks come from the heap and are reused, already mapped; the trim threshold keeps
freed chunks for the next ones instead of returning them to the kernel at once, and one
arena serves every thread.
Measured in bench/README.md; a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 2 << 20
TRIM_THRESHOLD = 12 << 20


def tune_malloc() -> bool:
    """Sets the thresholds for this process and the workers it forks; False where it cannot."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # One arena: scan and hash threads take turns on the GIL anyway, and each extra arena would keep
    # its own trim threshold of freed buffers.
    results = [mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD), mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)]
    results.append(mallopt(M_ARENA_MAX, 1))
    return all(results)
