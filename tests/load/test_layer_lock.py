"""Runs of one cache wait for each other on a layer they both read (``divepy audit``'s workers): the one that
waited takes the other's scan from the cache, checked against its own blob, instead of scanning again."""

from __future__ import annotations

import io
import os
import threading
import time

from dive_py.cache.scans import CachedLayerScan, LayerCache, cache_key, encode_scan
from dive_py.cache.store import layer_lock
from dive_py.layers.scan import scan_layer
from dive_py.load.image import load_image
from dive_py.load.options import LoadOptions
from tests.fixtures.images import file, layer_tar, sha256, write_docker_archive

BASE = layer_tar([file("base/data.bin", os.urandom(400_000))])


def test_a_run_waits_for_the_scan_another_run_is_making_and_takes_it(tmp_path) -> None:
    root = str(tmp_path / "cache")
    archive = write_docker_archive(tmp_path / "b.tar", [BASE, layer_tar([file("app", b"x")])])
    key = cache_key(None, sha256(BASE), len(BASE))
    loaded = {}
    with layer_lock(root, key.digest) as waited:  # "another run" is scanning the base
        assert waited is False
        reader = threading.Thread(
            target=lambda: loaded.update(image=load_image(str(archive), LoadOptions(cache_dir=root, workers=1)))
        )
        reader.start()
        time.sleep(0.3)
        assert reader.is_alive()  # waiting for the lock, not scanning
        scan = scan_layer(io.BytesIO(BASE).read, "other run", expected_diff_id=key.digest)
        LayerCache(root).put(key, encode_scan(scan))
    reader.join(30)
    base = loaded["image"].layers[0].scan
    assert isinstance(base, CachedLayerScan) and base.size_bytes == 400_000


def test_nobody_else_scanning_means_no_wait_and_no_second_look(tmp_path) -> None:
    root = str(tmp_path / "cache")
    archive = write_docker_archive(tmp_path / "a.tar", [BASE])
    image = load_image(str(archive), LoadOptions(cache_dir=root, workers=1))
    assert not isinstance(image.layers[0].scan, CachedLayerScan)
    assert not [n for n in os.listdir(os.path.join(root, "layers-v4")) if n.startswith(".tmp-")]  # the lock is gone
