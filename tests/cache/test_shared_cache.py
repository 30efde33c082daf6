"""The shared cache against a real S3 server (moto's, on 127.0.0.1): what one runner stores another finds,
checked; corrupt, foreign and half-uploaded objects are never trusted; an unreachable store costs one
warning line and the local cache goes on."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from dive_py.cache import remote
from dive_py.cache.blobs import BlobCache
from dive_py.cache.figure_store import FigureStore
from dive_py.cache.scans import CacheKey, LayerCache, encode_scan
from dive_py.errors import ConfigError
from dive_py.model import LayerScan
from tests.fixtures.paths import EXAMPLE
from tests.s3_service import s3_env, s3_server  # noqa: F401 - fixtures
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]


def _scan() -> LayerScan:
    from dive_py.load.image import load_image
    from dive_py.load.options import LoadOptions

    image = load_image(str(EXAMPLE), LoadOptions(use_cache=False, workers=1))
    return max((layer.scan for layer in image.layers), key=lambda scan: scan.size_bytes)


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("divepy: warning: cache store")]


def test_a_scan_a_blob_and_a_figures_record_stored_by_one_runner_serve_another(s3_env, tmp_path) -> None:  # noqa: F811
    bucket = s3_env.new_bucket()
    remote.configure_remote(f"s3://{bucket}/team")
    scan = _scan()
    key = CacheKey(scan.diff_id, "diff_id", 1 << 20)
    first = LayerCache(str(tmp_path / "one"))
    assert first.put(key, encode_scan(scan))
    blob = os.urandom(300_000)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    writer = BlobCache(str(tmp_path / "one")).writer(digest)
    writer.write(blob)
    writer.commit()
    FigureStore(str(tmp_path / "one"), 1).put("ab" * 32, {"efficiency": 0.5})
    keys = {item["Key"] for item in s3_env.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"team/layers-v4/{key.file_name()}" in keys
    assert f"team/blobs/sha256/{digest[7:]}" in keys
    assert f"team/figures-v1/ab/{'ab' * 32}.json" in keys

    other = LayerCache(str(tmp_path / "two"))  # another runner: an empty local cache, the same bucket
    found = other.get(key)
    assert found is not None and other.shared_hits == 1
    assert found.entries.keys() == scan.entries.keys() and found.size_bytes == scan.size_bytes
    assert LayerCache(str(tmp_path / "two")).get(key).size_bytes == scan.size_bytes  # now local too
    with BlobCache(str(tmp_path / "two")).open(digest, len(blob)) as f:
        assert f.read() == blob
    assert FigureStore(str(tmp_path / "two"), 1).get("ab" * 32) == {"efficiency": 0.5}


def test_corrupt_and_foreign_objects_are_ignored_with_one_warning(s3_env, tmp_path, capsys) -> None:  # noqa: F811
    bucket = s3_env.new_bucket()
    remote.configure_remote(f"s3://{bucket}")
    scan = _scan()
    key = CacheKey(scan.diff_id, "diff_id", 1 << 20)
    LayerCache(str(tmp_path / "one")).put(key, encode_scan(scan))
    client = s3_env.client()
    name = f"layers-v4/{key.file_name()}"
    good = client.get_object(Bucket=bucket, Key=name)
    body = bytearray(good["Body"].read())
    body[100] ^= 0xFF  # one flipped byte, the checksum header as it was
    client.put_object(Bucket=bucket, Key=name, Body=bytes(body), Metadata=good["Metadata"])
    blob = b"the real bytes" * 1000
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    client.put_object(Bucket=bucket, Key=f"blobs/sha256/{digest[7:]}", Body=b"someone else's bytes")

    for attempt in range(2):
        local = str(tmp_path / f"fresh{attempt}")
        assert LayerCache(local).get(key) is None
        assert BlobCache(local).open(digest) is None
        assert not os.path.exists(os.path.join(local, "blobs", "sha256", digest[7:]))
    lines = _warnings(capsys.readouterr().err)
    assert len(lines) == 2, lines  # one for the scan, one for the blob: each said once
    assert all("corrupt or not divepy's" in line for line in lines)


def test_two_writers_of_one_key_leave_a_whole_object(s3_env, tmp_path) -> None:  # noqa: F811
    bucket = s3_env.new_bucket()
    remote.configure_remote(f"s3://{bucket}")
    encoded = encode_scan(_scan())
    key = CacheKey("sha256:" + "c" * 64, "digest", len(encoded))
    writers = [threading.Thread(target=LayerCache(str(tmp_path / f"w{i}")).put, args=(key, encoded)) for i in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    found = LayerCache(str(tmp_path / "reader")).get(key)
    assert found is not None and found.size_bytes > 0


def test_an_unreachable_store_is_one_warning_and_the_local_cache_goes_on(s3_env, tmp_path, capsys) -> None:  # noqa: F811
    closed = free_port()  # nothing listens there
    remote.configure_remote(f"s3://divepy-none?endpoint=http://127.0.0.1:{closed}")
    scan = _scan()
    key = CacheKey(scan.diff_id, "diff_id", 1 << 20)
    cache = LayerCache(str(tmp_path))
    started = time.monotonic()
    assert cache.get(key) is None
    assert cache.put(key, encode_scan(scan))
    assert cache.get(key) is not None  # the local cache
    assert BlobCache(str(tmp_path)).open("sha256:" + "d" * 64) is None
    assert time.monotonic() - started < 20
    lines = _warnings(capsys.readouterr().err)
    assert len(lines) == 1 and "going on with the local cache" in lines[0], lines


def test_without_the_scale_extra_cache_url_says_how_to_install(monkeypatch, capsys) -> None:
    from dive_py.cli.main import main

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'divepy\[scale\]'"):
        remote.configure_remote("s3://bucket/prefix")
    assert main(["audit", str(EXAMPLE), "--cache-url", "s3://bucket/prefix"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["divepy: error: the shared cache needs the scale extra: pip install 'divepy[scale]'"]


_UPLOADER = textwrap.dedent(
    """
    import sys
    from dive_py.cache import remote
    remote.configure_remote(sys.argv[1])
    remote.remote_store().put_file(sys.argv[2], sys.argv[3], sys.argv[4])
    print("done", flush=True)
    """
)


@pytest.mark.slow
def test_a_runner_killed_mid_upload_leaves_nothing_another_runner_trusts(s3_env, tmp_path) -> None:  # noqa: F811
    bucket = s3_env.new_bucket()
    url = f"s3://{bucket}/shared"
    blob = tmp_path / "big"
    blob.write_bytes(os.urandom(48 << 20))  # multipart: 8 MB parts
    digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
    name = f"blobs/sha256/{digest[7:]}"
    env = {**os.environ, **s3_env.env(), "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", _UPLOADER, url, name, str(blob), digest[7:]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    client = s3_env.client()
    deadline = time.monotonic() + 30
    try:
        while not client.list_multipart_uploads(Bucket=bucket).get("Uploads"):
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)  # mid-upload: parts sent, the upload not completed
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert b"done" not in child.stdout.read()
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)  # nothing visible
    remote.configure_remote(url)
    assert BlobCache(str(tmp_path / "other")).open(digest) is None
    # The same upload, finished, is found and checked whole.
    assert remote.remote_store().put_file(name, str(blob), digest[7:])
    with BlobCache(str(tmp_path / "third")).open(digest) as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest[7:]


def test_the_variable_without_the_extra_is_one_warning_and_the_analysis_goes_on(monkeypatch, capsys) -> None:
    from dive_py.cli.main import main

    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setenv("DIVEPY_CACHE_URL", "s3://bucket/from-the-ci-settings")
    remote.configure_remote(None)
    monkeypatch.setenv("DIVEPY_CACHE_URL", "s3://bucket/from-the-ci-settings")
    try:
        assert main(["--ci", str(EXAMPLE)]) == 0
    finally:
        remote.configure_remote(None)
    lines = _warnings(capsys.readouterr().err)
    assert lines == ["divepy: warning: cache store: DIVEPY_CACHE_URL is set but the shared cache needs the scale "
                     "extra: pip install 'divepy[scale]'"]  # fmt: skip
