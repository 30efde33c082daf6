"""Provides ``container://NAME_OR_ID``: a container's image with its writable layer on top, not committed.

The image comes out of the engine as ``docker://`` reads it (by the id the container names); the top
layer is the one ``docker commit`` would add, built by :mod:`dive_py.sources.writable_layer` from the
container's changes and its export, handed down to the loader's scanner as it is made (which keeps it in
the blob cache: no temp file),
so that the explorer, ``cat`` and ``extract`` read its files like any layer's. Nothing is written to
the container, and a running one is not paused.

Measured on the seed's scenario (dockerd 20.10, overlay2): the export of the whole container (10.7 MB)
streams in 0.14 s, while ``GET /containers/{id}/archive?path=`` costs ~70 ms a request however small
the path, and the nine it needs (five added folders, four parent folders) cost 0.6 s; at ~450 MB/s an
export costs less than 30 such requests up to a ~13 GB file system. The export is also one pass that
gives exact owners and modes for the parent folders (the archive endpoint can only tar a folder whole).

The engine is found as for bare image names: ``DOCKER_HOST`` or the docker context, then Podman's
API socket (``CONTAINER_HOST``, else its default sockets); ``docker-container://`` and
``podman-container://`` ask one engine only.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dive_py.errors import DivepyError, ImageFormatError, SourceError
from dive_py.model import ProgressCallback
from dive_py.sources.base import ImageFiles, LayerSink
from dive_py.sources.docker_config import EngineHost, resolve_docker_host
from dive_py.sources.engine import EngineClient, _check_status, _quote, _read_or_fail, open_engine_image
from dive_py.sources.layouts import ImagePlan, LayerRef, plan_image
from dive_py.sources.writable_layer import WHITEOUT_MODES, Changes, LayerFilter, chunk_reader, parse_changes

ATTEMPTS = 3
"""Reads of a container that keeps changing before its layer is shown with a line saying so."""

LAYER_MEMBER = "container/writable-layer.tar"
"""The name the writable layer goes by among the image's files."""

TAKEN_AS = "\0" + LAYER_MEMBER
"""The name the writable layer is handed to the sink by: no image member's (a member name holds no NUL)."""


def podman_sockets() -> list[str]:
    """Where Podman's API may listen, in order: ``CONTAINER_HOST``, the user's socket, root's."""
    host = os.environ.get("CONTAINER_HOST", "").strip()
    if host:
        return [host]
    found = []
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    for path in ([os.path.join(runtime, "podman", "podman.sock")] if runtime else []) + ["/run/podman/podman.sock"]:
        if os.path.exists(path):
            found.append(f"unix://{path}")
    return found


def open_container(
    name: str,
    source: str = "container",
    *,
    progress: ProgressCallback | None = None,
    sink: LayerSink,
) -> tuple[ContainerFiles, ImagePlan]:
    """Opens a container's image with its writable layer on top.

    Args:
        name: the container's name or id (a unique id prefix works, as with docker).
        source: one of :data:`CONTAINER_SOURCES`: which engines to ask.
        progress: told how the image's export and the container's read go.
        sink: takes the layer blobs as they pass (the image's, then the writable layer).

    Raises:
        SourceError: no engine knows the container, or none can be reached (one line).
        ImageFormatError: the engine's answers are not what the API promises.
    """
    answers = []
    for client in _engines(source):
        try:
            info = inspect_container(client, name)
        except SourceError as exc:
            if source != "container":
                raise
            answers.append(exc.message)
            continue
        return _open(client, info, f"{source}://{name}", progress, sink)
    unreachable = all("cannot reach the engine" in answer for answer in answers)
    raise SourceError(
        f"container {name!r}: {'; '.join(answers)}",
        hint="is dockerd (or `podman system service`) running? set DOCKER_HOST or CONTAINER_HOST to its socket"
        if unreachable
        else "`docker ps -a` or `podman ps -a` lists the containers; "
        "docker-container:// or podman-container:// asks one engine",
    )


def container_engine(name: str) -> str | None:
    """Which engine (docker, podman) has a container called ``name``; None when none does or none answers.

    For the error on a bare name that no store has as an image: a container's name gets the hint
    ``container://NAME``.
    """
    try:
        clients = _engines("container")
    except DivepyError:
        return None
    for client in clients:
        try:
            inspect_container(client, name)
        except DivepyError:
            continue
        return client.name
    return None


def _engines(source: str) -> list[EngineClient]:
    clients = []
    if source in ("container", "docker-container"):
        clients.append(EngineClient(resolve_docker_host(), "docker"))
    if source in ("container", "podman-container"):
        sockets = podman_sockets()
        if not sockets and source == "podman-container":
            raise SourceError(
                "podman: no API socket (CONTAINER_HOST is unset and none is at the default places)",
                hint="start `podman system service`, or set CONTAINER_HOST=unix:///path/to/podman.sock",
            )
        origin = "CONTAINER_HOST" if os.environ.get("CONTAINER_HOST", "").strip() else "default"
        clients += [EngineClient(EngineHost(url, None, origin), "podman") for url in sockets[:1]]
    return clients


def inspect_container(client: EngineClient, name: str) -> dict[str, Any]:
    """``GET /containers/{name}/json``: the container's id, name, image and command.

    Raises:
        SourceError: no such container, or the engine fails or cannot be reached.
    """
    value = _get_json(client, f"/containers/{_quote(name)}/json", f"inspecting container {name!r}", name)
    if not isinstance(value, dict) or not isinstance(value.get("Id"), str) or not isinstance(value.get("Image"), str):
        raise ImageFormatError(f"{client.name}: the engine's answer about container {name!r} has no Id or Image")
    return value


def _get_json(client: EngineClient, path: str, doing: str, name: str) -> object:
    response = client.get(path)
    try:
        body = response.read()
    finally:
        response.close()
    if response.status == 404:
        raise SourceError(f"{client.name}: no container {name!r}")
    _check_status(client.name, response.status, body, doing)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ImageFormatError(f"{client.name}: the engine's answer {doing} is not JSON") from None


def _open(
    client: EngineClient, info: dict[str, Any], what: str, progress: ProgressCallback | None, sink: LayerSink
) -> tuple[ContainerFiles, ImagePlan]:
    image = open_engine_image(client, info["Image"], progress=progress, sink=sink)
    try:
        plan = plan_image(image)
        layer, warnings = read_writable_layer(client, info["Id"], what, sink, progress)
    except BaseException:
        image.close()
        raise
    files = ContainerFiles(image, layer, what)
    files.origin = f"{client.name} engine"
    plan = with_writable_layer(plan, layer, info)
    plan.warnings.extend(warnings)
    return files, plan


@dataclass
class WritableLayer:
    """The container's writable layer as built, handed to the sink as :data:`TAKEN_AS`."""

    digest: str
    """sha256 of the tar as built (it is uncompressed: also its diff_id)."""
    size: int
    kept: bool
    """Whether the sink keeps it (not with ``--no-cache``)."""


def read_writable_layer(
    client: EngineClient, container_id: str, what: str, sink: LayerSink, progress: ProgressCallback | None
) -> tuple[WritableLayer, list[str]]:
    """Builds the writable layer until the changes before and after the read agree.

    Returns:
        The layer, and a line saying the container kept changing when no read was consistent.
    """
    for _ in range(ATTEMPTS):
        before = _changes(client, container_id, what)
        layer, missing = _read_once(client, container_id, before, what, sink, progress)
        after = _changes(client, container_id, what)
        if before == after and not missing:
            return layer, []
    reason = f"{len(missing)} changed paths were gone" if missing else "its list of changes moved"
    return layer, [
        f"{what}: the container kept changing while divepy read it ({ATTEMPTS} tries, {reason}): "
        "its top layer mixes moments"
    ]


def _changes(client: EngineClient, container_id: str, what: str) -> Changes:
    value = _get_json(client, f"/containers/{_quote(container_id)}/changes", "listing the changes", container_id)
    return parse_changes(value, what)


def _read_once(
    client: EngineClient,
    container_id: str,
    changes: Changes,
    what: str,
    sink: LayerSink,
    progress: ProgressCallback | None,
) -> tuple[WritableLayer, set[str]]:
    response = client.get(f"/containers/{_quote(container_id)}/export")
    try:
        if response.status != 200:
            _check_status(client.name, response.status, response.read(), "exporting the container")
        read = _read_or_fail(response, what)
        if progress is not None:
            read = _counting(read, lambda count: progress(f"reading {what}", count, count))
        layer_filter = LayerFilter(changes, what, WHITEOUT_MODES.get(client.name, 0o600))
        layer = _hand_down(chunk_reader(layer_filter.chunks(read)), f"{what}: writable layer", sink)
    finally:
        response.close()
    return layer, layer_filter.missing


def _hand_down(read: Callable[[int], bytes], what: str, sink: LayerSink) -> WritableLayer:
    """Hands the layer tar to the sink as it is made (scanned, and kept in the blob cache on the way)."""
    size = 0

    def counted(n: int = -1) -> bytes:
        nonlocal size
        data = read(n)
        size += len(data)
        return data

    digest = sink.take(TAKEN_AS, counted, what)
    return WritableLayer(digest, size, sink.keeps)


def _counting(read: Callable[[int], bytes], report: Callable[[int], None]) -> Callable[[int], bytes]:
    count = 0

    def counted(n: int = -1) -> bytes:
        nonlocal count
        data = read(n)
        count += len(data)
        report(count)
        return data

    return counted


def with_writable_layer(plan: ImagePlan, layer: WritableLayer, info: dict[str, Any]) -> ImagePlan:
    """The image's plan with the writable layer on top, in the config as ``docker commit`` would record it."""
    config = copy.deepcopy(plan.config)
    rootfs = found if isinstance(found := config.get("rootfs"), dict) else {}
    diff_ids = listed if isinstance(listed := rootfs.get("diff_ids"), list) else []
    config["rootfs"] = {**rootfs, "diff_ids": [*diff_ids, layer.digest]}
    history = config.get("history")
    if isinstance(history, list):
        made = [entry for entry in history if isinstance(entry, dict) and not entry.get("empty_layer")]
        if len(made) == len(plan.layers):  # a history that matches its layers stays matched
            config["history"] = [*history, _history_entry(info)]
    ref = LayerRef(LAYER_MEMBER, info["Id"], layer.digest, layer.digest, None, None, label=writable_label(info))
    config_digest = "sha256:" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    return replace(plan, config=config, config_digest=config_digest, layers=[*plan.layers, ref], tags=[])


def _history_entry(info: dict[str, Any]) -> dict[str, Any]:
    """What ``docker commit`` records: the command (``Cmd`` joined by spaces) and when."""
    config = found if isinstance(found := info.get("Config"), dict) else {}
    command = listed if isinstance(listed := config.get("Cmd"), list) else []
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "created_by": " ".join(str(part) for part in command),
        "comment": writable_label(info),
    }


def writable_label(info: dict[str, Any]) -> str:
    """The writable layer's name in the explorer, and its history comment (``docker commit`` records none)."""
    return f"container {container_name(info)} (not committed)"


def container_name(info: dict[str, Any]) -> str:
    """The container's name without docker's leading slash, else its short id."""
    name = info.get("Name")
    return name.lstrip("/") if isinstance(name, str) and name.strip("/") else info["Id"][:12]


class ContainerFiles(ImageFiles):
    """The image's files plus the writable layer, :data:`LAYER_MEMBER` (handed to the sink as :data:`TAKEN_AS`)."""

    passes_once = True

    def __init__(self, image: ImageFiles, layer: WritableLayer, what: str) -> None:
        self.image = image
        self.layer = layer
        self.what = what

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        return self.image.names() | {LAYER_MEMBER}

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        return TAKEN_AS if name in (LAYER_MEMBER, TAKEN_AS) else self.image.resolve(name)

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        return self.image.read_bytes(name)

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        return self.layer.size if name in (LAYER_MEMBER, TAKEN_AS) else self.image.size_of(name)

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """Raises why a blob is not at hand (the loader reads it from the blob store)."""
        if name not in (LAYER_MEMBER, TAKEN_AS):
            return self.image.open_blob(name)
        if not self.layer.kept:
            raise DivepyError(
                f"{self.what} was read with --no-cache: its writable layer's files were not kept "
                "(run without --no-cache to read them)"
            )
        raise DivepyError(
            f"{self.what}: the writable layer {self.layer.digest[:19]}… is no longer in divepy's cache: "
            "open the container again to read its files"
        )

    def close(self) -> None:
        """See :meth:`dive_py.sources.base.ImageFiles.close`."""
        self.image.close()
