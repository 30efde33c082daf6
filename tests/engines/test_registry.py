"""registry:// against Debian's docker-registry on 127.0.0.1, images pushed with skopeo.

Covers: same analysis as the saved archive, the layer cache (a second look downloads nothing),
anonymous and credentialed bearer tokens (a token server in the test), htpasswd basic auth with
``--username``/``DIVEPY_PASSWORD`` and with ``~/.docker/config.json``, a multi-arch index built by
``buildah manifest``, and the errors (unknown image, refused credentials, digest mismatch).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path

import pytest

from dive_py.analysis.analyze import analyze
from dive_py.analysis.from_reference import load_analysis
from dive_py.cache.blobs import BlobCache
from dive_py.cli.main import main
from dive_py.errors import DigestMismatchError, ImageFormatError, ImageSelectionError, SourceError
from dive_py.load.blobs import LayerBlobs
from dive_py.load.image import LoadOptions, build_image, load_image
from dive_py.sources.reference import parse_image_name
from dive_py.sources.registry.client import RegistryClient
from dive_py.sources.registry.image import open_registry_image
from tests.fixtures.stand_ins import built
from tests.services import (  # noqa: F401 - fixtures
    TOMCAT_ARCHIVE,
    Registry,
    assert_same_analysis,
    basic_registry,
    make_index,
    registry,
    tls_registry,
    token_gate,
)

pytestmark = pytest.mark.engine


def load_with_client(client: RegistryClient, name, options: LoadOptions, cache: BlobCache):  # noqa: ANN001, ANN201
    """Loads a registry image through a given client and blob store (the tests read their counters)."""
    files, plan = open_registry_image(client, name, options.platform, cache)
    blobs = LayerBlobs(files, cache)
    try:
        return build_image(files, plan, f"registry://{name}", options, blobs=blobs)
    finally:
        blobs.close()


@pytest.fixture(autouse=True)
def _private_cache_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("DIVEPY_PASSWORD", raising=False)


@pytest.fixture(scope="module")
def tomcat_ref(registry: Registry) -> str:  # noqa: F811
    return registry.push(f"docker-archive:{TOMCAT_ARCHIVE}", "tomcat02:1.0")


def _archive_analysis():  # noqa: ANN202
    return load_analysis(str(TOMCAT_ARCHIVE))


def test_registry_gives_the_saved_archives_analysis(tomcat_ref: str) -> None:
    got = load_analysis(f"registry://{tomcat_ref}")
    assert_same_analysis(got, _archive_analysis())
    assert got.image.source.startswith("registry")


def test_oci_manifest_and_digest_reference(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    ref = registry.push(f"docker-archive:{TOMCAT_ARCHIVE}", "tomcat02-oci:1.0", fmt="oci")
    client = RegistryClient(registry.host)
    manifest, _ = client.read_small(
        "/v2/tomcat02-oci/manifests/1.0", "tomcat02-oci", "application/vnd.oci.image.manifest.v1+json"
    )
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    got = load_analysis(f"registry://{ref.rsplit(':', 1)[0]}@{digest}")
    assert_same_analysis(got, _archive_analysis())


def test_second_look_downloads_nothing(tomcat_ref: str, tmp_path: Path) -> None:
    cache = BlobCache(str(tmp_path / "blobs"))
    name = parse_image_name(tomcat_ref)
    first = RegistryClient(name.host)
    load_with_client(first, name, LoadOptions(), cache)
    assert first.downloaded_bytes > 3_000_000
    second = RegistryClient(name.host)
    again = load_with_client(second, name, LoadOptions(), cache)
    assert second.downloaded_bytes == 0
    assert_same_analysis(analyze(again), _archive_analysis())
    assert not list((tmp_path / "blobs").rglob(".part-*"))  # no temp files left behind


def test_anonymous_bearer_token(registry: Registry, tomcat_ref: str) -> None:  # noqa: F811
    with token_gate(registry.host) as gate:
        got = load_analysis(f"registry://{gate.host}/tomcat02:1.0")
        assert_same_analysis(got, _archive_analysis())
        assert any(path.startswith("/token?") for path, _auth in gate.requests)


def test_bearer_token_with_credentials(
    registry: Registry,  # noqa: F811
    tomcat_ref: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    with token_gate(registry.host, users={"bob": "hunter2"}) as gate:
        ref = f"registry://{gate.host}/tomcat02:1.0"
        with pytest.raises(SourceError, match="token server refused anonymous access"):
            load_image(ref)
        monkeypatch.setenv("DIVEPY_PASSWORD", "wrong")
        assert main(["--ci", "--username", "bob", ref]) == 2
        assert "refused the credentials" in capsys.readouterr().err
        monkeypatch.setenv("DIVEPY_PASSWORD", "hunter2")
        got = load_analysis(ref, LoadOptions(username="bob"))
        assert_same_analysis(got, _archive_analysis())


def test_htpasswd_basic_auth(basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    ref = basic_registry.push(f"docker-archive:{TOMCAT_ARCHIVE}", "private/tomcat02:1.0", creds="alice:s3cret")
    with pytest.raises(SourceError, match="authentication refused for private/tomcat02"):
        load_image(f"registry://{ref}")
    monkeypatch.setenv("DIVEPY_PASSWORD", "nope")
    with pytest.raises(SourceError, match="authentication refused"):
        load_image(f"registry://{ref}", LoadOptions(username="alice"))
    monkeypatch.setenv("DIVEPY_PASSWORD", "s3cret")
    assert_same_analysis(load_analysis(f"registry://{ref}", LoadOptions(username="alice")), _archive_analysis())
    # The same through the docker CLI's config file.
    monkeypatch.delenv("DIVEPY_PASSWORD")
    config = tmp_path / "docker-config"
    config.mkdir()
    auth = base64.b64encode(b"alice:s3cret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {basic_registry.host: {"auth": auth}}}))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache2"))  # download again, with the config's creds
    assert_same_analysis(load_analysis(f"registry://{ref}"), _archive_analysis())


def test_multi_arch_index(registry: Registry, tomcat_ref: str) -> None:  # noqa: F811
    other_archive = built("test-docker-image.tar")  # dive's test image, built in code
    other = registry.push(f"docker-archive:{other_archive}", "dive-test:1")
    index = make_index(registry, [("linux/amd64", tomcat_ref), ("linux/arm64/v8", other)], "multi:1")
    amd64 = load_analysis(f"registry://{index}", LoadOptions(platform="linux/amd64"))
    assert_same_analysis(amd64, _archive_analysis())
    arm64 = load_analysis(f"registry://{index}", LoadOptions(platform="linux/arm64"))
    assert_same_analysis(arm64, load_analysis(str(other_archive)))
    with pytest.raises(ImageSelectionError, match=r"no image for platform linux/s390x \(choices: linux/amd64, "):
        load_image(f"registry://{index}", LoadOptions(platform="linux/s390x"))


def test_unknown_image_and_unreachable_registry(registry: Registry, capsys: pytest.CaptureFixture) -> None:  # noqa: F811
    with pytest.raises(SourceError, match="image nope/nothing:1 not found"):
        load_image(f"registry://{registry.host}/nope/nothing:1")
    assert main(["--ci", f"registry://{registry.host}/nope/nothing:1"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err
    with pytest.raises(SourceError, match="cannot connect to 127.0.0.1:1"):
        load_image("registry://127.0.0.1:1/any:1")


def test_digest_mismatch_never_enters_the_cache(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    ref = registry.push(f"docker-archive:{TOMCAT_ARCHIVE}", "corrupt/tomcat02:1.0")
    name = parse_image_name(ref)
    manifest, _ = RegistryClient(name.host).read_small(
        "/v2/corrupt/tomcat02/manifests/1.0", "corrupt/tomcat02", "application/vnd.docker.distribution.manifest.v2+json"
    )
    biggest = max(json.loads(manifest)["layers"], key=lambda layer: layer["size"])["digest"]
    hexpart = biggest.split(":")[1]
    data_file = registry.root / "data/docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"
    original = data_file.read_bytes()
    try:
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0xFF  # same size, different bytes
        data_file.write_bytes(bytes(damaged))
        cache = BlobCache(str(tmp_path / "blobs"))
        with pytest.raises(ImageFormatError) as raised:
            load_with_client(RegistryClient(name.host), name, LoadOptions(), cache)
        assert isinstance(raised.value, DigestMismatchError) or "corrupt" in str(raised.value).lower()
        assert cache.open(biggest) is None
        assert not list((tmp_path / "blobs").rglob(".part-*"))
    finally:
        data_file.write_bytes(original)


def test_tls_registry_on_loopback(tls_registry: Registry) -> None:  # noqa: F811
    """A loopback registry that speaks TLS (self-signed) is found without --insecure, as docker does."""
    ref = tls_registry.push(f"docker-archive:{TOMCAT_ARCHIVE}", "tomcat02:1.0")
    client = RegistryClient(tls_registry.host)
    got = analyze(load_with_client(client, parse_image_name(ref), LoadOptions(), BlobCache(None)))
    assert client.scheme == "https"
    assert_same_analysis(got, _archive_analysis())


def test_concurrent_looks_share_the_cache(registry: Registry, tomcat_ref: str, tmp_path: Path) -> None:  # noqa: F811
    cache_root = str(tmp_path / "shared-cache")
    name = parse_image_name(tomcat_ref)
    results: list = []

    def look() -> None:
        results.append(analyze(load_with_client(RegistryClient(name.host), name, LoadOptions(), BlobCache(cache_root))))

    threads = [threading.Thread(target=look) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 3
    for got in results:
        assert_same_analysis(got, _archive_analysis())
    blobs = list((tmp_path / "shared-cache").rglob("*"))
    assert not [b for b in blobs if b.name.startswith(".part-")]
    assert len([b for b in blobs if b.is_file()]) == 6  # 5 layers + the config


def test_file_contents_come_from_the_blob_cache(tomcat_ref: str) -> None:
    from dive_py.cache.store import default_cache_dir
    from dive_py.contents.reader import ContentReader

    pulled, saved = load_analysis(f"registry://{tomcat_ref}"), _archive_analysis()
    top = len(saved.layers) - 1
    path = next(p for p, e in saved.layers[top].scan.entries.items() if e.kind == "f" and e.size > 1000)
    want = ContentReader(saved.image).read(saved.tree.get(path), top, saved.tree.get, 1 << 20)
    got = ContentReader(pulled.image).read(pulled.tree.get(path), top, pulled.tree.get, 1 << 20)
    assert got == want and len(got) > 1000
    for blob in (Path(default_cache_dir()) / "blobs").rglob("*"):
        if blob.is_file():
            blob.unlink()
    # Pruned from the cache: downloaded again (and checked against its digest), not refused.
    assert ContentReader(pulled.image).read(pulled.tree.get(path), top, pulled.tree.get, 1 << 20) == want


def _cache_files() -> list[Path]:
    from dive_py.cache.store import default_cache_dir

    root = Path(default_cache_dir())
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_no_cache_keeps_nothing_and_reads_files_by_downloading_again(
    tomcat_ref: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture
) -> None:
    """Issue 24 item 9: ``--no-cache`` neither reads nor writes divepy's cache, registry blobs included."""
    ref = f"registry://{tomcat_ref}"
    assert main(["--ci", "--no-cache", "--json", str(tmp_path / "a.json"), ref]) == 0
    capsysbinary.readouterr()
    assert _cache_files() == []
    page = "/usr/local/tomcat/webapps/ROOT/index.html"
    assert main(["cat", "--no-cache", ref, page]) == 0
    got = capsysbinary.readouterr().out
    assert main(["cat", "--no-cache", str(TOMCAT_ARCHIVE), page]) == 0
    assert got == capsysbinary.readouterr().out and len(got) == 1905
    assert main(["extract", "--no-cache", ref, "/usr/local/tomcat/webapps", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "webapps" / "ROOT" / "index.html").read_bytes() == got
    assert _cache_files() == []
    name = parse_image_name(tomcat_ref)
    again = RegistryClient(name.host)
    load_with_client(again, name, LoadOptions(use_cache=False), None)
    assert again.downloaded_bytes > 3_000_000  # nothing was kept, so everything is downloaded again
    assert main(["--ci", "--json", str(tmp_path / "b.json"), ref]) == 0
    assert _cache_files(), "without --no-cache the blobs are kept"


def test_a_single_platform_registry_image_is_refused_for_another(tomcat_ref: str, capsys) -> None:  # noqa: ANN001
    assert main(["--ci", "--no-cache", "--platform", "linux/arm64", f"registry://{tomcat_ref}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the image is for linux/amd64; --platform asks for linux/arm64" in err
