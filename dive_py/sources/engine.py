"""Provides the local stores: Docker Engine API exports and Podman saves, streamed into the loader.

``docker://NAME`` asks the engine (``DOCKER_HOST``, the current docker context, or
``/var/run/docker.sock``) for ``GET /images/{name}/json`` to tell a missing image from a broken
one, then streams ``GET /images/{name}/get`` straight into a one-pass archive reader: no temp
file and no docker CLI. Both the classic store's archive and the containerd store's (Docker 25+,
OCI layout plus ``manifest.json``) are plain ``docker save`` archives to the loader.

``podman://NAME`` uses Podman's Docker-compatible API when ``CONTAINER_HOST`` names its socket,
else streams ``podman image save`` from the podman CLI.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from dive_py.errors import DivepyError, SourceError
from dive_py.load.image import LoadOptions, load_stream
from dive_py.model import Image

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
"""Where the Docker CLI looks when neither DOCKER_HOST nor a context says otherwise."""

API_TIMEOUT = 60.0
"""Seconds to wait for the engine to answer or send more bytes (a big export can pause while it packs)."""

PODMAN_ERROR_LINES = 3
"""How many lines of podman's stderr to quote in an error."""


@dataclass(frozen=True)
class EngineHost:
    """Where an engine's API listens."""

    url: str
    """``unix:///path`` or ``tcp://host:port`` as configured."""
    tls: ssl.SSLContext | None = None
    origin: str = "default"
    """What chose it: ``DOCKER_HOST``, ``context NAME``, ``CONTAINER_HOST`` or ``default``."""


def docker_config_dir() -> str:
    """The docker CLI's config folder: ``DOCKER_CONFIG`` or ``~/.docker``."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def resolve_docker_host() -> EngineHost:
    """Finds the Docker engine the way the docker CLI does: DOCKER_HOST, then the current context.

    Raises:
        SourceError: the configured context does not exist or has no docker endpoint.
    """
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return EngineHost(host, _tls_from_env(host), "DOCKER_HOST")
    context = os.environ.get("DOCKER_CONTEXT", "").strip() or _current_context()
    if context and context != "default":
        return _context_host(context)
    return EngineHost(DEFAULT_DOCKER_HOST)


def _current_context() -> str:
    try:
        with open(os.path.join(docker_config_dir(), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, RecursionError):
        return ""
    value = config.get("currentContext") if isinstance(config, dict) else None
    return value if isinstance(value, str) else ""


def _context_host(name: str) -> EngineHost:
    """Reads ``contexts/meta/<sha256(name)>/meta.json``, where the docker CLI stores a context."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_path = os.path.join(docker_config_dir(), "contexts", "meta", digest, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        endpoint = meta["Endpoints"]["docker"]
        host = endpoint["Host"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise SourceError(f"docker context {name!r} not found or has no docker endpoint ({meta_path})") from None
    tls = None
    tls_dir = os.path.join(docker_config_dir(), "contexts", "tls", digest, "docker")
    if os.path.isdir(tls_dir):
        tls = _tls_context(tls_dir, verify=not endpoint.get("SkipTLSVerify", False))
    return EngineHost(host, tls, f"context {name}")


def _tls_from_env(host: str) -> ssl.SSLContext | None:
    if not host.startswith("tcp://"):
        return None
    verify = os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = os.environ.get("DOCKER_CERT_PATH", "")
    if not verify and not cert_path:
        return None
    return _tls_context(cert_path or docker_config_dir(), verify=verify)


def _tls_context(folder: str, *, verify: bool) -> ssl.SSLContext:
    ca = os.path.join(folder, "ca.pem")
    context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        context.load_cert_chain(cert, key)
    return context


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
            raise SourceError(
                f"{self.name}: cannot reach the engine at {self.host.url} ({self.host.origin}): {_reason(exc)}",
                hint=_unreachable_hint(self.name),
            ) from None

    def inspect_image(self, name: str) -> dict:
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


def _platform_object(platform: str) -> dict:
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


def load_from_engine(client: EngineClient, name: str, options: LoadOptions) -> Image:
    """Streams an image out of an engine's API into the loader.

    Raises:
        SourceError: the engine is unreachable, the image is missing, or the export fails.
        ImageFormatError: the export is not a readable archive.
    """
    info = client.inspect_image(name)
    size = info.get("Size")
    total = size if isinstance(size, int) else 0
    what = f"{client.name}://{name}"
    response = client.export_image(name, options.platform)
    try:
        image = load_stream(_read_or_fail(response, what), what, _single_image(options), total=total)
    finally:
        response.close()
    image.source = f"{client.name} engine ({image.source})"
    return image


def _single_image(options: LoadOptions) -> LoadOptions:
    """An export holds just the named image, so a ``--tag`` meant for an archive must not filter it."""
    if options.tag is None:
        return options
    return LoadOptions(**{**options.__dict__, "tag": None})


def load_from_docker(name: str, options: LoadOptions) -> Image:
    """Reads ``docker://NAME`` from the Docker engine's local store."""
    return load_from_engine(EngineClient(resolve_docker_host(), "docker"), name, options)


# -- podman ------------------------------------------------------------------


def podman_command() -> list[str]:
    """The podman CLI and its global flags: ``DIVEPY_PODMAN`` (split on spaces) or ``podman``."""
    configured = os.environ.get("DIVEPY_PODMAN", "").split()
    return configured or ["podman"]


def load_from_podman(name: str, options: LoadOptions) -> Image:
    """Reads ``podman://NAME``: through Podman's API socket when CONTAINER_HOST is set, else its CLI.

    Raises:
        SourceError: podman is missing or unreachable, or the image is not in its store.
    """
    host = os.environ.get("CONTAINER_HOST", "").strip()
    if host:
        if host.startswith("ssh://"):
            raise SourceError(f"podman: CONTAINER_HOST={host} is ssh://, which divepy cannot reach; use unix://")
        return load_from_engine(EngineClient(EngineHost(host, None, "CONTAINER_HOST"), "podman"), name, options)
    command = podman_command()
    if shutil.which(command[0]) is None:
        raise SourceError(
            f"podman: the podman command ({command[0]}) is not installed",
            hint="install podman, or set CONTAINER_HOST to a podman API socket",
        )
    _podman_check_exists(command, name)
    return _podman_save(command, name, options)


def _podman_check_exists(command: list[str], name: str) -> None:
    result = subprocess.run(
        [*command, "image", "exists", name], capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode == 1:
        raise SourceError(
            f"podman: image {name!r} not found in the local store (divepy does not pull)",
            hint=f"`podman pull {name}` first",
        )
    if result.returncode != 0:
        raise SourceError(f"podman: `podman image exists` failed: {_last_lines(result.stderr)}")


def _podman_save(command: list[str], name: str, options: LoadOptions) -> Image:
    """Streams ``podman image save --format docker-archive NAME`` from the CLI's stdout."""
    args = [*command, "image", "save", "--format", "docker-archive", name]
    what = f"podman://{name}"
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        error: DivepyError | None = None
        image = None
        try:
            image = load_stream(proc.stdout.read, what, _single_image(options))
        except DivepyError as exc:
            error = exc
        finally:
            proc.stdout.close()
            stderr = proc.stderr.read()
            returncode = proc.wait()
        broken_pipe = b"broken pipe" in stderr.lower()
        if returncode != 0 and (error is None or not broken_pipe):
            # podman's own message explains a cut-off stream better than the archive reader can.
            raise SourceError(f"podman: `podman image save {name}` failed: {_last_lines(stderr)}") from None
        if error is not None:
            raise error
    assert image is not None
    image.source = f"podman ({image.source})"
    return image


def _last_lines(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return " / ".join(lines[-PODMAN_ERROR_LINES:]) or "no message"
