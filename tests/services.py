"""Provides real services for the engine and registry tests: a private dockerd, Podman, docker-registry.

Each listens only on a unix socket under a fresh temp folder or on 127.0.0.1 at a free port, keeps
its state in that folder, and is stopped by the process id it was started with. A fixture skips
its tests, naming the reason, only when the component cannot start on this machine.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.paths import EXAMPLE, IMAGES

TOMCAT_ARCHIVE = EXAMPLE
"""``docker save tomcat02:1.0`` (legacy layout), the image every source test reads: the bundled example
(byte for byte ``../shared/images/seed/tomcat02.tar``), so a fresh clone has it."""

CORPUS = IMAGES / "corpus"
"""Small builds in several layouts (``../shared/images/corpus``): tests that need them skip without them."""
START_TIMEOUT = 60.0
"""Seconds a service gets to come up."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_archive() -> Path:
    """The archive every engine and registry test loads or pushes: the bundled example, always there."""
    return TOMCAT_ARCHIVE


def corpus_archive(name: str) -> Path:
    """An archive of ``../shared/images/corpus``; skips the test, saying why, when the folder is absent."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"needs ../shared/images/corpus/{name} (a real tool's build, not in the clone)")
    return path


def short_tmpdir(prefix: str) -> Path:
    """A fresh folder for a service's state and sockets. A unix socket path must stay under 108 bytes:
    the system's temp folder when its path is short, else the root one (``/tmp`` on Linux)."""
    base = tempfile.gettempdir()
    if len(base) > 40:
        base = os.path.abspath(os.sep + "tmp")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def _stop(proc: subprocess.Popen, grace: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# -- dockerd -------------------------------------------------------------------


class DockerDaemon:
    """A private dockerd on a unix socket, flags as in ``shared/tools/build-corpus.sh``."""

    def __init__(self) -> None:
        self.root = short_tmpdir("divepy-dockerd-")
        self.socket = self.root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.proc: subprocess.Popen | None = None
        # The Debian CLI matches the Debian daemon; any docker CLI speaks to it.
        self.cli = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def start(self) -> None:
        if shutil.which("dockerd") is None:
            pytest.skip("dockerd is not installed (apt-get install docker.io; .ci/services.sh does)")
        if os.geteuid() != 0:
            pytest.skip("a private dockerd needs root")
        log = open(self.root / "dockerd.log", "wb")  # noqa: SIM115 - kept for the daemon's life
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--host",
                self.host,
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "dockerd.pid"),
                "--storage-driver=overlay2",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--ip-forward=false",
                "--ip-masq=false",
                "--userland-proxy=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.socket.exists() and self.run("version", check=False).returncode == 0:
                return
            time.sleep(0.5)
        tail = _log_tail(self.root / "dockerd.log")
        self.stop()
        pytest.skip(f"private dockerd did not start: {tail}")

    def run(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
        return subprocess.run(
            [self.cli, *args], env=self.env, capture_output=True, check=check, stdin=subprocess.DEVNULL, **kwargs
        )

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


def _with_seed_loaded(engine):  # noqa: ANN001, ANN202 - DockerDaemon | Podman
    """Starts an engine, loads the seed image into it, and stops it after the session."""
    engine.start()
    try:
        engine.run("load", "-i", str(seed_archive()))
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def dockerd() -> Iterator[DockerDaemon]:
    yield from _with_seed_loaded(DockerDaemon())


# -- podman --------------------------------------------------------------------


class Podman:
    """Podman with its own storage (vfs) and config, used through its CLI and its API service."""

    def __init__(self) -> None:
        self.root = short_tmpdir("divepy-podman-")
        (self.root / "storage.conf").write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{self.root}/graph"\nrunroot = "{self.root}/run"\n'
        )
        (self.root / "containers.conf").write_text(
            '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
            f'tmp_dir = "{self.root}/tmp"\nstatic_dir = "{self.root}/static"\nvolume_path = "{self.root}/volumes"\n'
            f'[network]\ndefault_network = "none"\nnetwork_config_dir = "{self.root}/networks"\n'
        )
        self.env = {
            **os.environ,
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "XDG_RUNTIME_DIR": str(self.root / "xdg"),
        }
        (self.root / "xdg").mkdir()
        self.service: subprocess.Popen | None = None
        self.socket = self.root / "podman.sock"

    RUN_FLAGS = ("--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
    """podman's default rlimits exceed the hard limits of a sandboxed CI machine; runc then refuses."""

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, check=check, stdin=subprocess.DEVNULL
        )

    def start(self) -> None:
        if shutil.which("podman") is None:
            pytest.skip("podman is not installed (apt-get install podman; .ci/services.sh does)")
        result = self.run("info", check=False)
        if result.returncode != 0:
            self.stop()
            pytest.skip(f"podman cannot run here: {result.stderr.decode(errors='replace').strip()[-300:]}")

    def start_service(self) -> str:
        """Starts ``podman system service`` on a unix socket; returns its ``unix://`` URL."""
        if self.service is None:
            log = open(self.root / "service.log", "wb")  # noqa: SIM115
            self.service = subprocess.Popen(
                ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and not self.socket.exists():
                if self.service.poll() is not None:
                    break
                time.sleep(0.2)
            if not self.socket.exists():
                pytest.skip(f"podman system service did not start: {_log_tail(self.root / 'service.log')}")
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self.service is not None:
            _stop(self.service)
            self.service = None
        # Containers may hold mounts (shm) in the store: remove them with podman, then the folder.
        # (Not `podman system reset`: as root it would also drop networks other users made.)
        subprocess.run(
            ["podman", "rm", "--all", "--force", "--time", "0"],
            env=self.env,
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    yield from _with_seed_loaded(Podman())


# -- docker-registry -------------------------------------------------------------


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for an htpasswd file: ``htpasswd -B`` when installed, else libcrypt."""
    if shutil.which("htpasswd"):
        out = subprocess.run(["htpasswd", "-nbB", "u", password], capture_output=True, check=True, text=True)
        return out.stdout.strip().split(":", 1)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:
            pytest.skip("no htpasswd (apt-get install apache2-utils) and no crypt module for a bcrypt hash")
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        pytest.skip("libcrypt here has no bcrypt; install apache2-utils for htpasswd")
    return "$2a$" + hashed[4:]


class Registry:
    """Debian's docker-registry on 127.0.0.1, optionally with htpasswd (basic) auth."""

    def __init__(self, users: dict[str, str] | None = None, tls: bool = False) -> None:
        self.root = short_tmpdir("divepy-registry-")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.users = users or {}
        self.tls = tls
        self.proc: subprocess.Popen | None = None

    def _tls_config(self) -> str:
        """A self-signed certificate for 127.0.0.1 (openssl), as the ``http.tls`` block."""
        if shutil.which("openssl") is None:
            pytest.skip("openssl is not installed")
        cert, key = self.root / "cert.pem", self.root / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"  tls:\n    certificate: {cert}\n    key: {key}\n"

    def start(self) -> None:
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            pytest.skip("docker-registry is not installed (apt-get install docker-registry; .ci/services.sh does)")
        auth = ""
        if self.users:
            lines = [f"{user}:{bcrypt_hash(password)}" for user, password in self.users.items()]
            (self.root / "htpasswd").write_text("\n".join(lines) + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: divepy-test\n    path: {self.root / 'htpasswd'}\n"
        (self.root / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n" + (self._tls_config() if self.tls else "") + auth
        )
        log = open(self.root / "registry.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [binary, "serve", str(self.root / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if self.tls:
                    context = ssl._create_unverified_context()  # the test's own self-signed certificate
                    conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                        "127.0.0.1", self.port, timeout=2, context=context
                    )
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/v2/")
                status = conn.getresponse().status
                conn.close()
                if status in (200, 401):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        tail = _log_tail(self.root / "registry.log")
        self.stop()
        pytest.skip(f"docker-registry did not start: {tail}")

    def push(self, source: str, repo: str, *, creds: str | None = None, fmt: str | None = None) -> str:
        """``skopeo copy SOURCE docker://HOST/REPO``; returns the pushed reference."""
        if shutil.which("skopeo") is None:
            pytest.skip("skopeo is not installed (apt-get install skopeo; .ci/services.sh does)")
        dest = f"{self.host}/{repo}"
        args = ["skopeo", "copy", "-q", "--dest-tls-verify=false", "--retry-times", "2"]
        if creds:
            args += ["--dest-creds", creds]
        if fmt:
            args += ["--format", fmt]
        subprocess.run(
            [*args, source, f"docker://{dest}"],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "REGISTRY_AUTH_FILE": str(self.root / "auth.json")},
        )
        return dest

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, grace=5)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    server = Registry()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_registry() -> Iterator[Registry]:
    server = Registry(tls=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def basic_registry() -> Iterator[Registry]:
    server = Registry(users={"alice": "s3cret"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- a token server in front of a registry -------------------------------------


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A threading HTTP server on a unix socket (the engines' API, as the tests stand in for them)."""

    daemon_threads = True


def unix_server(path: Path, handle: Callable[[http.server.BaseHTTPRequestHandler], None]) -> UnixHTTPServer:
    """An HTTP/1.1 server on the unix socket ``path`` that hands each GET to ``handle``, not yet serving."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def address_string(self) -> str:
            return "unix"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            handle(self)

    return UnixHTTPServer(str(path), Handler)


def loopback_server(
    handle: Callable[[http.server.BaseHTTPRequestHandler], None],
) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A threading HTTP/1.1 server on 127.0.0.1 (a free port) that hands each GET and HEAD to ``handle``,
    not yet serving; with its ``host:port``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            handle(self)

        do_HEAD = do_GET  # noqa: N815

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    return server, f"127.0.0.1:{server.server_address[1]}"


class TokenGate:
    """A bearer-token front for a registry, as Docker Hub works: 401 + challenge, then ``/token``.

    Anonymous token requests are granted unless ``users`` is set; with ``users`` the token server
    wants basic credentials. Every request is logged in ``requests`` (path, had-authorization).
    """

    def __init__(self, upstream: str, users: dict[str, str] | None = None) -> None:
        self.upstream = upstream
        self.users = users or {}
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, bool]] = []
        self.server, self.host = loopback_server(self.handle)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, headers: dict) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        auth = handler.headers.get("Authorization", "")
        self.requests.append((handler.path, bool(auth)))
        parsed = urllib.parse.urlsplit(handler.path)
        if parsed.path == "/token":
            self._token(handler, auth, urllib.parse.parse_qs(parsed.query))
            return
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            repo = parsed.path.split("/")[2] if parsed.path.count("/") > 2 else ""
            challenge = f'Bearer realm="http://{self.host}/token",service="divepy-test",scope="repository:{repo}:pull"'
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
            self._send(handler, 401, body, {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
            return
        self._proxy(handler)

    def _token(self, handler: http.server.BaseHTTPRequestHandler, auth: str, query: dict) -> None:
        if self.users:
            try:
                user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if not auth.startswith("Basic ") or self.users.get(user) != password:
                self._send(handler, 401, b'{"details":"bad credentials"}', {"Content-Type": "application/json"})
                return
        token = base64.urlsafe_b64encode(os.urandom(18)).decode()
        self.tokens.add(token)
        body = json.dumps({"token": token, "expires_in": 300, "scope": query.get("scope", [""])[0]}).encode()
        self._send(handler, 200, body, {"Content-Type": "application/json"})

    def _proxy(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("authorization", "host")}
        conn.request(handler.command, handler.path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        keep = {
            k: v
            for k, v in response.getheaders()
            if k.lower() in ("content-type", "docker-content-digest", "location", "etag")
        }
        self._send(handler, response.status, body, keep)


@contextlib.contextmanager
def token_gate(upstream: str, users: dict[str, str] | None = None) -> Iterator[TokenGate]:
    gate = TokenGate(upstream, users)
    gate.start()
    try:
        yield gate
    finally:
        gate.stop()


def make_index(registry: Registry, entries: list[tuple[str, str]], target: str) -> str:
    """Pushes a multi-platform index built with ``buildah manifest`` (own vfs storage).

    Args:
        registry: where the images are and the index goes.
        entries: (``os/arch[/variant]``, pushed reference) pairs.
        target: repository:tag of the index.
    """
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install buildah; .ci/services.sh does)")
    root = short_tmpdir("divepy-buildah-")
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n'
    )
    (root / "auth.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
    env.update(CONTAINERS_STORAGE_CONF=str(root / "storage.conf"), REGISTRY_AUTH_FILE=str(root / "auth.json"))

    def buildah(*args: str) -> None:
        result = subprocess.run(["buildah", *args], env=env, capture_output=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args[:2])} failed: {result.stderr.decode(errors='replace')}")

    try:
        buildah("manifest", "create", "divepy-index")
        for plat, ref in entries:
            os_name, arch, *variant = plat.split("/")
            extra = ["--variant", variant[0]] if variant else []
            buildah(
                "manifest", "add", "--tls-verify=false", "--os", os_name, "--arch", arch, *extra,
                "divepy-index", f"docker://{ref}",
            )  # fmt: skip
        dest = f"{registry.host}/{target}"
        buildah("manifest", "push", "--all", "--tls-verify=false", "divepy-index", f"docker://{dest}")
        return dest
    finally:
        subprocess.run(["buildah", "rmi", "--all", "--force"], env=env, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def assert_same_analysis(got, want) -> None:  # noqa: ANN001 - two Analysis objects
    """The figures dive reports agree: efficiency, sizes, wasted bytes, inefficiencies, layers."""
    assert got.efficiency == want.efficiency
    assert got.wasted_bytes == want.wasted_bytes
    assert got.size_bytes == want.size_bytes
    assert got.user_size_bytes == want.user_size_bytes
    assert got.inefficiencies == want.inefficiencies
    assert [layer.size_bytes for layer in got.layers] == [layer.size_bytes for layer in want.layers]
    assert [layer.command for layer in got.layers] == [layer.command for layer in want.layers]
    assert [layer.diff_id for layer in got.layers] == [layer.diff_id for layer in want.layers]
