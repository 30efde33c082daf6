"""Provides who scans which layer: plain layers handed out as scanners come free, compressed ones split
ahead by their uncompressed size (see :func:`dive_py.load.parallel._scan_in_workers`)."""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Sequence

from dive_py.cache.scans import CacheKey
from dive_py.layers.compression import sniff
from dive_py.load.workers import BlobJob, Worker, scan_and_store
from dive_py.model import LayerScan

WORKER_MIN_BYTES = 4 << 20
"""Plain layers smaller than this are scanned here, after the others: a round trip to a worker (a job out,
an encoded scan back, each waiting for this process's GIL) costs more than such a scan (~10 ms against 1)."""

Assignment = list[tuple[BlobJob, "CacheKey | None"]]


Take = Callable[[], "tuple[BlobJob, CacheKey | None] | None"]

Outcome = tuple[BlobJob, "CacheKey | None", "LayerScan | bytes | BaseException | None"]
"""A layer's result as the scanners pass it on: a scan (this process), an encoded scan or the
:class:`ImageFormatError` a worker sent, None to scan it here again, or what a scan thread raised."""


def plain_takers(pairs: Assignment, count: int) -> list[Take]:
    """Who scans which plain layer: ``count - 1`` workers, then this process (the last taker).

    Each worker starts with one of the largest layers, this process with the bottom one (stacking
    can begin); the others go largest first to whichever scanner comes free, so that no large layer
    is left for the end while the other scanner idles. Layers under :data:`WORKER_MIN_BYTES` are
    never sent: this process scans them last, in manifest order.
    """
    by_size = sorted(pairs, key=lambda item: -item[0].size)
    firsts, left = by_size[: count - 1], by_size[count - 1 :]
    bottom = [min(left, key=_index)] if left else []
    rest = deque(bottom + [item for item in left if item not in bottom and _worth_sending(item)])
    small = sorted((item for item in left if item not in bottom and not _worth_sending(item)), key=_index)
    return [taker([first], rest) for first in firsts] + [taker([], rest, small)]


def taker(
    own: Assignment,
    shared: deque[tuple[BlobJob, CacheKey | None]],
    last: Sequence[tuple[BlobJob, CacheKey | None]] = (),
) -> Take:
    """The next layer for one scanner: its own ones first, then any left in ``shared``, then its ``last``
    ones (None: done)."""
    own = [*own]
    last = [*last]

    def take() -> tuple[BlobJob, CacheKey | None] | None:
        if own:
            return own.pop(0)
        try:
            return shared.popleft()  # atomic: scanners on other threads take from it too
        except IndexError:
            return last.pop(0) if last else None

    return take


def _worth_sending(item: tuple[BlobJob, CacheKey | None]) -> bool:
    return item[0].size >= WORKER_MIN_BYTES


def _index(item: tuple[BlobJob, CacheKey | None]) -> int:
    return item[0].index


def scan_share(take: Take, root: str | None, outcomes: queue.Queue[Outcome]) -> None:
    """A scan thread: scans layers as it takes them and stores them in the cache when keyed."""
    while (item := take()) is not None:
        job, key = item
        try:
            scan = scan_and_store(job, root, key)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            outcomes.put((job, key, exc))
        else:
            outcomes.put((job, key, scan))


def pump(worker: Worker, take: Take, root: str | None, outcomes: queue.Queue[Outcome]) -> None:
    """Feeds a worker process layers as it takes them and passes its results on; when the worker
    dies, the layer it had is scanned again in this process, and the pump takes no more."""
    while (item := take()) is not None:
        job, key = item
        try:
            result = worker.scan(job, key, root)
        except (EOFError, OSError):
            outcomes.put((job, key, None))  # killed, out of memory: scanned again here
            rest = []
            while (left := take()) is not None:
                rest.append(left)
            for job, key in rest:
                outcomes.put((job, key, None))
            return
        outcomes.put((job, key, result))
    worker.stop()


def blob_kind(job: BlobJob) -> tuple[str, int]:
    """A blob's compression (sniffed) and the bytes a scan reads after decompressing it (estimated):
    a gzip stream ends with its size (mod 4 GiB); zstd is taken as 1:3."""
    try:
        with open(job.path, "rb") as f:
            f.seek(job.offset)
            kind = sniff(f.read(4))
            if kind == "gzip" and job.size >= 18:
                f.seek(job.offset + job.size - 4)
                return kind, max(job.size, int.from_bytes(f.read(4), "little"))
    except OSError:
        return "none", job.size
    return kind, job.size * 3 if kind == "zstd" else job.size


def assign_jobs(
    jobs: list[tuple[BlobJob, CacheKey | None]],
    count: int,
    weigh: Callable[[BlobJob], int] = lambda job: job.size,
    head_start: float = 0.0,
) -> list[Assignment]:
    """Splits the layers between ``count`` workers by size, each worker taking its share bottom layer first.

    The largest layers are placed first, each with the least loaded worker (a 4/3-optimal split),
    so that the workers end at about the same time; within a worker, manifest order lets the
    main process stack the lower layers while the upper ones are still being scanned. The last
    share starts ``head_start`` (a fraction of all the work) behind: its scanner also stacks.
    """
    shares: list[Assignment] = [[] for _ in range(count)]
    weights = {item[0].index: weigh(item[0]) for item in jobs}
    loads = [0.0] * count
    loads[-1] = head_start * sum(weights.values())
    for item in sorted(jobs, key=lambda item: (-weights[item[0].index], item[0].index)):
        least = loads.index(min(loads))
        shares[least].append(item)
        loads[least] += weights[item[0].index]
    return [sorted(share, key=lambda item: item[0].index) for share in shares if share]
