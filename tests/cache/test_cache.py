"""The layer cache: hits skip the scan, misses and bad entries fall back to it, --no-cache bypasses it."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cache import scans as cache_module
from dive_py.cache.scans import CacheKey, LayerCache, cache_key, decode_scan, encode_scan
from dive_py.cli.options import build_parser, load_options
from dive_py.errors import DigestMismatchError
from dive_py.load import parallel, workers
from dive_py.load.image import LoadOptions, load_image
from dive_py.model import FileEntry, LayerScan
from tests.fixtures.images import (
    M,
    file,
    folder,
    layer_tar,
    opaque,
    whiteout,
    write_docker_archive,
    write_oci_archive,
)


@pytest.fixture(autouse=True)
def _cache_small_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "CACHE_MIN_BLOB", 0)


def _layers(tag: bytes = b"") -> list[bytes]:
    return [
        layer_tar([folder("etc"), file("etc/passwd", b"root:x:0:0" + tag), file("bin/sh", b"\x7fELF" * 100)]),
        layer_tar([file("etc/passwd", b"root:x:0:0:changed" + tag), whiteout("bin/sh"), folder("opt")]),
        layer_tar([opaque("opt"), file("opt/app", b"app" * 1000 + tag), M("etc/link", "hardlink", link="opt/app")]),
    ]


def _figures(path: Path, **options) -> tuple:  # noqa: ANN003
    analysis = load_analysis(str(path), LoadOptions(**options))
    entries = [
        [(e.path, e.kind, e.size, e.mode, e.uid, e.gid, e.link, e.hash) for e in layer.scan.entries.values()]
        for layer in analysis.layers
    ]
    scans = [(s.whiteouts, s.opaques, s.diff_id, s.member_count) for s in (layer.scan for layer in analysis.layers)]
    return (
        analysis.efficiency,
        analysis.size_bytes,
        analysis.wasted_bytes,
        [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies],
        scans,
        entries,
        analysis.warnings,
    )


def _entry_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.scan"))


def _no_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the layer was scanned although the cache holds it")

    monkeypatch.setattr(workers, "scan_layer", refuse)


def test_encoding_round_trips_every_field() -> None:
    scan = LayerScan(
        entries={
            "a/b": FileEntry("a/b", "f", 12, 0o4755, 1000, -2, "", 2**64 - 1),
            "a/l": FileEntry("a/l", "l", 0, 0o777, 0, 0, "../b\udcff", 0),
            "a": FileEntry("a", "d", 0, 0o755),
        },
        whiteouts=["x/y", "w"],
        whiteout_attributes={"x/y": (0o4755, 1000, -2), "w": (0, 0, 2**40)},
        opaques=["", "z"],
        size_bytes=123,
        member_count=7,
        diff_id="sha256:" + "0" * 64,
        warnings=["img: layer 2 (blob): something odd", "other"],
    )
    back = decode_scan(encode_scan(scan, "img: layer 2 (blob)"), "new: layer 3 (b)")
    assert list(back.entries) == list(scan.entries)
    for path, entry in scan.entries.items():
        got = back.entries[path]
        assert [getattr(got, f) for f in FileEntry.__slots__] == [getattr(entry, f) for f in FileEntry.__slots__]
    assert back.whiteout_attributes == scan.whiteout_attributes
    assert (back.whiteouts, back.opaques, back.size_bytes, back.member_count, back.diff_id) == (
        scan.whiteouts,
        scan.opaques,
        scan.size_bytes,
        scan.member_count,
        scan.diff_id,
    )
    assert back.warnings == ["new: layer 3 (b): something odd", "other"]


def test_second_load_is_a_hit_and_gives_the_same_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    first = _figures(archive)
    assert len(_entry_files(Path(os.environ["XDG_CACHE_HOME"]))) == 3
    _no_scans(monkeypatch)
    assert _figures(archive) == first


def test_oci_archive_is_keyed_by_blob_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_oci_archive(tmp_path / "oci.tar", _layers(), compression="gzip")
    first = _figures(archive)
    names = [p.name for p in _entry_files(Path(os.environ["XDG_CACHE_HOME"]))]
    assert names and all("-digest-" in name for name in names)
    _no_scans(monkeypatch)
    assert _figures(archive) == first


def test_changed_image_misses(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    write_docker_archive(archive, _layers())
    before = _figures(archive)
    write_docker_archive(archive, _layers(b"-v2"))  # same path, new content: new diff_ids
    after = _figures(archive)
    assert after != before
    assert after == _figures(archive, use_cache=False)


def test_rewritten_blob_under_a_stale_name_is_not_served(tmp_path: Path) -> None:
    """Same declared digest and size, other bytes: the file changed, so the blob is hashed and refused."""
    archive = write_oci_archive(tmp_path / "oci.tar", _layers(), compression=None)
    _figures(archive)
    data = bytearray(archive.read_bytes())
    marker = data.find(b"\x7fELF" * 100)
    data[marker : marker + 4] = b"\x7fELG"
    archive.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError):
        _figures(archive)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "other-version"])
def test_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    first = _figures(archive)
    entries = _entry_files(Path(os.environ["XDG_CACHE_HOME"]))
    victim = entries[0]
    data = victim.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "flip": data[:-20] + bytes([data[-20] ^ 1]) + data[-19:],
        "garbage": os.urandom(len(data)),
        "empty": b"",
        "other-version": data.replace(b"DIVEPYSC" + bytes([cache_module.CACHE_VERSION]), b"DIVEPYSC\x63", 1),
    }[damage]
    victim.write_bytes(damaged)
    assert _figures(archive) == first
    assert victim.read_bytes() == data  # rewritten by the scan that replaced it
    _no_scans(monkeypatch)
    assert _figures(archive) == first


def test_no_cache_neither_reads_nor_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    first = _figures(archive, use_cache=False)
    assert not _entry_files(Path(os.environ["XDG_CACHE_HOME"]))
    _figures(archive)  # fills the cache
    calls = []
    original = workers.scan_layer
    monkeypatch.setattr(workers, "scan_layer", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert _figures(archive, use_cache=False) == first
    assert len(calls) == 3


def test_cli_flag_reaches_load_options() -> None:
    assert load_options(build_parser().parse_args(["img.tar", "--no-cache"])).use_cache is False
    assert load_options(build_parser().parse_args(["img.tar"])).use_cache is True


def test_only_stated_sha256_digests_are_keys() -> None:
    digest = "sha256:" + "ab" * 32
    assert cache_key(digest, None, 10) == CacheKey(digest, "digest", 10)
    assert cache_key(None, digest, 10) == CacheKey(digest, "diff_id", 10)
    assert cache_key("sha512:" + "ab" * 64, "sha256:../../etc", 10) is None
    assert cache_key(None, None, 10) is None


def _hammer(root: str, rounds: int) -> int:
    key = CacheKey("sha256:" + "cd" * 32, "digest", 4096)
    store = LayerCache(root)
    scan = LayerScan(entries={f"f{i}": FileEntry(f"f{i}", "f", i) for i in range(2000)}, size_bytes=42)
    encoded = encode_scan(scan)
    bad = 0
    for _ in range(rounds):
        store.put(key, encoded)
        got = store.get(key)
        if got is None or len(got.entries) != 2000 or got.size_bytes != 42:
            bad += 1
    return bad


def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_hammer, [str(tmp_path)] * 4, [60] * 4))
    assert results == [0, 0, 0, 0]
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".scan")]
    assert leftovers == []


def test_unwritable_cache_folder_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    expected = _figures(archive, use_cache=False)
    assert _figures(archive, cache_dir=str(blocker)) == expected


# -- trust: a cached scan serves only a blob proven to hold its bytes ---------------------


def test_a_copy_of_the_archive_is_hashed_once_then_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    first = _figures(archive)
    copy = tmp_path / "copy.tar"
    copy.write_bytes(archive.read_bytes())
    _no_scans(monkeypatch)
    hashed = []
    original = parallel.blob_matches
    monkeypatch.setattr(parallel, "blob_matches", lambda *a: hashed.append(1) or original(*a))
    assert _figures(copy) == first  # another file: each blob is hashed, not scanned
    assert len(hashed) == 3
    assert _figures(copy) == first  # now this file is known as well
    assert _figures(archive) == first
    assert len(hashed) == 3


def test_a_touched_file_is_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    first = _figures(archive)
    archive.write_bytes(archive.read_bytes())  # same bytes, new mtime and ctime
    _no_scans(monkeypatch)
    hashed = []
    original = parallel.blob_matches
    monkeypatch.setattr(parallel, "blob_matches", lambda *a: hashed.append(1) or original(*a))
    assert _figures(archive) == first
    assert len(hashed) == 3


def test_a_cached_blob_whose_config_names_another_diff_id_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fixtures import images

    layers = [layer_tar([file("a.txt", b"a" * 1000)])]
    archive = write_oci_archive(tmp_path / "oci.tar", layers, compression="gzip")
    _figures(archive)  # caches the blob by its digest
    honest = images.image_config
    monkeypatch.setattr(
        images,
        "image_config",
        lambda *a: {**honest(*a), "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}},
    )
    bad = write_oci_archive(tmp_path / "bad.tar", layers, compression="gzip")
    with pytest.raises(DigestMismatchError):
        _figures(bad)


# -- the figure cache ------------------------------------------------------------------


def test_warm_figures_need_neither_entries_nor_the_tree(tmp_path: Path) -> None:
    from dive_py.cache.scans import CachedLayerScan

    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    expected = _figures(archive, use_cache=False)
    load_analysis(str(archive))  # fills both caches
    analysis = load_analysis(str(archive))
    assert all(isinstance(layer.scan, CachedLayerScan) and not layer.scan.entries_loaded for layer in analysis.layers)
    assert analysis._tree is None
    summary = (analysis.efficiency, analysis.size_bytes, analysis.wasted_bytes, analysis.walk().final_size_bytes)
    assert summary == (
        expected[0],
        expected[1],
        expected[2],
        load_analysis(str(archive), LoadOptions(use_cache=False)).walk().final_size_bytes,
    )
    assert _figures(archive) == expected  # entries and tree on demand give the same answers
    assert list(analysis.tree.walk()) and analysis.layers[0].scan.entries_loaded


def test_figures_are_keyed_by_the_whole_chain_of_layers(tmp_path: Path) -> None:
    from dive_py.analysis.figures_record import figures_key

    a = write_docker_archive(tmp_path / "a.tar", _layers())
    b = write_docker_archive(tmp_path / "b.tar", [*_layers()[:2], layer_tar([file("opt/app", b"other")])])
    c = write_docker_archive(tmp_path / "c.tar", _layers()[:2])
    keys = {figures_key(load_image(str(p))) for p in (a, b, c)}
    assert len(keys) == 3 and None not in keys
    for path in (a, b, c):
        assert _figures(path) == _figures(path, use_cache=False)
        assert _figures(path) == _figures(path, use_cache=False)  # from the figure cache


def test_a_corrupt_figure_file_is_ignored(tmp_path: Path) -> None:
    archive = write_docker_archive(tmp_path / "img.tar", _layers())
    expected = _figures(archive)
    (figures,) = Path(os.environ["XDG_CACHE_HOME"]).rglob("figures-v*/*/*.json")
    data = figures.read_bytes()
    figures.write_bytes(data.replace(b'"efficiency":', b'"efficiency":1', 1))
    assert _figures(archive) == expected
    figures.write_bytes(b"{}")
    assert _figures(archive) == expected
    assert _figures(archive, use_cache=False) == expected


def test_the_cache_keeps_within_its_limit_dropping_the_least_recently_used(tmp_path: Path, monkeypatch) -> None:
    from dive_py.cache.store import CACHE_VERSION, cache_limit, prune_cache

    root = tmp_path / "cache"
    layers = root / f"layers-v{CACHE_VERSION}" / "ab"
    layers.mkdir(parents=True)
    for age, name in enumerate(["old", "mid", "new"]):
        (layers / f"{name}-digest-1.scan").write_bytes(b"x" * 1000)
        (layers / f"{name}-digest-1.where").write_text("[]")
        os.utime(layers / f"{name}-digest-1.scan", ns=(age * 10**9, age * 10**9))
    stale = root / f"layers-v{CACHE_VERSION - 1}" / "cd"
    stale.mkdir(parents=True)
    (stale / "x.scan").write_bytes(b"y" * 500)
    figures = root / "figures-v1"
    figures.mkdir()
    (figures / "f.json").write_text("{}")
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (blobs / ("b" * 64)).write_bytes(b"b" * 700)  # a registry blob, used before every layer entry
    os.utime(blobs / ("b" * 64), ns=(0, 0))
    (blobs / ".part-abc").write_bytes(b"p" * 300)  # a download that was killed an hour ago
    os.utime(blobs / ".part-abc", ns=(0, 0))
    (blobs / ".part-now").write_bytes(b"q" * 10)  # one under way
    assert prune_cache(str(root), limit=2000) == 500 + 300 + 700 + 1000
    assert sorted(p.name for p in blobs.iterdir()) == [".part-now"]
    assert sorted(p.name for p in layers.iterdir()) == [
        "mid-digest-1.scan",
        "mid-digest-1.where",
        "new-digest-1.scan",
        "new-digest-1.where",
    ]
    assert not stale.parent.exists() and (figures / "f.json").exists()
    assert prune_cache(str(root), limit=2000) == 0
    monkeypatch.setenv("DIVEPY_CACHE_LIMIT", "1kB")
    assert cache_limit() == 1000
    monkeypatch.setenv("DIVEPY_CACHE_LIMIT", "lots")
    assert cache_limit() == 4 << 30


def test_a_cache_hit_counts_as_a_recent_use(tmp_path: Path) -> None:
    path = tmp_path / "d.tar"
    write_docker_archive(path, [layer_tar([file(f"f{i}", b"z" * 3000) for i in range(200)])])
    cache_dir = tmp_path / "cache"
    options = LoadOptions(cache_dir=str(cache_dir))
    load_image(str(path), options)
    (entry,) = cache_dir.rglob("*.scan")
    os.utime(entry, ns=(0, 0))
    load_image(str(path), options)
    assert entry.stat().st_mtime_ns > 0
