"""Provides ``docker://``: an image streamed out of the Docker Engine API (or Podman's compatible one).

``GET /images/{name}/json`` tells a missing image from a broken one, then ``GET /images/{name}/get`` streams
straight into a one-pass archive reader (:class:`~dive_py.sources.stream.StreamImage`): no temp file and no
docker CLI. Both the classic store's archive and the containerd store's (Docker 25+, OCI layout plus
``manifest.json``) are plain ``docker save`` archives to the reader.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

from dive_py.errors import SourceError
from dive_py.model import ProgressCallback
from dive_py.sources.base import LayerSink
from dive_py.sources.docker_config import EngineHost, resolve_docker_host
from dive_py.sources.stream import StreamImage, open_stream

API_TIMEOUT = 60.0
"""Seconds to wait for the engine to answer or send more bytes (a big export can pause while it packs)."""


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's default endpoint)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class EngineClient:
    """A minimal Docker Engine API client (also fits Podman's compatible API)."""

    def __init__(self, host: EngineHost, name: str = "docker", timeout: float = API_TIMEOUT) -> None:
        self.host = host
        self.name = name
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        url = self.host.url
        if url.startswith("unix://"):
            return _UnixConnection(url[len("unix://") :], self.timeout)
        if url.startswith(("tcp://", "http://", "https://")):
            parsed = urllib.parse.urlsplit(url if "://" in url else f"tcp://{url}")
            port = parsed.port or (2376 if self.host.tls else 2375)
            hostname = parsed.hostname or "localhost"
            if self.host.tls is not None or parsed.scheme == "https":
                return http.client.HTTPSConnection(hostname, port, timeout=self.timeout, context=self.host.tls)
            return http.client.HTTPConnection(hostname, port, timeout=self.timeout)
        raise SourceError(f"{self.name}: unsupported engine address {url!r} (want unix:// or tcp://)")

    def get(self, path: str) -> http.client.HTTPResponse:
        """Sends ``GET path`` and returns the open response (any status).

        Raises:
            SourceError: the engine cannot be reached.
        """
        connection = self._connection()
        try:
            connection.request("GET", path, headers={"Host": "docker", "User-Agent": "divepy"})
            return connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            if isinstance(exc, PermissionError):
                raise SourceError(
                    f"{self.name}: permission denied on {self.host.url} ({self.host.origin}): the engine is there, "
                    "but this user may not use its socket",
                    hint=_access_hint(self.name),
                ) from None
            raise SourceError(
                f"{self.name}: cannot reach the engine at {self.host.url} ({self.host.origin}): {_reason(exc)}",
                hint=_unreachable_hint(self.name),
            ) from None

    def inspect_image(self, name: str) -> dict[str, Any]:
        """``GET /images/{name}/json``: the image's metadata.

        Raises:
            SourceError: no such image in the local store, or the engine fails.
        """
        response = self.get(f"/images/{_quote(name)}/json")
        body = response.read()
        response.close()
        if response.status == 404:
            raise SourceError(
                f"{self.name}: image {name!r} not found in the local store (divepy does not pull)",
                hint=f"`{self.name} pull {name}` first, or read it from a registry with registry://",
            )
        _check_status(self.name, response.status, body, f"inspecting {name!r}")
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise SourceError(f"{self.name}: the engine's answer about {name!r} is not JSON") from None
        if not isinstance(value, dict):
            raise SourceError(f"{self.name}: the engine's answer about {name!r} is not an object")
        return value

    def export_image(self, name: str, platform: str | None = None) -> http.client.HTTPResponse:
        """``GET /images/{name}/get``: the ``docker save`` archive, as an open response to read once."""
        path = f"/images/{_quote(name)}/get"
        if platform:
            # Engines with the containerd store (API 1.48+) export one platform of a multi-arch image.
            path += "?" + urllib.parse.urlencode({"platform": json.dumps(_platform_object(platform))})
        response = self.get(path)
        if response.status != 200:
            body = response.read()
            response.close()
            _check_status(self.name, response.status, body, f"exporting {name!r}")
        return response


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="/:@")


def _platform_object(platform: str) -> dict[str, Any]:
    parts = platform.split("/")
    value = {"os": parts[0]}
    if len(parts) > 1:
        value["architecture"] = parts[1]
    if len(parts) > 2:
        value["variant"] = parts[2]
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such socket"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _unreachable_hint(name: str) -> str:
    if name == "podman":
        return "start `podman system service`, or unset CONTAINER_HOST to use the podman CLI"
    return "is dockerd running? set DOCKER_HOST or `docker context use` to point at it"


def _access_hint(name: str) -> str:
    if name == "podman":
        return "run as the socket's owner, or use your own rootless Podman's $XDG_RUNTIME_DIR/podman/podman.sock"
    return (
        "join the docker group (`sudo usermod -aG docker $USER`, then log in again), run with sudo, or use "
        "rootless Podman (podman://, its socket $XDG_RUNTIME_DIR/podman/podman.sock)"
    )


def _check_status(name: str, status: int, body: bytes, doing: str) -> None:
    if 200 <= status < 300:
        return
    message = ""
    try:
        value = json.loads(body)
        if isinstance(value, dict):
            message = str(value.get("message") or value.get("cause") or "")
    except (ValueError, RecursionError):
        message = body.decode("utf-8", "replace").strip()
    first_line = (message.splitlines() or [""])[0][:300]
    raise SourceError(f"{name}: the engine failed {doing}: HTTP {status} {first_line}".rstrip())


def _read_or_fail(response: http.client.HTTPResponse, what: str) -> Callable[[int], bytes]:
    """Wraps ``response.read`` so that a dropped connection is a one-line source error."""

    def read(n: int = -1) -> bytes:
        try:
            return response.read(n)
        except (OSError, http.client.HTTPException) as exc:
            raise SourceError(f"{what}: the engine's export broke off: {_reason(exc)}") from None

    return read


def open_engine_image(
    client: EngineClient,
    name: str,
    *,
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    sink: LayerSink,
) -> StreamImage:
    """Streams an image out of an engine's API into a one-pass reader.

    Raises:
        SourceError: the engine is unreachable, the image is missing, or the export fails.
        ImageFormatError: the export is not a readable archive.
    """
    info = client.inspect_image(name)
    size = info.get("Size")
    total = size if isinstance(size, int) else 0
    what = f"{client.name}://{name}"
    response = client.export_image(name, platform)
    try:
        files = open_stream(_read_or_fail(response, what), what, progress=progress, total=total, sink=sink)
    finally:
        response.close()
    files.origin = f"{client.name} engine"
    return files


def open_docker_image(name: str, **kwargs: Any) -> StreamImage:  # the keywords of open_engine_image
    """Reads ``docker://NAME`` from the Docker engine's local store."""
    return open_engine_image(EngineClient(resolve_docker_host(), "docker"), name, **kwargs)
