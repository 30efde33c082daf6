"""``divepy audit`` of a private docker-registry holding 22 images that share a base, through a counting
proxy, with moto's S3 server as the shared cache and a Dask LocalCluster of 2 worker processes: each
layer blob is read once across all images, a second runner with the shared cache reads none, Dask gives
the local run's table, and a bucket deleted mid-audit costs one warning line."""

from __future__ import annotations

import collections
import hashlib
import http.client
import http.server
import json
import os
import re
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.images import M, compress, file, image_config, layer_tar
from tests.fixtures.paths import PYTHON, child_env
from tests.s3_service import S3Server, s3_server  # noqa: F401 - fixture
from tests.services import Registry, loopback_server

pytestmark = [pytest.mark.engine, pytest.mark.slow]

IMAGES = 22


class CountingProxy:
    """Forwards GET and HEAD to the registry, logging each (method, path); ``hook`` sees each path first."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []
        self.hook: Callable[[str], None] | None = None
        self.server, self.host = loopback_server(self.forward)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.command, handler.path))
        if self.hook is not None:
            self.hook(handler.path)
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        conn.request(handler.command, handler.path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() in ("content-type", "docker-content-digest", "location", "link", "www-authenticate"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def blob_gets(self) -> collections.Counter:
        """GETs of ``/v2/*/blobs/<digest>`` by digest."""
        paths = [urllib.parse.urlsplit(path).path for method, path in self.requests if method == "GET"]
        found = (re.fullmatch(r"/v2/.+/blobs/(sha256:[0-9a-f]{64})", path) for path in paths)
        return collections.Counter(match.group(1) for match in found if match)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _push(host: str, repo: str, tag: str, layers: list[bytes]) -> set[str]:
    """Pushes an image over the distribution API (gzip layers, a schema 2 manifest); returns its blob digests."""
    blobs = [compress(layer, "gzip") for layer in layers]
    config = json.dumps(image_config(layers)).encode()
    conn = http.client.HTTPConnection(host, timeout=30)
    digests = set()
    for blob in [*blobs, config]:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        digests.add(digest)
        conn.request("POST", f"/v2/{repo}/blobs/uploads/")
        answer = conn.getresponse()
        answer.read()
        location = urllib.parse.urlsplit(answer.getheader("Location"))
        separator = "&" if location.query else ""
        conn.request("PUT", f"{location.path}?{location.query}{separator}digest={digest}", body=blob,
                     headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 201, answer.status
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(blob),
                    "digest": "sha256:" + hashlib.sha256(blob).hexdigest()} for blob in blobs],
    }  # fmt: skip
    conn.request("PUT", f"/v2/{repo}/manifests/{tag}", body=json.dumps(manifest).encode(),
                 headers={"Content-Type": manifest["mediaType"]})  # fmt: skip
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 201, answer.status
    conn.close()
    return digests


def _images() -> list[tuple[str, list[bytes]]]:
    """22 images on one base (300 kB of incompressible bytes and four files later images overwrite), half of
    them on a shared runtime layer, each with its own application layer wasting a different amount."""
    rng = __import__("random").Random(28)
    noise = lambda n: bytes(rng.getrandbits(8) for _ in range(n))  # noqa: E731
    base = layer_tar(
        [file("base/blob.bin", noise(300_000))] + [file(f"base/f{i}.bin", noise(8_000 * (i + 1))) for i in range(4)]
    )
    runtime = layer_tar([file("runtime/lib.so", noise(40_000))])
    images = []
    for i in range(IMAGES):
        members: list[M] = [file(f"app/main-{i}", noise(2_000 + 100 * i))]
        members += [file(f"base/f{k}.bin", noise(500 * i)) for k in range(i % 4)]  # overwrites: waste
        layers = [base, *([runtime] if i % 2 else []), layer_tar(members)]
        images.append((f"team/app{i:02d}", layers))
    return images


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[CountingProxy, set[str]]]:
    """A fresh registry (its catalog holds only these images) behind a counting proxy; all blob digests."""
    registry = Registry()
    registry.start()
    digests: set[str] = set()
    try:
        for repo, layers in _images():
            digests |= _push(registry.host, repo, "1.0", layers)
        _push(registry.host, "team/app00", "0.9", _images()[1][1])  # an older tag: --tags latest skips it
        proxy = CountingProxy(registry.host)
        try:
            yield proxy, digests
        finally:
            proxy.stop()
    finally:
        registry.stop()


def _audit(tmp_path: Path, s3: S3Server, *args: str, cache: str = "cache") -> subprocess.CompletedProcess:
    env = child_env(DIVEPY_CACHE_DIR=str(tmp_path / cache), **s3.env())
    env.pop("DIVEPY_CACHE_URL", None)
    return subprocess.run([PYTHON, "-m", "dive_py", "audit", *args], env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def cold(fleet, s3_server, tmp_path_factory) -> dict:  # noqa: F811
    """The first audit: 2 worker processes, empty caches, a fresh bucket as the shared cache."""
    proxy, _digests = fleet
    tmp = tmp_path_factory.mktemp("audit-cold")
    bucket = s3_server.new_bucket()
    proxy.requests.clear()
    done = _audit(tmp, s3_server, f"registry://{proxy.host}", "--workers", "2", "--cache-url", f"s3://{bucket}/ci",
                  "--json", str(tmp / "audit.json"))  # fmt: skip
    return {
        "done": done,
        "gets": proxy.blob_gets(),
        "bucket": bucket,
        "json": json.loads((tmp / "audit.json").read_text()),
    }


def test_an_audit_of_22_images_reads_each_layer_blob_once(cold, fleet) -> None:
    _proxy, digests = fleet
    done = cold["done"]
    assert done.returncode == 0, done.stderr
    rows = cold["json"]["images"]
    assert len(rows) == IMAGES and not any(row["error"] for row in rows)
    assert all(row["ref"].endswith(":1.0") for row in rows)  # --tags latest: the highest tag of app00
    gets = cold["gets"]
    assert max(gets.values()) == 1, [d for d, n in gets.items() if n > 1]
    reached = set(gets)
    assert reached <= digests and len(reached) >= IMAGES + 2  # every image's config and app layer, base, runtime
    wasted = [row["wasted_bytes"] for row in rows]
    assert wasted == sorted(wasted, reverse=True) and wasted[0] > wasted[-1]
    shared = cold["json"]["sharedLayers"]
    assert shared[0]["images"] == IMAGES and shared[1]["images"] == IMAGES // 2
    table = done.stdout.splitlines()
    assert table[0].split()[:2] == ["image", "size"] and len([line for line in table if "team/app" in line]) == IMAGES
    assert f"{IMAGES} images" in done.stdout


def test_a_second_runner_with_the_shared_cache_reads_no_blob(cold, fleet, s3_server, tmp_path) -> None:  # noqa: F811
    proxy, _digests = fleet
    proxy.requests.clear()
    done = _audit(tmp_path, s3_server, f"registry://{proxy.host}", "--workers", "2", "--cache-url",
                  f"s3://{cold['bucket']}/ci", cache="fresh")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert proxy.blob_gets() == collections.Counter()
    assert any("/manifests/" in path for _m, path in proxy.requests)  # tags are asked again, blobs are not
    assert done.stdout == cold["done"].stdout


def test_dask_gives_the_local_table(cold, fleet, s3_server, tmp_path, monkeypatch) -> None:  # noqa: F811
    distributed = pytest.importorskip("distributed", reason="needs dask distributed (the scale extra)")
    proxy, _digests = fleet
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)  # the workers' credentials for the shared cache
    monkeypatch.setenv("DIVEPY_CACHE_DIR", str(tmp_path / "workers"))
    bucket = s3_server.new_bucket()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:  # fmt: skip
        done = _audit(tmp_path, s3_server, f"registry://{proxy.host}", "--dask", cluster.scheduler_address,
                      "--cache-url", f"s3://{bucket}/dask", cache="client")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == cold["done"].stdout
    stored = s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    assert any(item["Key"].startswith("dask/layers-v") for item in stored)  # the workers filled the shared cache


def test_a_bucket_deleted_mid_audit_is_one_warning_and_the_audit_finishes(cold, fleet, s3_server, tmp_path) -> None:  # noqa: F811
    proxy, _digests = fleet
    bucket = s3_server.new_bucket()
    manifests = []

    def delete_after_five(path: str) -> None:
        if "/manifests/" in path:
            manifests.append(path)
            if len(manifests) == 5:
                s3_server.delete_bucket(bucket)

    proxy.hook = delete_after_five
    try:
        done = _audit(tmp_path, s3_server, f"registry://{proxy.host}", "--workers", "2", "--cache-url",
                      f"s3://{bucket}/ci", "--csv", str(tmp_path / "audit.csv"))  # fmt: skip
    finally:
        proxy.hook = None
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning: cache store" in line]
    assert len(warnings) == 1 and "going on with the local cache" in warnings[0], done.stderr
    assert done.stdout == cold["done"].stdout
    assert len((tmp_path / "audit.csv").read_text().splitlines()) == IMAGES + 1


def test_ci_names_the_images_that_fail_their_rules(cold, fleet, s3_server, tmp_path) -> None:  # noqa: F811
    proxy, _digests = fleet
    (tmp_path / "rules.yaml").write_text("rules:\n  lowestEfficiency: 0.9\n")
    refs = tmp_path / "refs.txt"
    refs.write_text(f"# two images and one that is not there\nregistry://{proxy.host}/team/app00:1.0\n\n"
                    f"registry://{proxy.host}/team/app03:1.0\nregistry://{proxy.host}/team/nosuch:1.0\n")  # fmt: skip
    done = _audit(tmp_path, s3_server, "--from", str(refs), "--ci", "--ci-config", str(tmp_path / "rules.yaml"),
                  "--workers", "1", "--markdown", str(tmp_path / "audit.md"))  # fmt: skip
    assert done.returncode == 1, done.stderr
    failed = [line for line in done.stderr.splitlines() if "FAIL" in line]
    efficiency = {row["ref"].split("/")[-1]: row["efficiency"] for row in cold["json"]["images"]}
    assert len(failed) == sum(efficiency[f"app{i}:1.0"] < 0.9 for i in ("00", "03")) >= 1
    assert "team/nosuch:1.0: cannot be read" in done.stderr
    markdown = (tmp_path / "audit.md").read_text()
    assert markdown.count("| registry://") == 3 and "unreadable" in markdown
    assert os.path.getsize(tmp_path / "audit.md") > 0


def test_a_layer_scanned_by_another_runner_is_fetched_from_the_shared_cache_when_a_file_of_it_is_read(
    cold,
    fleet,
    s3_server,  # noqa: F811
    tmp_path,
    monkeypatch,
) -> None:
    from dive_py.analysis.from_reference import load_analysis
    from dive_py.cache.remote import configure_remote
    from dive_py.contents.reader import ContentReader
    from dive_py.load.options import LoadOptions

    proxy, _digests = fleet
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    configure_remote(f"s3://{cold['bucket']}/ci")
    try:
        proxy.requests.clear()
        analysis = load_analysis(f"registry://{proxy.host}/team/app05:1.0", LoadOptions(cache_dir=str(tmp_path)))
        assert proxy.blob_gets() == collections.Counter()  # scans and config from the shared cache
        top = len(analysis.layers) - 1
        entry = analysis.tree.get("app/main-5")
        data = ContentReader(analysis.image).read(entry, top, analysis.tree.get, 1 << 20)
        assert len(data) == 2_500
        assert proxy.blob_gets() == collections.Counter()  # the blob too came from the shared cache, verified
        digest = analysis.layers[top].digest
        assert (tmp_path / "blobs" / "sha256" / digest.partition(":")[2]).is_file()
    finally:
        configure_remote(None)
