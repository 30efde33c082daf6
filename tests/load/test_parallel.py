"""Layers scanned in worker processes give exactly what the serial scan gives, errors included."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.analysis.gc_policy import long_lived
from dive_py.errors import DivepyError
from dive_py.load import parallel, shares, workers
from dive_py.load.image import LoadOptions
from tests.fixtures.images import (
    M,
    file,
    folder,
    layer_tar,
    opaque,
    whiteout,
    write_docker_archive,
    write_oci_archive,
    write_oci_folder,
)
from tests.fixtures.paths import REPO
from tests.fixtures.stand_ins import image_file


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(shares, "WORKER_MIN_BYTES", 0)


def _layers() -> list[bytes]:
    return [
        layer_tar([folder("etc"), file("etc/passwd", "root"), file("usr/bin/tool", b"x" * 5000), file(".hidden", "h")]),
        layer_tar([file("etc/passwd", "root:changed"), whiteout("usr/bin/tool"), folder("opt"), file("opt/a", "a")]),
        layer_tar([opaque("opt"), file("opt/b", "b" * 300), M("etc/hl", "hardlink", link="opt/b")]),
        layer_tar([whiteout("never/existed"), file("./dot/slash", "d"), file("/abs/path", "p")]),
    ]


def signature(path: str, **options) -> tuple:  # noqa: ANN003
    analysis = load_analysis(path, LoadOptions(use_cache=False, **options))
    nodes = [
        (node.path, [(layer, e and (e.kind, e.size, e.mode, e.uid, e.gid, e.link, e.hash)) for layer, e in node.events])
        for node in analysis.tree.walk()
    ]
    scans = [
        (list(layer.scan.entries), layer.scan.whiteouts, layer.scan.opaques, layer.scan.diff_id, layer.scan.warnings)
        for layer in analysis.layers
    ]
    figures = (analysis.efficiency, analysis.size_bytes, analysis.user_size_bytes, analysis.wasted_bytes)
    inefficient = [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies]
    return figures, inefficient, nodes, scans, analysis.warnings


def _built(tmp_path: Path, kind: str) -> str:
    if kind == "docker":
        return str(write_docker_archive(tmp_path / "d.tar", _layers()))
    if kind == "oci-folder":
        return str(write_oci_folder(tmp_path / "oci", _layers(), compression="zstd"))
    return str(write_oci_archive(tmp_path / "o.tar", _layers(), compression=kind))


@pytest.mark.parametrize("kind", ["docker", "gzip", "zstd", "oci-folder"])
def test_workers_match_serial_on_built_images(tmp_path: Path, kind: str) -> None:
    path = _built(tmp_path, kind)
    assert signature(path, workers=2) == signature(path, workers=1)


@pytest.mark.parametrize(
    "name",
    [
        "dive/test-docker-image.tar",
        "dive/test-oci-gzip-image.tar",
        "corpus/edits-mini.oci-zstd.tar",
        "seed/tomcat02.tar",
    ],
)
def test_workers_match_serial_on_shared_images(name: str) -> None:
    path = image_file(name)  # the example or a stand-in where the clone has one, else ../shared
    assert signature(str(path), workers=2) == signature(str(path), workers=1)


def test_shared_docker_image_figures_in_workers() -> None:
    path = image_file("dive/test-docker-image.tar")  # dive's test image, built in code
    analysis = load_analysis(str(path), LoadOptions(use_cache=False, workers=2))
    assert (analysis.efficiency, analysis.size_bytes, analysis.user_size_bytes, analysis.wasted_bytes) == (
        0.9844212134184309,
        1220598,
        66237,
        32025,
    )


def _error(path: str, **options) -> tuple[type, str]:  # noqa: ANN003
    with pytest.raises(DivepyError) as info:
        load_analysis(path, LoadOptions(use_cache=False, **options))
    return type(info.value), str(info.value)


def test_a_worker_error_is_raised_as_the_serial_one(tmp_path: Path) -> None:
    layers = _layers()
    path = tmp_path / "bad.tar"
    write_docker_archive(path, layers)
    data = bytearray(path.read_bytes())
    at = data.find(b"root:changed")
    data[at : at + 4] = b"ROOT"  # layer 2 no longer matches its diff_id
    path.write_bytes(bytes(data))
    assert _error(str(path), workers=2) == _error(str(path), workers=1)


def test_ignore_errors_skips_the_same_layer_in_workers(tmp_path: Path) -> None:
    path = tmp_path / "bad.tar"
    write_docker_archive(path, _layers())
    data = bytearray(path.read_bytes())
    at = data.find(b"root:changed")
    data[at : at + 4] = b"ROOT"
    path.write_bytes(bytes(data))
    assert signature(str(path), workers=2, ignore_errors=True) == signature(str(path), workers=1, ignore_errors=True)


def _in_fresh_interpreter(body: str, tmp_path: Path) -> None:
    """Runs test code in a new interpreter: workers are forked ahead only while one thread runs,
    which a pytest process (threads of other tests' servers) cannot promise."""
    code = (
        "from pathlib import Path\n"
        "from dive_py.load import parallel, shares, workers\n"
        "from tests.load.test_parallel import _built, signature\n"
        f"tmp_path = Path({str(tmp_path)!r})\n"
        "assert workers.prestart_workers(2), 'workers were not forked ahead'\n" + textwrap.dedent(body)
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_prestarted_workers_serve_the_next_load_once(tmp_path: Path) -> None:
    _in_fresh_interpreter(
        """
        path = _built(tmp_path, "docker")
        assert len(workers._prestarted) == 1
        assert signature(path, workers=2) == signature(path, workers=1)  # the first load takes them
        assert workers._prestarted == []
        """,
        tmp_path,
    )


def test_prestarted_workers_a_load_does_not_need_are_shut_down(tmp_path: Path) -> None:
    _in_fresh_interpreter(
        """
        path = _built(tmp_path, "docker")
        forked = workers._prestarted[0]
        signature(path, workers=1)
        assert workers._prestarted == []
        for worker in forked:
            worker.process.join(timeout=10)
            assert worker.process.exitcode == 0, "the unused workers were not stopped"
        """,
        tmp_path,
    )


def test_long_lived_pauses_the_gc_and_restores_it() -> None:
    assert gc.isenabled()
    try:
        with long_lived():
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(ValueError), long_lived():
            raise ValueError("a failed load")
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def _job(index: int, size: int) -> workers.BlobJob:
    return workers.BlobJob(index, "blob", 0, size, f"layer {index + 1}", None, None)


def test_layers_are_split_by_size_and_each_share_runs_bottom_up() -> None:
    sizes = [121, 426, 935, 53, 1, 9, 45, 1, 43, 1, 2, 1, 1, 2, 123]  # large.docker.tar, in MB
    split = shares.assign_jobs([(_job(i, size), None) for i, size in enumerate(sizes)], 2)
    assert [[job.index for job, _key in share] for share in split] == [
        [2],
        [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ]
    loads = sorted(sum(job.size for job, _key in share) for share in split)
    assert loads == [sum(sizes) - 935, 935]
    assert shares.assign_jobs([(_job(0, 5), None)], 2) == [[(_job(0, 5), None)]]
    behind = shares.assign_jobs([(_job(i, size), None) for i, size in enumerate([50, 40, 30, 20])], 2, head_start=0.5)
    assert [[job.index for job, _key in share] for share in behind] == [[0, 1, 3], [2]]  # 110 vs 70 + 30


def test_gzip_layers_are_weighed_by_their_uncompressed_size(tmp_path: Path) -> None:
    import gzip

    blob = tmp_path / "layer.gz"
    blob.write_bytes(gzip.compress(b"\0" * 1_000_000))
    job = workers.BlobJob(0, str(blob), 0, blob.stat().st_size, "layer 1", None, None)
    assert shares.blob_kind(job) == ("gzip", 1_000_000) and job.size < 1_000_000


@pytest.mark.parametrize("kind", ["gzip", "docker"])  # layers split ahead / handed out as scanners come free
def test_a_worker_that_dies_leaves_its_layers_to_the_main_process(tmp_path: Path, kind: str) -> None:
    _in_fresh_interpreter(
        f"""
        import multiprocessing, os
        for worker in workers.take_prestarted():
            worker.stop()
        path = _built(tmp_path, "{kind}")
        def dying(job, root=None, key=None):
            (tmp_path / "died").write_text("")
            os._exit(3)  # killed mid-scan (out of memory, a signal)
        workers.scan_job = dying  # the workers are forked after this: they run it
        parallel.PARALLEL_MIN_BYTES = shares.WORKER_MIN_BYTES = 0
        assert signature(path, workers=2) == signature(path, workers=1)
        assert (tmp_path / "died").exists()
        assert multiprocessing.active_children() == []
        """,
        tmp_path,
    )


def test_workers_are_gone_when_the_load_returns(tmp_path: Path) -> None:
    _in_fresh_interpreter(
        """
        import multiprocessing
        parallel.PARALLEL_MIN_BYTES = shares.WORKER_MIN_BYTES = 0
        forked = workers._prestarted[0]
        signature(_built(tmp_path, "gzip"), workers=2)
        assert multiprocessing.active_children() == []
        assert [w.process.exitcode for w in forked] == [0]
        """,
        tmp_path,
    )


@pytest.mark.parametrize("kind", ["docker", "gzip"])
def test_spawned_workers_scan_too(tmp_path: Path, kind: str) -> None:
    """Where fork is not safe (another thread runs), the worker is a fresh interpreter: it must work."""
    _in_fresh_interpreter(
        f"""
        import multiprocessing
        from dive_py.cache.scans import CachedLayerScan
        from dive_py.load.image import LoadOptions, load_image
        for worker in workers.take_prestarted():
            worker.stop()
            worker.finish()
        parallel.PARALLEL_MIN_BYTES = shares.WORKER_MIN_BYTES = 0
        workers.pool_context = lambda: multiprocessing.get_context("spawn")
        path = _built(tmp_path, "{kind}")
        scans = [layer.scan for layer in load_image(path, LoadOptions(use_cache=False, workers=2)).layers]
        assert any(isinstance(scan, CachedLayerScan) for scan in scans), "no layer came back from a worker"
        assert signature(path, workers=2) == signature(path, workers=1)
        """,
        tmp_path,
    )


def test_a_spawned_worker_does_not_run_the_command_again() -> None:
    """A spawned process imports the parent's main module as ``__mp_main__``: ``python -m dive_py`` must not start."""
    code = "import runpy; runpy.run_module('dive_py.__main__', run_name='__mp_main__'); print('imported only')"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "imported only", done.stderr[-500:]


def test_small_plain_layers_are_scanned_here_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers under WORKER_MIN_BYTES stay in this process, scanned last in manifest order (a round trip
    to a worker costs more than their scan); the worker starts with the largest, this process at the bottom."""
    monkeypatch.setattr(shares, "WORKER_MIN_BYTES", 1000)
    sizes = [5000, 10, 9000, 20, 3000, 7000, 30]
    worker, here = shares.plain_takers([(_job(i, size), None) for i, size in enumerate(sizes)], 2)
    assert worker()[0].index == 2  # its own first: the largest
    assert here()[0].index == 0  # the bottom layer
    assert worker()[0].index == 5 and here()[0].index == 4  # then the large ones, largest first
    assert worker() is None  # no small layer is sent
    assert [here()[0].index for _ in range(3)] == [1, 3, 6] and here() is None
