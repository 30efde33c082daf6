"""registry:// against a hostile registry on 127.0.0.1 (tests/fixtures/fake_registry.py): credentials never
leave TLS or their host and port, answers are read bounded, blobs stop at their declared size, a trickle
meets the request deadline, and broken numbers or tokens end in one line (exit 2)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dive_py.cache.blobs import BlobCache
from dive_py.cli.main import main
from dive_py.errors import ImageFormatError, SourceError
from dive_py.load.image import LoadOptions, build_image
from dive_py.sources.reference import parse_image_name
from dive_py.sources.registry.client import RegistryClient
from dive_py.sources.registry.credentials import Credentials
from dive_py.sources.registry.transport import DEADLINE_ENV
from tests.fixtures.fake_registry import Handler, fake_registry, send, sha256, stream

BASIC = Credentials("alice", "secret")
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="fake"'}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("DIVEPY_PASSWORD", raising=False)
    monkeypatch.delenv(DEADLINE_ENV, raising=False)


def load(client: RegistryClient, tmp_path: Path):  # noqa: ANN201 - an Image
    from dive_py.sources.registry.image import open_registry_image

    name = parse_image_name(f"{client.host}/repo:1")
    from dive_py.load.blobs import LayerBlobs

    cache = BlobCache(str(tmp_path / "blobs"))
    files, plan = open_registry_image(client, name, None, cache)
    blobs = LayerBlobs(files, cache)
    try:
        return build_image(files, plan, f"registry://{name}", LoadOptions(), blobs=blobs)
    finally:
        blobs.close()


def test_the_fake_registry_serves_an_image(tmp_path: Path) -> None:
    with fake_registry() as registry:
        image = load(RegistryClient(registry.host), tmp_path)
    assert "etc/motd" in image.layers[0].scan.entries


def _basic_then(answer):  # noqa: ANN001, ANN202 - a route: 401 Basic until credentials come, then ``answer``
    def route(handler: Handler) -> None:
        if not handler.headers.get("Authorization"):
            send(handler, 401, b"{}", BASIC_CHALLENGE)
        else:
            answer(handler)

    return route


def test_https_never_redirects_to_http_with_credentials(tmp_path: Path) -> None:
    """A TLS registry redirecting to http:// on its own host and port: refused, the password never sent in clear."""
    with fake_registry(tls_dir=tmp_path) as registry:
        plain = f"http://{registry.host}/v2/repo/manifests/1"
        registry.routes["/v2/repo/manifests/1"] = _basic_then(lambda h: send(h, 307, b"", {"Location": plain}))
        client = RegistryClient(registry.host, BASIC)
        with pytest.raises(SourceError, match="will not follow a redirect from https to http"):
            load(client, tmp_path)
    assert client.scheme == "https"
    assert any(scheme == "https" and auth for scheme, _, auth in registry.log)  # it did log in over TLS
    assert [auth for scheme, _, auth in registry.log if scheme == "http" and auth] == []


def test_credentials_stay_on_their_host_and_port(tmp_path: Path) -> None:
    with fake_registry() as other, fake_registry() as registry:
        elsewhere = f"http://{other.host}/v2/repo/manifests/1"
        registry.routes["/v2/repo/manifests/1"] = _basic_then(lambda h: send(h, 307, b"", {"Location": elsewhere}))
        load(RegistryClient(registry.host, BASIC), tmp_path)  # the other port serves the same image
    assert any(auth for _, _, auth in registry.log)
    assert other.log and [auth for _, _, auth in other.log if auth] == []


def test_error_and_redirect_bodies_are_read_bounded(tmp_path: Path) -> None:
    sent: list[int] = []
    body = 48 << 20

    def huge_401(handler: Handler) -> None:
        sent.append(stream(handler, 401, b"{", body, BASIC_CHALLENGE))

    with fake_registry() as registry:
        registry.routes["/v2/repo/manifests/1"] = huge_401
        start = time.monotonic()
        with pytest.raises(SourceError, match="authentication refused"):
            load(RegistryClient(registry.host), tmp_path)
        elapsed = time.monotonic() - start
    assert _settled(sent) < body // 2, sent
    assert elapsed < 5


def _settled(sent: list[int]) -> int:
    """What the server's handler sent, once it saw the client hang up."""
    for _ in range(100):
        if sent:
            return sent[0]
        time.sleep(0.05)
    raise AssertionError("the server is still sending: the client kept reading")


def test_blob_download_stops_at_the_declared_size(tmp_path: Path) -> None:
    sent: list[int] = []
    with fake_registry() as registry:
        layer = registry.layer
        registry.manifest_value["layers"][0]["size"] = 207
        registry.routes[f"/v2/repo/blobs/{sha256(layer)}"] = lambda h: sent.append(stream(h, 200, layer, 48 << 20))
        with pytest.raises(ImageFormatError, match="sent more than the 207 bytes the manifest declares"):
            load(RegistryClient(registry.host), tmp_path)
    assert _settled(sent) < 24 << 20, sent
    assert not list((tmp_path / "blobs").rglob("*" + sha256(layer)[7:] + "*"))  # nothing entered the cache


def _trickle(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    try:
        for _ in range(200):  # a byte every 0.1 s: each read is quick, the answer never ends
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass


@pytest.mark.parametrize("path", ["/v2/repo/manifests/1", "blob"])
def test_a_trickle_meets_the_request_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.setenv(DEADLINE_ENV, "0.8")
    with fake_registry() as registry:
        registry.routes[f"/v2/repo/blobs/{sha256(registry.layer)}" if path == "blob" else path] = _trickle
        start = time.monotonic()
        with pytest.raises(SourceError, match=f"took longer than 0.8 s.*|{DEADLINE_ENV}"):
            load(RegistryClient(registry.host), tmp_path)
        assert time.monotonic() - start < 5


def test_a_bad_deadline_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv(DEADLINE_ENV, "soon")
    assert main(["--ci", "registry://127.0.0.1:1/repo:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert DEADLINE_ENV in err and "\n" not in err


@pytest.mark.parametrize("size", ["207", 1.5, -1, True, None])
def test_a_size_that_is_not_a_number_is_one_line(size: object, capsys: pytest.CaptureFixture) -> None:
    with fake_registry() as registry:
        registry.manifest_value["layers"][0]["size"] = size
        assert main(["--ci", f"registry://{registry.host}/repo:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not a number of bytes" in err and "\n" not in err and "ValueError" not in err


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "abc\ndef", "tok\x00en"])
def test_a_token_with_control_characters_is_one_line(token: str, capsys: pytest.CaptureFixture) -> None:
    with fake_registry() as registry:
        realm = f"http://{registry.host}/token"
        registry.routes["/token"] = lambda h: send(h, 200, json.dumps({"token": token}).encode())
        registry.routes["/v2/repo/manifests/1"] = lambda h: send(
            h, 401, b"{}", {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'}
        )
        assert main(["--ci", f"registry://{registry.host}/repo:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "control characters" in err and "\n" not in err
    assert not [path for _, path, _ in registry.log if "X-Injected" in path]


@pytest.mark.parametrize("location", ["/v2/a b\tc", "http://[bad", "http://127.0.0.1:99999/", "http://127.0.0.1:x/"])
def test_a_malformed_location_is_one_line(location: str, capsys: pytest.CaptureFixture) -> None:
    with fake_registry() as registry:
        registry.routes["/v2/repo/manifests/1"] = lambda h: send(h, 302, b"", {"Location": location})
        assert main(["--ci", f"registry://{registry.host}/repo:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "registry" in err and "\n" not in err and "unexpected" not in err
