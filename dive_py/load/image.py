"""Provides :func:`load_image`: a reference in, an :class:`Image` with scanned layers out.

The source is opened by :func:`dive_py.load.dispatch.open_source`; its layers are then scanned in
manifest order (ahead of time, in parallel or from the cache, by :mod:`dive_py.load.parallel`, else by
:class:`dive_py.load.blobs.LayerBlobs`) and paired with the config's history. The image keeps the
:class:`~dive_py.load.blobs.LayerBlobs` as its reader of layer blobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dive_py.cache.blobs import BlobCache
from dive_py.cache.scans import CachedLayerScan
from dive_py.errors import DivepyError, ImageFormatError
from dive_py.load.blobs import LayerBlobs
from dive_py.load.dispatch import open_source
from dive_py.load.history import command_of, pair_history
from dive_py.load.options import STACK_WHILE_SCANNING, LoadOptions
from dive_py.load.parallel import Prefetched, prefetch_scans
from dive_py.model import Image, Layer, LayerScan, ProgressCallback, Read
from dive_py.sources.base import ImageFiles
from dive_py.sources.layouts import ImagePlan, LayerRef
from dive_py.sources.platforms import plan_platform

LayerReady = Callable[[int, LayerScan], bool]
"""Told ``(index, scan)`` of each layer in order as soon as it can be; returns False to stop being told."""


def load_image(ref: str, options: LoadOptions | None = None, on_layer: LayerReady | None = None) -> Image:
    """Loads an image from a saved archive, an OCI layout folder, stdin, an engine or a registry.

    Args:
        ref: what the user typed (see :func:`dive_py.sources.reference.parse_reference`).
        options: tag, platform, source, cache and progress settings.
        on_layer: see :func:`build_image` (the analysis stacks layers with it while others are scanned).

    Raises:
        DivepyError: the reference cannot be read as an image (exit code 2 in the CLI).
    """
    options = options or LoadOptions()
    opened = open_source(ref, options)
    try:
        return build_image(opened.files, opened.plan, opened.name, options, on_layer, blobs=opened.blobs)
    finally:
        opened.blobs.close()


class SourceBlobs:
    """An image's reader of its layer blobs, by the plan's blob names."""

    def __init__(self, blobs: LayerBlobs, blob_names: list[str]) -> None:
        self._blobs = blobs
        self._names = blob_names

    def open_layer(self, index: int) -> Read:
        """A reader of layer ``index``'s blob."""
        return self._blobs.open(self._names[index])


def build_image(
    files: ImageFiles,
    plan: ImagePlan,
    name: str,
    options: LoadOptions,
    on_layer: LayerReady | None = None,
    *,
    blobs: LayerBlobs | None = None,
) -> Image:
    """Scans the planned layers in manifest order and pairs them with the history.

    Args:
        files: the source's files.
        plan: the image chosen in them.
        name: what to call the image.
        options: how to read (cache, workers, progress, errors).
        on_layer: told each layer's scan in manifest order, as soon as it and every layer below are
            scanned (while the rest still are, unless ``options.stack_while_scanning`` is off);
            returning False stops the calls.
        blobs: the loader's side of ``files`` (scans, keeps and reads back blobs); by default over the
            blob store ``options`` name. It becomes the image's reader of its blobs.
    """
    if blobs is None:
        blobs = LayerBlobs(files, BlobCache(options.cache_dir) if options.use_cache else None)
    total = sum(_blob_size(files, ref.blob) for ref in plan.layers)
    done = 0
    layers: list[Layer] = []
    warnings = list(plan.warnings)
    history, history_warning = pair_history(plan.config, len(plan.layers))
    if history_warning:
        warnings.append(history_warning)
    prefetched = _prefetch(files, plan, options, on_layer, total)
    for index, ref in enumerate(plan.layers):
        what = f"{files.what}: layer {index} ({ref.blob})"
        report = _layer_progress(options.progress, f"layer {index} ({index + 1} of {len(plan.layers)})", done, total)
        try:
            found = prefetched.pop(index, None)
            if isinstance(found, ImageFormatError):
                raise found
            scan = found or blobs.scan(ref, what, report)
        except ImageFormatError as exc:
            if not options.ignore_errors:
                raise
            warnings.append(f"skipped: {exc}")
            scan = LayerScan()
        done += _blob_size(files, ref.blob)
        warnings.extend(scan.warnings)
        layers.append(_layer(index, ref, history[index], scan))
    if options.progress is not None:
        options.progress("analysing", total, total)
    return _image(name, plan, layers, warnings, blobs)


def _image(name: str, plan: ImagePlan, layers: list[Layer], warnings: list[str], blobs: LayerBlobs) -> Image:
    """The image of the plan's scanned layers; ``blobs`` becomes its reader of its layer blobs."""
    return Image(
        name=name,
        layers=layers,
        tags=plan.tags,
        config_digest=plan.config_digest,
        config=plan.config,
        provenance=plan.provenance,
        source=plan.source,
        platform=plan_platform(plan),
        warnings=warnings,
        blobs=SourceBlobs(blobs, [ref.blob for ref in plan.layers]),
    )


def _prefetch(
    files: ImageFiles, plan: ImagePlan, options: LoadOptions, on_layer: LayerReady | None, total: int
) -> Prefetched:
    """Starts scanning the layers ahead (cache, workers), passing each on as it and those below are ready."""
    stack_while_scanning = options.stack_while_scanning
    if stack_while_scanning is None:
        stack_while_scanning = STACK_WHILE_SCANNING
    ready = None
    if stack_while_scanning and on_layer is not None:
        ready = lambda index, scan: _pass_on(on_layer, index, scan)  # noqa: E731
    return prefetch_scans(
        files,
        plan.layers,
        use_cache=options.use_cache,
        cache_root=options.cache_dir,
        workers=options.workers,
        progress=_layer_progress(options.progress, f"reading {len(plan.layers)} layers", 0, total),
        ready=ready,
    )


def _layer(index: int, ref: LayerRef, entry: dict[str, Any], scan: LayerScan) -> Layer:
    """The layer at ``index``: its blob's names, the history entry that made it and its scan."""
    return Layer(
        index=index,
        id=ref.id,
        digest=ref.digest,
        diff_id=ref.diff_id,
        command=command_of(entry),
        created=str(entry.get("created", "")),
        author=str(entry.get("author", "")),
        comment=str(entry.get("comment", "")),
        scan=scan,
        label=ref.label,
    )


def _pass_on(on_layer: LayerReady, index: int, scan: LayerScan) -> bool:
    """Passes a freshly scanned layer on; stops at one the cache holds whose entries are not decoded yet.

    (Its entries are decoded only if the analysis needs them: not when its figures are cached too.)
    """
    if isinstance(scan, CachedLayerScan) and not scan.entries_loaded:
        return False
    return on_layer(index, scan)


def _blob_size(files: ImageFiles, name: str) -> int:
    try:
        return files.size_of(name)
    except DivepyError:
        return 0


def _layer_progress(
    progress: ProgressCallback | None, label: str, done: int, total: int
) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda count: progress(label, done + count, total)
