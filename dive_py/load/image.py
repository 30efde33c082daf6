"""Provides ``load_image``: a reference in, an :class:`Image` with scanned layers out."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from dive_py.cache.scans import CachedLayerScan, default_cache_dir
from dive_py.errors import DivepyError, ImageFormatError
from dive_py.layers.compression import decompressing_reader
from dive_py.load.parallel import prefetch_scans
from dive_py.model import Image, Layer, LayerScan
from dive_py.sources.archive import ImageFiles, StreamImage, open_image_files
from dive_py.sources.layouts import ImagePlan, plan_image
from dive_py.sources.reference import load_from_route, route_reference

STACK_WHILE_SCANNING = True
"""Stack each layer into the union tree as soon as it and those below are scanned, while worker processes
scan the rest. The tree then grows while workers live; that costs no more than the final tree alone since
workers send columns (not entry objects) and exit as soon as their share is done (bench/README.md)."""

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(label, done_bytes, total_bytes)`` while layers are read."""

ARCHIVE_SOURCES = ("docker-archive", "oci-archive", "oci-dir", "archive")
_PREFIXES = {
    "docker-archive://": "docker-archive",
    "docker-archive:": "docker-archive",
    "oci-archive://": "oci-archive",
    "oci-archive:": "oci-archive",
    "oci://": "oci-dir",
    "oci:": "oci-dir",
}


@dataclass
class LoadOptions:
    """How to pick and read an image."""

    tag: str | None = None
    platform: str | None = None
    source: str | None = None
    ignore_errors: bool = False
    """Analyse the layers that can be read; record what was skipped as warnings."""
    progress: ProgressCallback | None = None
    username: str | None = None
    """Registry user (``--username``); the password comes from ``DIVEPY_PASSWORD``."""
    password: str | None = None
    insecure: bool = False
    """Talk plain http (and skip TLS checks) to any registry, not only to localhost."""
    use_cache: bool = True
    """Read and write the layer cache in the user cache folder (``--no-cache`` turns it off)."""
    cache_dir: str | None = None
    """The cache folder; default ``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy``."""
    workers: int | None = None
    """Processes that scan layers at once; None picks up to 2, 1 scans in this process."""
    stack_while_scanning: bool | None = None
    """Stack layers while the others are scanned; None: :data:`STACK_WHILE_SCANNING` (on)."""


def split_reference(ref: str, source: str | None = None) -> tuple[str, str | None, str | None]:
    """Splits ``[PREFIX]PATH[:TAG]`` into (source, path, tag).

    A ``:tag`` suffix is taken only when the whole text is not itself an existing path.
    """
    for prefix, name in _PREFIXES.items():
        if ref.startswith(prefix):
            if source is not None and source != name:
                raise DivepyError(f"{ref}: prefix says {name} but --source says {source}")
            source, ref = name, ref[len(prefix) :]
            break
    tag = None
    if not os.path.exists(ref) and ":" in ref:
        # The first colon after which the rest is not a path: tags may hold colons (name:1.0).
        for i, char in enumerate(ref):
            if char == ":" and os.path.exists(ref[:i]) and "/" not in ref[i + 1 :]:
                ref, tag = ref[:i], ref[i + 1 :]
                break
    return source or "archive", ref, tag


def load_image(ref: str, options: LoadOptions | None = None) -> Image:
    """Loads an image from a saved archive, an OCI layout folder, stdin, an engine or a registry.

    Args:
        ref: a path, optionally prefixed (``docker-archive://``, ``oci-archive://``, ``oci://``)
            and suffixed with ``:TAG`` to pick one image of several; ``-`` for stdin;
            ``docker://NAME``, ``podman://NAME`` or ``registry://HOST/REPO[:TAG|@DIGEST]``;
            a bare name that is no path goes to the default source (docker).
        options: tag, platform, source and progress settings.

    Raises:
        DivepyError: the reference cannot be read as an image (exit code 2 in the CLI).
    """
    options = options or LoadOptions()
    route = route_reference(ref, options.source)
    if route is not None:
        return load_from_route(route, options)
    source, path, tag = split_reference(ref, options.source)
    if source not in ARCHIVE_SOURCES:
        raise DivepyError(f"{ref}: unknown source {source!r}")
    tag = options.tag or tag
    files = open_image_files(path)
    try:
        _check_source(files, source, path)
        plan = plan_image(files, tag=tag, platform=options.platform)
        return build_image(files, plan, ref, options)
    finally:
        files.close()


def load_stream(read: Callable[[int], bytes], what: str, options: LoadOptions, total: int = 0) -> Image:
    """Loads an image from an archive read once, start to end (stdin, an engine's export).

    The stream may be a plain tar or a gzip/zstd-compressed one.
    """
    tar_read, _ = decompressing_reader(read, what)
    report = None
    if options.progress is not None:
        progress = options.progress
        report = lambda count: progress(f"reading {what}", count, max(total, count))  # noqa: E731
    files = StreamImage(tar_read, what, report)
    try:
        plan = plan_image(files, tag=options.tag, platform=options.platform)
        return build_image(files, plan, what, options)
    finally:
        files.close()


def _check_source(files: ImageFiles, source: str, path: str) -> None:
    is_dir = os.path.isdir(path)
    if source == "oci-dir" and not is_dir:
        raise ImageFormatError(f"{path}: --source oci-dir wants an OCI layout folder")
    if source in ("docker-archive", "oci-archive") and is_dir:
        raise ImageFormatError(f"{path}: --source {source} wants an archive file, not a folder")
    if source == "oci-archive" and not files.has("index.json"):
        raise ImageFormatError(f"{path}: not an OCI archive (no index.json)")
    if source == "docker-archive" and not files.has("manifest.json"):
        raise ImageFormatError(f"{path}: not a docker-archive (no manifest.json)")


def build_image(files: ImageFiles, plan: ImagePlan, name: str, options: LoadOptions) -> Image:
    """Scans the planned layers in manifest order and pairs them with the history."""
    total = sum(_blob_size(files, ref.blob) for ref in plan.layers)
    done = 0
    layers: list[Layer] = []
    warnings = list(plan.warnings)
    history, history_warning = pair_history(plan.config, len(plan.layers))
    if history_warning:
        warnings.append(history_warning)
    from dive_py.analysis.analyze import Stacker  # here: the analysis imports the image model

    stacker = Stacker()
    stack_while_scanning = options.stack_while_scanning
    if stack_while_scanning is None:
        stack_while_scanning = STACK_WHILE_SCANNING
    prefetched = prefetch_scans(
        files,
        plan.layers,
        use_cache=options.use_cache,
        cache_root=options.cache_dir,
        workers=options.workers,
        progress=_layer_progress(options.progress, f"reading {len(plan.layers)} layers", 0, total),
        ready=(lambda index, scan: _stack_scanned(stacker, index, scan)) if stack_while_scanning else None,
    )
    for index, ref in enumerate(plan.layers):
        what = f"{files.what}: layer {index + 1} ({ref.blob})"
        report = _layer_progress(options.progress, f"layer {index + 1}/{len(plan.layers)}", done, total)
        try:
            found = prefetched.pop(index, None)
            if isinstance(found, ImageFormatError):
                raise found
            scan = found or files.scan(
                ref.blob,
                what,
                expected_digest=ref.expected_digest,
                expected_diff_id=ref.expected_diff_id,
                progress=report,
            )
        except ImageFormatError as exc:
            if not options.ignore_errors:
                raise
            warnings.append(f"skipped: {exc}")
            scan = LayerScan()
        done += _blob_size(files, ref.blob)
        warnings.extend(scan.warnings)
        entry = history[index]
        layers.append(
            Layer(
                index=index,
                id=ref.id,
                digest=ref.digest,
                diff_id=ref.diff_id,
                command=_command(entry),
                created=str(entry.get("created", "")),
                author=str(entry.get("author", "")),
                comment=str(entry.get("comment", "")),
                scan=scan,
            )
        )
    if options.progress is not None:
        options.progress("analysing", total, total)
    return Image(
        name=name,
        layers=layers,
        tags=plan.tags,
        config_digest=plan.config_digest,
        config=plan.config,
        source=plan.source,
        warnings=warnings,
        cache_dir=(options.cache_dir or default_cache_dir()) if options.use_cache else None,
        stacked=stacker,
    )


def _stack_scanned(stacker, index: int, scan: LayerScan) -> bool:  # noqa: ANN001 - analysis.Stacker
    """Stacks a freshly scanned layer while the others are scanned; stops at one the cache holds.

    The entries of a cached scan are decoded only if the figures are not cached as well.
    """
    if isinstance(scan, CachedLayerScan) and not scan.entries_loaded:
        return False
    return stacker.add(index, scan)


def _blob_size(files: ImageFiles, name: str) -> int:
    try:
        return files.size_of(name)
    except DivepyError:
        return 0


def _layer_progress(progress: ProgressCallback | None, label: str, done: int, total: int):
    if progress is None:
        return None
    return lambda count: progress(label, done + count, total)


def pair_history(config: dict, layer_count: int) -> tuple[list[dict], str | None]:
    """Pairs history entries that made a layer (``empty_layer`` skipped) with the layers.

    Returns:
        One history dict per layer (``{}`` where history is missing) and a warning when
        the history does not match the layers (dive panics on some of these).
    """
    raw = config.get("history")
    entries = [h for h in raw if isinstance(h, dict)] if isinstance(raw, list) else []
    with_layers = [h for h in entries if not h.get("empty_layer")]
    paired = with_layers[:layer_count] + [{} for _ in range(layer_count - len(with_layers))]
    warning = None
    if len(with_layers) != layer_count and (entries or layer_count):
        warning = (
            f"image history lists {len(with_layers)} layer-making steps for {layer_count} layers; "
            "commands shown may be missing or misaligned"
        )
    return paired, warning


def _command(entry: dict) -> str:
    created_by = entry.get("created_by")
    if not isinstance(created_by, str):
        return "(missing)" if not entry else ""
    return created_by.removeprefix("/bin/sh -c ")
