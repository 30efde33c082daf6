"""Provides the scan worker processes: one layer blob at a time, scanned where it lies in its file.

A worker gets a :class:`BlobJob`, scans the blob with the very same :func:`scan_layer` as this process,
and sends the scan back in the compact encoding of :mod:`dive_py.cache.scans` (~17 ms per 100k records
against ~240 ms for pickled objects); it exits when it gets no more layers. Workers can be forked ahead
(:func:`prestart_workers`) while the process still runs one thread.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext

from dive_py.cache.scans import CacheKey, LayerCache, encode_scan
from dive_py.errors import ImageFormatError
from dive_py.layers.scan import scan_layer
from dive_py.model import LayerScan
from dive_py.sources.base import region_reader

MAX_WORKERS = 2
"""Layers scanned at once (shares); each scan also hashes on a helper thread, so more rarely pays."""


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
    encoded = encode_scan(scan_here(job), job.what)
    if cache_root is not None and key is not None:
        LayerCache(cache_root).put(key, encoded)
    return encoded


def scan_here(job: BlobJob) -> LayerScan:
    """Scans one blob region in this process (what a worker does with a job)."""
    return scan_layer(
        region_reader(job.path, job.offset, job.size, f"{job.what} is truncated"),
        job.what,
        expected_digest=job.expected_digest,
        expected_diff_id=job.expected_diff_id,
    )


def scan_and_store(job: BlobJob, cache_root: str | None, key: CacheKey | None) -> LayerScan:
    """Scans one blob in this process and stores its scan in the cache when keyed."""
    scan = scan_here(job)
    if cache_root is not None and key is not None:
        LayerCache(cache_root).put(key, encode_scan(scan, job.what))
    return scan


def pool_context() -> ForkContext | SpawnContext:
    """The multiprocessing context for the workers: fork while single-threaded, else spawn."""
    # fork is quick and safe while no other thread runs (the CLI); a UI loads on a thread, so spawn.
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


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


class Worker:
    """One scan process. It exits as soon as it is given no more layers, so that its memory is not
    held while the main process builds the tree (a process pool keeps idle workers to the end)."""

    def __init__(self, context: ForkContext | SpawnContext) -> None:
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
        result: ImageFormatError | bytes | None = self.conn.recv()  # what _worker_main sends
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
        """Closes the connection and ends the process (killed when it does not stop)."""
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():  # pragma: no cover - a stuck worker
            self.process.kill()
            self.process.join()


_prestarted: list[list[Worker]] = []
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
    _prestarted.append([Worker(context) for _ in range(count - 1)])  # one share is scanned on a thread here
    return True


def take_prestarted() -> list[Worker] | None:
    """The workers :func:`prestart_workers` started, once, or None."""
    try:
        return _prestarted.pop()
    except IndexError:
        return None
