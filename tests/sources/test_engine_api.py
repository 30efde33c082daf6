"""The Engine API client on a stand-in engine (a unix-socket HTTP server in the test).

Debian's dockerd is 20.10, which cannot write the containerd store's (Docker 25+) archive; the
stand-in serves the shared Docker 25+ archive chunked, as a real engine streams it, and serves
damaged archives to check the errors. The real dockerd is in ``test_engine_docker.py``.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from dive_py.errors import ImageFormatError, SourceError
from dive_py.load.image import LoadOptions, load_image
from dive_py.sources.engine import resolve_docker_host
from dive_py.sources.reference import parse_image_name, route_reference
from tests.fixtures.stand_ins import built
from tests.services import TOMCAT_ARCHIVE, assert_same_analysis, unix_server


class FakeEngine:
    """Answers ``/images/{name}/json`` and ``/images/{name}/get`` from archive files."""

    def __init__(self, folder: Path, images: dict[str, Path]) -> None:
        self.socket = folder / "engine.sock"
        self.images = images
        self.requests: list[str] = []
        self.server = unix_server(self.socket, self.handle)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path)
        self.requests.append(path)
        name, _, action = path.removeprefix("/images/").rpartition("/")
        archive = self.images.get(name)
        if archive is None:
            body = json.dumps({"message": f"No such image: {name}"}).encode()
            handler.send_response(404)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        if action == "json":
            body = json.dumps({"Id": "sha256:" + "0" * 64, "Size": archive.stat().st_size}).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-tar")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        with open(archive, "rb") as f:
            while chunk := f.read(100_003):  # odd-sized chunks, as a real engine's are
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.wfile.write(b"0\r\n\r\n")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    docker25 = built("test-docker-image.docker25.tar")  # dive's test image in Docker 25+'s layout
    damaged = tmp_path / "damaged.tar"
    data = bytearray(TOMCAT_ARCHIVE.read_bytes())
    offset = data.index(b"webapps.dist/docs/index.html")  # inside a layer tar: its digest must fail
    data[offset + 5000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(TOMCAT_ARCHIVE.read_bytes()[:3_000_000])
    engine = FakeEngine(
        tmp_path,
        {
            "dive-test:latest": docker25,
            "tomcat02:1.0": TOMCAT_ARCHIVE,
            "damaged:1": damaged,
            "truncated:1": truncated,
        },
    )
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine.socket}")
    yield engine
    engine.close()


def test_docker25_containerd_store_archive_streams(fake_engine: FakeEngine) -> None:
    got = load_analysis("docker://dive-test:latest")
    assert_same_analysis(got, load_analysis(str(built("test-docker-image.docker25.tar"))))
    assert "Docker 25+" in got.image.source


def test_classic_archive_streams(fake_engine: FakeEngine) -> None:
    assert_same_analysis(load_analysis("docker://tomcat02:1.0"), load_analysis(str(TOMCAT_ARCHIVE)))
    assert fake_engine.requests == ["/images/tomcat02:1.0/json", "/images/tomcat02:1.0/get"]


def test_digest_mismatch_is_exit_2(fake_engine: FakeEngine, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ImageFormatError, match="digest|diff_id|match"):
        load_image("docker://damaged:1")
    assert main(["--ci", "docker://damaged:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "damaged:1" in err


def test_truncated_export_is_exit_2(fake_engine: FakeEngine) -> None:
    with pytest.raises(ImageFormatError):
        load_image("docker://truncated:1")


def test_unreachable_socket_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(SourceError, match=r"cannot reach the engine at unix://.*none.sock \(DOCKER_HOST\)"):
        load_image("docker://tomcat02:1.0")
    assert main(["--ci", "docker://tomcat02:1.0"]) == 2
    assert "cannot reach the engine" in capsys.readouterr().err
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    with pytest.raises(SourceError, match="connection refused"):
        load_image("docker://tomcat02:1.0")


def test_docker_host_and_context_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert resolve_docker_host().url == "unix:///var/run/docker.sock"
    monkeypatch.setenv("DOCKER_CONTEXT", "missing")
    with pytest.raises(SourceError, match="context 'missing' not found"):
        resolve_docker_host()
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert resolve_docker_host().origin == "DOCKER_HOST"


@pytest.mark.parametrize(
    ("ref", "source", "want"),
    [
        ("docker://nginx:1.25", None, ("docker", "nginx:1.25", False)),
        ("podman://localhost/app", None, ("podman", "localhost/app", False)),
        ("registry://127.0.0.1:5000/a/b:1", None, ("registry", "127.0.0.1:5000/a/b:1", False)),
        ("-", None, ("stdin", "-", False)),
        ("app:dev", "podman", ("podman", "app:dev", False)),
        ("surely-not-a-file:1", None, ("docker", "surely-not-a-file:1", True)),
    ],
)  # fmt: skip
def test_route_reference(ref: str, source: str | None, want: tuple) -> None:
    route = route_reference(ref, source)
    assert route is not None
    assert (route.source, route.name, route.fallback) == want


def test_paths_stay_with_the_archive_loader(tmp_path: Path) -> None:
    assert route_reference(str(TOMCAT_ARCHIVE), None) is None
    assert route_reference("docker-archive://x.tar", None) is None
    assert route_reference("missing.tar", None) is None  # "no such file", not a docker lookup
    assert route_reference("./missing", None) is None
    assert route_reference("x", "oci-dir") is None


@pytest.mark.parametrize(
    ("text", "host", "repo", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", None, None),
        ("user/app:1", "docker.io", "user/app", "1", None),
        ("127.0.0.1:5000/tomcat02:1.0", "127.0.0.1:5000", "tomcat02", "1.0", None),
        ("localhost/a/b@sha256:" + "b" * 64, "localhost", "a/b", None, "sha256:" + "b" * 64),
        ("ghcr.io/o/r:v1@sha256:" + "c" * 64, "ghcr.io", "o/r", "v1", "sha256:" + "c" * 64),
    ],
)
def test_parse_image_name(text: str, host: str, repo: str, tag: str | None, digest: str | None) -> None:
    name = parse_image_name(text)
    assert (name.host, name.repository, name.tag, name.digest) == (host, repo, tag, digest)


def test_prefix_and_source_must_agree() -> None:
    with pytest.raises(Exception, match="prefix says docker but --source says podman"):
        load_image("docker://x", LoadOptions(source="podman"))


def test_default_source_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIVEPY_SOURCE", "podman")
    route = route_reference("surely-not-a-file:1", None)
    assert route is not None and route.source == "podman"
