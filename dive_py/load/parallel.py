"""Provides ``prefetch_scans``: the layers of a seekable image scanned from the cache or in parallel.

Before :func:`dive_py.load.image.build_image` walks the layers in manifest order, the
layers whose blobs sit at a known place in a file (a tar archive member, a file of an
OCI folder) are looked up in the layer cache (an entry serves only a blob proven to hold
the bytes it was made from: see :mod:`dive_py.cache.scans`), and the rest are scanned by a
thread of this process and a worker process (see :func:`_scan_in_workers` for who takes which).
The worker sends each scan back in the compact encoding of :mod:`dive_py.cache.scans` (~17 ms
per 100k records against ~240 ms for pickled objects) and exits when it gets no more layers.
Both run the very same :func:`scan_layer` as the serial path, so the results are identical; an
error is carried back and raised at its layer, in manifest order.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from dive_py.cache.scans import (
    CacheKey,
    LayerCache,
    cache_key,
    decode_scan,
    encode_scan,
    file_region,
)
from dive_py.cache.store import prune_cache
from dive_py.errors import ImageFormatError
from dive_py.layers.compression import decompressing_reader, sniff
from dive_py.layers.scan import scan_layer
from dive_py.model import LayerScan
from dive_py.sources.archive import ImageFiles, region_reader

PARALLEL_MIN_BYTES = 48 << 20
"""Below this many bytes to scan, starting worker processes costs more than it saves."""

WORKER_MIN_BYTES = 4 << 20
"""Plain layers smaller than this are scanned here, after the others: a round trip to a worker (a job out,
an encoded scan back, each waiting for this process's GIL) costs more than such a scan (~10 ms against 1)."""

MAX_WORKERS = 2
"""Layers scanned at once (shares); each scan also hashes on a helper thread, so more rarely pays."""

READ_SIZE = 1 << 20

STACKING_SHARE = 0.15
"""With compressed layers (split ahead), this process's share starts this fraction of all the work behind,
as it also stacks every layer. On the gzip benchmark: 2.18-2.23 s against 2.36-2.39 s for an even split;
the worker then lives ~0.15 s longer beside the growing tree: 116-117 MB at the peak instead of 99-102
(dive: 122-174 MB)."""

Prefetched = dict[int, "LayerScan | ImageFormatError"]


@dataclass(frozen=True, slots=True)
class BlobJob:
    """One layer to scan: where its blob is and what it must hash to."""

    index: int
    path: str
    offset: int
    size: int
    what: str
    expected_digest: str | None
    expected_diff_id: str | None


def scan_job(job: BlobJob, cache_root: str | None = None, key: CacheKey | None = None) -> bytes:
    """Scans one blob (in a worker process) and returns its encoded scan; stores it when keyed."""
    encoded = encode_scan(_scan_here(job), job.what)
    if cache_root is not None and key is not None:
        LayerCache(cache_root).put(key, encoded)
    return encoded


def blob_matches(job: BlobJob, key: CacheKey) -> bool:
    """Whether the blob's bytes hash to the key's digest: its stored bytes, or the tar inside for a diff_id.

    Costs a read and a sha256 (~0.6 s a GB here), no parsing: what lets a cached scan
    serve a blob the cache has not seen at this place before.
    """
    try:
        read = region_reader(job.path, job.offset, job.size, f"{job.what} is truncated")
        if key.kind == "diff_id":
            read, _compression = decompressing_reader(read, job.what)
        hasher = hashlib.sha256()
        while chunk := read(READ_SIZE):
            hasher.update(chunk)
    except (ImageFormatError, OSError):
        return False
    return "sha256:" + hasher.hexdigest() == key.digest


def _pool_context():  # noqa: ANN202
    # fork is quick and safe while no other thread runs (the CLI); a UI loads on a thread, so spawn.
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


Assignment = list[tuple[BlobJob, "CacheKey | None"]]


def _worker_main(conn: Connection) -> None:
    """A worker process: gets the cache folder and a job at a time, sends each layer's result when done,
    and exits when it gets no job.

    A result is the encoded scan, the :class:`ImageFormatError` the scan raised, or None for
    anything else (the main process then scans that layer itself and reports what it finds).
    """
    try:
        while True:
            cache_root, job, key = conn.recv()
            if job is None:
                break
            try:
                encoded = scan_job(job, cache_root, key)
            except ImageFormatError as exc:
                conn.send(exc)
            except Exception:  # noqa: BLE001 - reported as "scan it here", where it raises properly
                conn.send(None)
            else:
                conn.send(b"")
                conn.send_bytes(encoded)  # as it is: no pickled copy
                del encoded
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        conn.close()


class _Worker:
    """One scan process. It exits as soon as it is given no more layers, so that its memory is not
    held while the main process builds the tree (a process pool keeps idle workers to the end)."""

    def __init__(self, context) -> None:  # noqa: ANN001 - a multiprocessing context
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True, name="divepy-scan")
        self.process.start()
        child.close()

    def scan(self, job: BlobJob, key: CacheKey | None, cache_root: str | None) -> bytes | ImageFormatError | None:
        """One layer's result (see :func:`_worker_main`).

        Raises:
            EOFError, OSError: the worker died (killed, out of memory).
        """
        self.conn.send((cache_root, job, key))
        result = self.conn.recv()
        return self.conn.recv_bytes() if result == b"" else result

    def stop(self) -> None:
        """Sends no job: the process exits at once (:meth:`finish` reaps it)."""
        with contextlib.suppress(OSError):
            self.conn.send((None, None, None))

    def dismiss(self) -> None:
        """Stops a worker that gets no layer, and reaps it."""
        self.stop()
        self.finish()

    def finish(self) -> None:
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():  # pragma: no cover - a stuck worker
            self.process.kill()
            self.process.join()


_prestarted: list[list[_Worker]] = []
"""Worker processes forked ahead by :func:`prestart_workers`, for the next :func:`prefetch_scans`."""


def prestart_workers(workers: int | None = None) -> bool:
    """Forks the scan workers now, while this process runs one thread, for the next :func:`prefetch_scans`.

    The explorer calls it before it starts its loader thread and Textual: workers started from that
    thread would have to be spawned (a fresh interpreter that imports divepy again, plus multiprocessing's
    resource tracker: ~0.3 s of CPU on top of Textual's start-up, on 2 cores). The next
    :func:`prefetch_scans` takes them, and stops those it has nothing for.

    Returns:
        Whether workers were started (fork unavailable, another thread running or one CPU: no).
    """
    count = min(workers or MAX_WORKERS, os.cpu_count() or 1)
    if _prestarted or count < 2 or threading.active_count() != 1:
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    context = multiprocessing.get_context("fork")
    _prestarted.append([_Worker(context) for _ in range(count - 1)])  # one share is scanned on a thread here
    return True


def _take_prestarted() -> list[_Worker] | None:
    try:
        return _prestarted.pop()
    except IndexError:
        return None


def prefetch_scans(
    files: ImageFiles,
    layers: list,  # list[LayerRef]
    *,
    use_cache: bool = True,
    cache_root: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    ready: Callable[[int, LayerScan], bool] | None = None,
) -> Prefetched:
    """Scans what it can of ``layers`` ahead of the serial loop.

    Args:
        files: the opened image.
        layers: the plan's layer references, oldest first.
        use_cache: read and write the layer cache (``--no-cache`` turns it off).
        cache_root: the cache folder (default: the user cache folder).
        workers: processes to use (default: up to 2, as CPUs allow); 1 scans here.
        progress: called with the stored bytes done so far as layers finish.
        ready: called with each layer's scan, in manifest order, as soon as it and every layer
            below it are scanned (while the rest still are); returning False stops the calls.
            Not called for a layer whose scan failed, nor for any above it.

    Returns:
        Per layer index: its scan, or the error its scan raised. Layers missing from it
        (blobs with no file location, e.g. a one-pass stream) are left to the caller.
    """
    prestarted = _take_prestarted()
    try:
        return _prefetch(files, layers, use_cache, cache_root, workers, progress, ready, prestarted)
    finally:
        for worker in prestarted or []:
            if worker.process.exitcode is None and not worker.conn.closed:
                worker.dismiss()  # not needed by this load


def _prefetch(
    files: ImageFiles,
    layers: list,
    use_cache: bool,
    cache_root: str | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
    ready: Callable[[int, LayerScan], bool] | None,
    prestarted: list[_Worker] | None,
) -> Prefetched:
    cache = LayerCache(cache_root) if use_cache else None
    jobs: list[tuple[BlobJob, CacheKey | None, list | None]] = []
    unproven: list[tuple[BlobJob, CacheKey, list | None, LayerScan]] = []
    results: Prefetched = {}
    done = 0
    for index, ref in enumerate(layers):
        try:
            location = files.blob_location(ref.blob)
        except ImageFormatError:
            location = None  # a missing blob: the serial loop raises, in manifest order
        if location is None:
            continue
        path, offset, size = location
        what = f"{files.what}: layer {index + 1} ({ref.blob})"
        job = BlobJob(index, path, offset, size, what, ref.expected_digest, ref.expected_diff_id)
        key = cache_key(ref.expected_digest, ref.expected_diff_id, size) if cache is not None else None
        region = None
        if key is not None and cache is not None:
            region = file_region(path, offset, size)  # before any read: a later change shows as another region
            hit = cache.get(key, what)
            if hit is not None and (not ref.expected_diff_id or hit.diff_id == ref.expected_diff_id):
                if cache.vouches_for(key, region):
                    results[index] = hit
                    done += size
                    continue
                unproven.append((job, key, region, hit))
                continue
        jobs.append((job, key, region))
    if unproven and cache is not None:
        # Blobs the cache has not seen at this place: hash them as stored, two at a time (hashlib frees the GIL).
        from concurrent.futures import ThreadPoolExecutor  # only here: ~3 ms of every start otherwise

        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(unproven))) as pool:
            proven = list(pool.map(lambda item: blob_matches(item[0], item[1]), unproven))
        for (job, key, region, hit), ok in zip(unproven, proven, strict=True):
            if not ok:
                jobs.append((job, key, region))  # the full scan reports what is wrong with it
                continue
            _remember(cache, job, key, region)
            results[job.index] = hit
            done += job.size
    feed = _Feed(results, ready, progress, done)
    feed()
    root = cache.root.rsplit(os.sep, 1)[0] if cache is not None else None
    count = min(workers or MAX_WORKERS, os.cpu_count() or 1, len(jobs))
    if count > 1 and sum(job.size for job, _k, _r in jobs) >= PARALLEL_MIN_BYTES:
        _scan_in_workers(jobs, results, count, root, cache, feed, prestarted)
    else:
        for job, key, region in jobs:
            try:
                results[job.index] = _scan_and_store(job, root, key)
            except ImageFormatError as exc:
                results[job.index] = exc
            else:
                _remember(cache, job, key, region)
            feed.finished(job)
    if root is not None and any(key is not None for _job, key, _region in jobs):
        prune_cache(root)  # entries were written: keep the cache within its limit
    return results


class _Feed:
    """Hands the scans to ``ready`` in manifest order, as far as the layers below are done."""

    def __init__(
        self,
        results: Prefetched,
        ready: Callable[[int, LayerScan], bool] | None,
        progress: Callable[[int], None] | None,
        done: int,
    ) -> None:
        self.results = results
        self.ready = ready
        self.progress = progress
        self.done = done
        """Stored bytes settled so far (scanned, failed, or answered by the cache)."""
        self.next = 0

    def finished(self, job: BlobJob) -> None:
        """One more blob settled: report progress and hand on what is now in order."""
        self.done += job.size
        if self.progress is not None:
            self.progress(self.done)
        self()

    def prepare(self, index: int) -> None:
        """Makes the entries of a scan that must wait for a layer below it, while that one is being scanned:
        else all of them are made after the last scan, on one CPU (~40 % of stacking)."""
        scan = self.results.get(index)
        if self.ready is not None and index > self.next and isinstance(scan, LayerScan):
            scan.entries  # noqa: B018 - made on first access

    def __call__(self) -> None:
        while self.ready is not None:
            scan = self.results.get(self.next)
            if scan is None:
                return  # not scanned yet, or left to the serial loop
            if isinstance(scan, ImageFormatError) or not self.ready(self.next, scan):
                self.ready = None
                return
            self.next += 1


def _remember(cache: LayerCache | None, job: BlobJob, key: CacheKey | None, region: list | None) -> None:
    """After a scan verified a keyed blob: record where, unless the file changed since it was looked at."""
    if cache is not None and key is not None and region is not None:
        if file_region(job.path, job.offset, job.size) == region:
            cache.remember(key, region)


def _scan_here(job: BlobJob) -> LayerScan:
    return scan_layer(
        region_reader(job.path, job.offset, job.size, f"{job.what} is truncated"),
        job.what,
        expected_digest=job.expected_digest,
        expected_diff_id=job.expected_diff_id,
    )


def _scan_and_store(job: BlobJob, cache_root: str | None, key: CacheKey | None) -> LayerScan:
    """Scans one blob in this process and stores its scan in the cache when keyed."""
    scan = _scan_here(job)
    if cache_root is not None and key is not None:
        LayerCache(cache_root).put(key, encode_scan(scan, job.what))
    return scan


def _scan_in_workers(
    jobs: list[tuple[BlobJob, CacheKey | None, list | None]],
    results: Prefetched,
    count: int,
    root: str | None,
    cache: LayerCache | None,
    feed: _Feed,
    prestarted: list[_Worker] | None = None,
) -> None:
    """Scans the layers with ``count`` scanners: a thread of this process and worker processes.

    sha256 and inflating free the GIL (they are most of a scan's cost), so a scan thread here runs
    beside the stacking of the layers with little contention, and its layers need no second copy of
    the interpreter, no sending between processes and no decoding (bench/README.md).

    Plain layers are handed out as scanners come free (the workers start with the largest, this
    process with the bottom layer), so that all end together. Compressed layers are split ahead, by
    their uncompressed size: a worker then ends when its share does, and its memory is free before
    this process has built the whole tree (handing them out would keep it to the end, ~15 MB more
    at the peak than dive's own on the gzip benchmark).
    """
    regions = {job.index: region for job, _key, region in jobs}
    kinds = {job.index: blob_kind(job) for job, _key, _region in jobs}
    pairs = [(job, key) for job, key, _region in jobs]
    spares = list(prestarted or [])
    if all(kind == "none" for kind, _work in kinds.values()):
        takers = plain_takers(pairs, count)
    else:
        shares = assign_jobs(pairs, count, lambda job: kinds[job.index][1], STACKING_SHARE)
        takers = [_taker(share, deque()) for share in shares]
    workers = [spares.pop() if spares else None for _ in takers[:-1]]
    if None in workers:
        context = _pool_context()  # before the threads below start: fork needs a single-threaded process
        workers = [worker or _Worker(context) for worker in workers]
    for worker in spares:
        worker.dismiss()
    outcomes: queue.Queue = queue.Queue()
    pumps = [
        threading.Thread(target=_pump, args=(worker, take, root, outcomes), daemon=True, name="divepy-pump")
        for worker, take in zip(workers, takers[:-1], strict=True)
    ]
    for pump in pumps:
        pump.start()
    threading.Thread(target=_scan_share, args=(takers[-1], root, outcomes), daemon=True, name="divepy-scan").start()
    for _ in range(len(jobs)):
        job, key, result = outcomes.get()
        if isinstance(result, BaseException) and not isinstance(result, ImageFormatError):
            raise result  # a bug in a scan thread: reported like one in this thread
        _settle(job, key, regions[job.index], result, results, cache, feed)
        feed.prepare(job.index)
    for pump, worker in zip(pumps, workers, strict=True):
        pump.join()  # it has told its worker to stop (the worker's memory is free once it has)
        worker.finish()


Take = Callable[[], "tuple[BlobJob, CacheKey | None] | None"]


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
    return [_taker([first], rest) for first in firsts] + [_taker([], rest, small)]


def _taker(own: Assignment, shared: deque, last: Assignment = ()) -> Take:
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


def _scan_share(take: Take, root: str | None, outcomes: queue.Queue) -> None:
    """A scan thread: scans layers as it takes them and stores them in the cache when keyed."""
    while (item := take()) is not None:
        job, key = item
        try:
            scan = _scan_and_store(job, root, key)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            outcomes.put((job, key, exc))
        else:
            outcomes.put((job, key, scan))


def _pump(worker: _Worker, take: Take, root: str | None, outcomes: queue.Queue) -> None:
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


def _settle(
    job: BlobJob,
    key: CacheKey | None,
    region: list | None,
    result: LayerScan | bytes | ImageFormatError | None,
    results: Prefetched,
    cache: LayerCache | None,
    feed: _Feed,
) -> None:
    """Records one layer's outcome: a scan, encoded or not, an error, or None (scan it here)."""
    try:
        if result is None:
            results[job.index] = _scan_here(job)
        elif isinstance(result, (LayerScan, ImageFormatError)):
            results[job.index] = result
        else:
            results[job.index] = decode_scan(result, job.what)
    except ImageFormatError as exc:
        results[job.index] = exc
    else:
        if result is not None:
            _remember(cache, job, key, region)
    feed.finished(job)
