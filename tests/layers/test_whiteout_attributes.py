"""A whiteout keeps its tar member's mode, uid and gid through every path a scan takes: the scan itself
(whiteouts never enter the C loop or the inline fast path), the worker processes' encoding and the cache."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from dive_py.cache import scans as cache_scans
from dive_py.cache.scans import decode_scan, encode_scan
from dive_py.layers.scan import scan_layer
from dive_py.load import parallel, shares, workers
from dive_py.load.image import LoadOptions, load_image
from tests.fixtures.images import M, file, folder, layer_tar, opaque, write_docker_archive
from tests.fixtures.paths import REPO, child_env

WHITEOUTS = {"foo.txt": (0o555, 0, 0), "etc/conf": (0o4640, 1000, 100), "var/deep/x": (0o600, 70000, 2**40)}
"""Deleted path -> (mode, uid, gid) of its ``.wh.`` member."""


def _whiteout_layer() -> bytes:
    members = [folder("."), opaque("opt"), M("etc/.wh..wh.plnk", mode=0o700)]
    for path, (mode, uid, gid) in WHITEOUTS.items():
        parent, _, name = path.rpartition("/")
        members.append(M(f"{parent}/.wh.{name}" if parent else f".wh.{name}", mode=mode, uid=uid, gid=gid))
    members.append(M("./.wh.foo.txt", mode=0o555))  # the same whiteout again: the last member wins
    members += [file(f"plain/{i}", str(i)) for i in range(50)]  # a run for the fast paths around them
    return layer_tar(members)


def _layers() -> list[bytes]:
    base = [file("foo.txt", "foo\n"), folder("etc"), file("etc/conf", "abc"), file("var/deep/x", "x" * 600)]
    return [layer_tar(base), _whiteout_layer()]


def test_the_scan_records_each_whiteouts_header():
    scan = scan_layer(io.BytesIO(_whiteout_layer()).read, "layer")
    assert scan.whiteouts == ["foo.txt", "etc/conf", "var/deep/x", "foo.txt"]
    assert scan.whiteout_attributes == WHITEOUTS  # no entry for opaque markers or aufs bookkeeping
    assert scan.opaques == ["opt"]
    assert len(scan.entries) == 50


def test_the_pure_python_scan_records_the_same():
    code = (
        "import io, sys; from dive_py.layers import scan; assert scan._scan_run is None; "
        "s = scan.scan_layer(io.BytesIO(sys.stdin.buffer.read()).read, 'layer'); "
        "print(sorted((p, list(a)) for p, a in s.whiteout_attributes.items()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=_whiteout_layer(), cwd=REPO, env=child_env(DIVEPY_PURE_PYTHON="1"), capture_output=True, check=True,
    )  # fmt: skip
    assert done.stdout.decode().strip() == str(sorted((p, list(a)) for p, a in WHITEOUTS.items()))


def test_the_encoding_carries_them():
    scan = scan_layer(io.BytesIO(_whiteout_layer()).read, "layer")
    back = decode_scan(encode_scan(scan, "layer"), "layer")
    assert back.whiteout_attributes == WHITEOUTS
    assert all(isinstance(value, tuple) for value in back.whiteout_attributes.values())


def _attributes(path: Path, **options) -> list[dict]:  # noqa: ANN003
    image = load_image(str(path), LoadOptions(**options))
    return [layer.scan.whiteout_attributes for layer in image.layers]


def test_worker_processes_carry_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(shares, "WORKER_MIN_BYTES", 0)
    path = write_docker_archive(tmp_path / "w.tar", _layers())
    assert _attributes(path, use_cache=False, workers=2) == [{}, WHITEOUTS]


def test_the_layer_cache_carries_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cache_scans, "CACHE_MIN_BLOB", 0)
    path = write_docker_archive(tmp_path / "w.tar", _layers())
    cache = str(tmp_path / "cache")
    assert _attributes(path, cache_dir=cache, workers=1) == [{}, WHITEOUTS]
    assert list((tmp_path / "cache").rglob("*.scan"))  # written by the first load ...

    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("scanned although the cache holds the layer")

    monkeypatch.setattr(workers, "scan_layer", refuse)
    assert _attributes(path, cache_dir=cache, workers=1) == [{}, WHITEOUTS]  # ... and read by the second
