"""Provides :func:`open_source`: the one place that turns a reference into a source's files and plan.

Every other module is told which source to read by what this returns; only here is the kind of source
looked at. A source hands back its files (an :class:`~dive_py.sources.base.ImageFiles`, an opener of its
blobs) and the plan of the image chosen in them; here they become :class:`~dive_py.load.blobs.LayerBlobs`,
which scans and keeps them. Streamed sources (stdin, docker://, podman://, a container) have read their
stream whole by then, handing each layer blob to a :class:`~dive_py.load.passing.PassingLayers` (which
scanned it and kept it in the cache's blob store).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace

from dive_py.cache.blobs import BlobCache
from dive_py.cache.scans import LayerCache
from dive_py.errors import ImageFormatError, SourceError
from dive_py.load.blobs import LayerBlobs
from dive_py.load.options import LoadOptions
from dive_py.load.passing import PassingLayers
from dive_py.sources.archive import open_image_files
from dive_py.sources.base import ImageFiles
from dive_py.sources.layouts import ImagePlan, plan_image
from dive_py.sources.platforms import require_platform
from dive_py.sources.reference import (
    ARCHIVE_SOURCES,
    CONTAINER_SOURCES,
    STDIN_SOURCE,
    Reference,
    fallback_sources,
    parse_reference,
)
from dive_py.sources.stream import open_stream


@dataclass
class OpenedSource:
    """A source's files and the plan of the one image chosen in them."""

    files: ImageFiles
    plan: ImagePlan
    name: str
    """What to call the image: the reference as typed (``registry://`` references normalised)."""
    blobs: LayerBlobs
    """The loader's side of the files: scans, keeps and reads back their blobs (close it, not the files)."""


def _opened(
    files: ImageFiles, plan: ImagePlan, name: str, store: BlobCache | None, passed: PassingLayers
) -> OpenedSource:
    return OpenedSource(files, plan, name, LayerBlobs(files, store, passed))


def _store(options: LoadOptions) -> BlobCache | None:
    return BlobCache(options.cache_dir) if options.use_cache else None


def open_source(ref: str, options: LoadOptions) -> OpenedSource:
    """Opens what ``ref`` names and plans its image; the caller scans the layers and closes the files.

    Raises:
        DivepyError: the reference cannot be read as an image; for a bare name sent to the default
            store, the message says which sources were tried.
        ImageSelectionError: also when ``--platform`` names another platform than the image's config.
    """
    opened = _open(ref, options)
    try:
        require_platform(opened.plan, options.platform, opened.name)
    except BaseException:
        opened.blobs.close()
        raise
    return opened


def _open(ref: str, options: LoadOptions) -> OpenedSource:
    reference = parse_reference(ref, options.source)
    if reference.source in ARCHIVE_SOURCES:
        return _open_archive(ref, reference, options)
    if reference.source in CONTAINER_SOURCES:
        return _open_container(reference, options)
    if not reference.fallback:
        return _open_store(ref, reference, options)
    return _open_bare_name(ref, reference, options)


def _open_bare_name(ref: str, reference: Reference, options: LoadOptions) -> OpenedSource:
    """A name that is no path: the local stores in turn; the error says what each answered."""
    answers = []
    access_hint = None  # a store that refused this user: what to do about it beats "prefix the name"
    for source in fallback_sources():
        try:
            return _open_store(ref, replace(reference, source=source), options)
        except SourceError as exc:
            answers.append(exc.message)
            if "permission denied" in exc.message and access_hint is None:
                access_hint = exc.hint
    from dive_py.sources.container import container_engine  # a bare name's last resort: not on the fast path

    tried = ", ".join(fallback_sources())
    engine = container_engine(reference.name)
    if engine is not None:
        raise SourceError(
            f"{reference.name}: no image of that name, but {engine} has a container called so",
            hint=f"divepy container://{reference.name} reads the container (its image and its changes)",
        )
    raise SourceError(
        f"{reference.name}: no such file or folder; {'; '.join(answers)} (tried: archive path, {tried})",
        hint=access_hint
        or "prefix the name with docker://, podman://, containerd:// or registry://, or give a path to a saved image",
    )


def _open_archive(ref: str, reference: Reference, options: LoadOptions) -> OpenedSource:
    store = _store(options)
    passed = PassingLayers(store)
    files = open_image_files(reference.name, passed)
    try:
        _check_layout(files, reference.source, reference.name)
        plan = plan_image(files, tag=options.tag or reference.tag, platform=options.platform)
    except BaseException:
        LayerBlobs(files, store, passed).close()
        raise
    return _opened(files, plan, ref, store, passed)


def _open_container(reference: Reference, options: LoadOptions) -> OpenedSource:
    """A container: its image and, on top, its writable layer as ``docker commit`` would store it."""
    from dive_py.sources.container import open_container  # here: archives (the explorer's first paint) skip it

    store = _store(options)
    passed = PassingLayers(store)
    files, plan = open_container(reference.name, reference.source, progress=options.progress, sink=passed)
    plan.source = f"{files.origin} ({plan.source})"
    return _opened(files, plan, files.what, store, passed)


def _open_store(ref: str, reference: Reference, options: LoadOptions) -> OpenedSource:
    # The engines' and the registry's clients (http, ssl, email) only for the stores: an archive does without.
    from dive_py.sources.containerd import open_containerd_image
    from dive_py.sources.engine import open_docker_image
    from dive_py.sources.podman import open_podman_image
    from dive_py.sources.registry.image import open_registry_image, registry_client

    store = _store(options)
    passed = PassingLayers(store)
    if reference.source == "registry":
        client, name = registry_client(
            reference.name, username=options.username, password=options.password, insecure=options.insecure
        )
        remote, plan = open_registry_image(client, name, options.platform, store)
        scans = LayerCache(options.cache_dir) if options.use_cache else None
        return OpenedSource(remote, plan, f"registry://{name}", LayerBlobs(remote, store, passed, scans))
    progress = options.progress
    files: ImageFiles
    tag = None  # an export holds just the named image: a --tag meant for an archive must not filter it
    if reference.source == STDIN_SOURCE:
        check_stdin_piped()
        files = open_stream(sys.stdin.buffer.read, "stdin", progress=progress, sink=passed)
        tag, ref = options.tag, "stdin"
    elif reference.source == "docker":
        files = open_docker_image(reference.name, platform=options.platform, progress=progress, sink=passed)
    elif reference.source == "podman":
        files = open_podman_image(reference.name, platform=options.platform, progress=progress, sink=passed)
    else:
        files = open_containerd_image(reference.name, options.namespace)
    try:
        plan = plan_image(files, tag=tag, platform=options.platform)
    except BaseException:
        LayerBlobs(files, store, passed).close()
        raise
    if files.origin:
        plan.source = f"{files.origin} ({plan.source})"
    return _opened(files, plan, ref if reference.source == STDIN_SOURCE else files.what, store, passed)


def check_stdin_piped() -> None:
    """``-`` reads an archive from stdin: a terminal there would wait for a tar archive typed in.

    Raises:
        SourceError: stdin is a terminal.
    """
    if sys.stdin is None or sys.stdin.isatty():
        raise SourceError(
            "-: stdin is a terminal; `-` reads an image archive piped in",
            hint="pipe one in, `docker save IMAGE | divepy -`, or give the archive's path",
        )


def _check_layout(files: ImageFiles, source: str, path: str) -> None:
    """A forced ``--source`` (or prefix) must match what the path holds."""
    is_dir = os.path.isdir(path)
    if source == "oci-dir" and not is_dir:
        raise ImageFormatError(f"{path}: --source oci-dir wants an OCI layout folder")
    if source in ("docker-archive", "oci-archive") and is_dir:
        raise ImageFormatError(f"{path}: --source {source} wants an archive file, not a folder")
    if source == "oci-archive" and not files.has("index.json"):
        raise ImageFormatError(f"{path}: not an OCI archive (no index.json)")
    if source == "docker-archive" and not files.has("manifest.json"):
        raise ImageFormatError(f"{path}: not a docker-archive (no manifest.json)")
