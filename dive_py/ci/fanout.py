"""Provides :func:`run_audit`: :func:`~dive_py.ci.audit.audit_image` fanned out over images.

Three ways, the same rows: in this process (one worker), local worker processes
(``concurrent.futures.ProcessPoolExecutor``: in the standard library, so the core install needs no
Dask), or a Dask distributed cluster (``--dask ADDRESS``; the ``scale`` extra), whose workers share
the object-store cache. Rows come back in the order of the references whatever order they finish in.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from dive_py.ci.audit import AuditSettings, audit_image
from dive_py.errors import ConfigError

Done = Callable[[dict[str, Any]], None]
"""Told each row as its image finishes (the progress display)."""


def default_workers() -> int:
    """Worker processes by default: the CPUs, at most 4 (each image's load is mostly one CPU)."""
    return max(1, min(os.cpu_count() or 1, 4))


def run_audit(
    refs: list[str],
    settings: AuditSettings,
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    done: Done | None = None,
) -> list[dict[str, Any]]:
    """Audits every reference; returns their rows in the order given.

    Raises:
        ConfigError: ``dask_address`` given without the ``distributed`` package, or the cluster unreachable.
    """
    if dask_address:
        return _on_dask(refs, settings, dask_address, done)
    count = min(workers or default_workers(), len(refs))
    if count <= 1:
        rows = []
        for ref in refs:
            rows.append(audit_image(ref, settings))
            if done is not None:
                done(rows[-1])
        return rows
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: workers start from a clean process, whatever threads this one has.
    context = multiprocessing.get_context("forkserver")
    results: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = {pool.submit(audit_image, ref, settings): i for i, ref in enumerate(refs)}
        for future in as_completed(futures):
            results[futures[future]] = _row_of(future, refs[futures[future]])
            if done is not None:
                done(results[futures[future]])
    return [results[i] for i in range(len(refs))]


class _Future(Protocol):
    """A concurrent.futures or Dask future of a row."""

    def result(self) -> dict[str, Any]:
        """The row, or the worker's exception raised."""
        ...


def _row_of(future: _Future, ref: str) -> dict[str, Any]:
    """The future's row; a worker that died (killed, out of memory) makes an error row, not a failed audit."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - whatever the worker raised
        return {"ref": ref, "error": f"worker failed: {type(exc).__name__}: {exc}", "warnings": []}


def _on_dask(refs: list[str], settings: AuditSettings, address: str, done: Done | None) -> list[dict[str, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--dask needs the scale extra: pip install 'divepy[scale]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    results: dict[int, dict[str, Any]] = {}
    run = uuid.uuid4().hex[:12]  # keys of this audit only: the cluster never hands back an older audit's row
    try:
        futures = [
            client.submit(audit_image, ref, settings, pure=False, key=f"divepy-audit-{run}-{i}")
            for i, ref in enumerate(refs)
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            i = index[future.key]
            results[i] = _row_of(future, refs[i])
            if done is not None:
                done(results[i])
    finally:
        client.close()
    return [results[i] for i in range(len(refs))]
