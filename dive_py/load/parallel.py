"""Provides ``prefetch_scans``: the layers of a seekable image scanned from the cache or in parallel.

Before :func:`dive_py.load.image.build_image` walks the layers in manifest order, the
layers whose blobs sit at a known place in a file (a tar archive member, a file of an
OCI folder) are looked up in the layer cache (an entry serves only a blob proven to hold
the bytes it was made from: see :mod:`dive_py.cache.scans`), and the rest are scanned by a
thread of this process and a worker process (:mod:`dive_py.load.workers`; who takes
which: :mod:`dive_py.load.shares`). Both run the very same :func:`scan_layer` as the serial path, so the
results are identical; an error is carried back and raised at its layer, in manifest order.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable

from dive_py.cache.scans import CacheKey, LayerCache, Region, cache_key, decode_scan, file_region
from dive_py.cache.store import layer_lock, prune_cache
from dive_py.errors import ImageFormatError
from dive_py.layers.compression import decompressing_reader
from dive_py.load import shares
from dive_py.load import workers as processes
from dive_py.load.workers import MAX_WORKERS, BlobJob, Worker, scan_and_store, scan_here
from dive_py.model import LayerScan
from dive_py.sources.base import ImageFiles, region_reader
from dive_py.sources.plan import LayerRef

PARALLEL_MIN_BYTES = 48 << 20
"""Below this many bytes to scan, starting worker processes costs more than it saves."""

READ_SIZE = 1 << 20

STACKING_SHARE = 0.15
"""With compressed layers (split ahead), this process's share starts this fraction of all the work behind,
as it also stacks every layer. On the gzip benchmark: 2.18-2.23 s against 2.36-2.39 s for an even split;
the worker then lives ~0.15 s longer beside the growing tree: 116-117 MB at the peak instead of 99-102
(dive: 122-174 MB)."""

Prefetched = dict[int, "LayerScan | ImageFormatError"]


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


def prefetch_scans(
    files: ImageFiles,
    layers: list[LayerRef],
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
    prestarted = processes.take_prestarted()
    try:
        return _prefetch(files, layers, use_cache, cache_root, workers, progress, ready, prestarted)
    finally:
        for worker in prestarted or []:
            if worker.process.exitcode is None and not worker.conn.closed:
                worker.dismiss()  # not needed by this load


def _prefetch(
    files: ImageFiles,
    layers: list[LayerRef],
    use_cache: bool,
    cache_root: str | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
    ready: Callable[[int, LayerScan], bool] | None,
    prestarted: list[Worker] | None,
) -> Prefetched:
    cache = LayerCache(cache_root) if use_cache else None
    jobs: list[tuple[BlobJob, CacheKey | None, Region | None]] = []
    unproven: list[tuple[BlobJob, CacheKey, Region | None, LayerScan]] = []
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
        what = f"{files.what}: layer {index} ({ref.blob})"
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
        done += _prove(cache, unproven, jobs, results)
    feed = _Feed(results, ready, progress, done)
    feed()
    root = cache.root.rsplit(os.sep, 1)[0] if cache is not None else None
    count = min(workers or MAX_WORKERS, os.cpu_count() or 1, len(jobs))
    if count > 1 and sum(job.size for job, _k, _r in jobs) >= PARALLEL_MIN_BYTES:
        _scan_in_workers(jobs, results, count, root, cache, feed, prestarted)
    else:
        _scan_in_turn(jobs, results, root, cache, feed)
    if root is not None and any(key is not None for _job, key, _region in jobs):
        prune_cache(root)  # entries were written: keep the cache within its limit
    return results


def _prove(
    cache: LayerCache,
    unproven: list[tuple[BlobJob, CacheKey, Region | None, LayerScan]],
    jobs: list[tuple[BlobJob, CacheKey | None, Region | None]],
    results: Prefetched,
) -> int:
    """Takes the cached scans of blobs the cache has not seen at this place once their bytes are hashed as
    stored (two at a time: hashlib frees the GIL); the others join ``jobs``. Returns the bytes taken."""
    from concurrent.futures import ThreadPoolExecutor  # only here: ~3 ms of every start otherwise

    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(unproven))) as pool:
        proven = list(pool.map(lambda item: blob_matches(item[0], item[1]), unproven))
    done = 0
    for (job, key, region, hit), ok in zip(unproven, proven, strict=True):
        if not ok:
            jobs.append((job, key, region))  # the full scan reports what is wrong with it
            continue
        _remember(cache, job, key, region)
        results[job.index] = hit
        done += job.size
    return done


def _scan_in_turn(
    jobs: list[tuple[BlobJob, CacheKey | None, Region | None]],
    results: Prefetched,
    root: str | None,
    cache: LayerCache | None,
    feed: _Feed,
) -> None:
    """Scans the jobs one after another in this process (too few or too small for workers)."""
    for job, key, region in jobs:
        keyed = (cache, key) if key is not None and cache is not None else None
        # Held while the layer is scanned: another run of this cache (audit's workers) waits, then takes the scan.
        with layer_lock(root, keyed[1].digest) if keyed else contextlib.nullcontext(False) as waited:
            if waited and keyed and _cached_meanwhile(keyed[0], job, keyed[1], region, results):
                feed.finished(job)
                continue
            try:
                results[job.index] = scan_and_store(job, root, key)
            except ImageFormatError as exc:
                results[job.index] = exc
            else:
                _remember(cache, job, key, region)
        feed.finished(job)


def _cached_meanwhile(
    cache: LayerCache, job: BlobJob, key: CacheKey, region: Region | None, results: Prefetched
) -> bool:
    """After waiting for another run that scanned the same layer: takes its scan if the blob here holds the
    same bytes (hashed, as any scan the cache has not seen at this place)."""
    hit = cache.get(key, job.what)
    if hit is None or (job.expected_diff_id and hit.diff_id != job.expected_diff_id) or not blob_matches(job, key):
        return False
    _remember(cache, job, key, region)
    results[job.index] = hit
    return True


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


def _remember(cache: LayerCache | None, job: BlobJob, key: CacheKey | None, region: Region | None) -> None:
    """After a scan verified a keyed blob: record where, unless the file changed since it was looked at."""
    if cache is not None and key is not None and region is not None:
        if file_region(job.path, job.offset, job.size) == region:
            cache.remember(key, region)


def _scan_in_workers(
    jobs: list[tuple[BlobJob, CacheKey | None, Region | None]],
    results: Prefetched,
    count: int,
    root: str | None,
    cache: LayerCache | None,
    feed: _Feed,
    prestarted: list[Worker] | None = None,
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
    kinds = {job.index: shares.blob_kind(job) for job, _key, _region in jobs}
    pairs = [(job, key) for job, key, _region in jobs]
    spares = list(prestarted or [])
    if all(kind == "none" for kind, _work in kinds.values()):
        takers = shares.plain_takers(pairs, count)
    else:
        split = shares.assign_jobs(pairs, count, lambda job: kinds[job.index][1], STACKING_SHARE)
        takers = [shares.taker(share, deque()) for share in split]
    wanted = len(takers) - 1
    helpers = [spares.pop() for _ in range(min(wanted, len(spares)))]
    if len(helpers) < wanted:
        context = processes.pool_context()  # before the threads below start: fork needs a single-threaded process
        helpers += [Worker(context) for _ in range(wanted - len(helpers))]
    for worker in spares:
        worker.dismiss()
    outcomes: queue.Queue[shares.Outcome] = queue.Queue()
    pumps = [
        threading.Thread(target=shares.pump, args=(worker, take, root, outcomes), daemon=True, name="divepy-pump")
        for worker, take in zip(helpers, takers[:-1], strict=True)
    ]
    for pump in pumps:
        pump.start()
    here = threading.Thread(
        target=shares.scan_share, args=(takers[-1], root, outcomes), daemon=True, name="divepy-scan"
    )
    here.start()
    for _ in range(len(jobs)):
        job, key, result = outcomes.get()
        if isinstance(result, BaseException) and not isinstance(result, ImageFormatError):
            raise result  # a bug in a scan thread: reported like one in this thread
        _settle(job, key, regions[job.index], result, results, cache, feed)
        feed.prepare(job.index)
    for pump, worker in zip(pumps, helpers, strict=True):
        pump.join()  # it has told its worker to stop (the worker's memory is free once it has)
        worker.finish()


def _settle(
    job: BlobJob,
    key: CacheKey | None,
    region: Region | None,
    result: LayerScan | bytes | ImageFormatError | None,
    results: Prefetched,
    cache: LayerCache | None,
    feed: _Feed,
) -> None:
    """Records one layer's outcome: a scan, encoded or not, an error, or None (scan it here)."""
    try:
        if result is None:
            results[job.index] = scan_here(job)
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
