"""The layer scanner's C loop reads every member exactly as its Python reader does.

``scan._scan_members`` hands runs of plain members to C (``_tarfast.scan_run``, when built,
through :meth:`TarReader.run_members`) and everything else to :meth:`TarReader.next`. Each layer
here is scanned both ways -- as shipped, and with the C loop off -- and the scans must encode to
the same bytes: paths, kinds, sizes, modes, owners, content hashes, links, whiteouts, warnings
and member counts.
"""

from __future__ import annotations

import contextlib
import io
import tarfile

import pytest

from dive_py.cache.scans import encode_scan
from dive_py.layers import scan as layer_tar
from dive_py.layers.scan import scan_layer
from dive_py.load.image import LoadOptions, load_image
from tests.fixtures.images import M, file, folder, opaque, whiteout
from tests.fixtures.images import layer_tar as make_layer
from tests.fixtures.paths import IMAGES
from tests.fixtures.stand_ins import SAME_AS_EXAMPLE, STAND_INS, image_file

SHARED = STAND_INS + sorted(
    str(p.relative_to(IMAGES))
    for folder in ("seed", "dive", "corpus")
    for p in (IMAGES / folder).rglob("*.tar")
    if str(p.relative_to(IMAGES)) != SAME_AS_EXAMPLE
)
"""The bundled example and the stand-ins built in code, and the real archives of ../shared when it is there."""
"""Our own reference archives; ``external/`` (other projects' test data) has tests of its own."""


WAYS = ["shipped", "general"]
"""``shipped``: the C loop when built; ``general``: the Python reader alone."""


@contextlib.contextmanager
def _way(way: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202
    with monkeypatch.context() as patch:
        if way != "shipped":
            patch.setattr(layer_tar, "_scan_run", None)
        yield


def _all_ways(blob: bytes, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    scans = []
    for way in WAYS:
        with _way(way, monkeypatch):
            scans.append(encode_scan(scan_layer(io.BytesIO(blob).read, "layer")))
    return scans


def _both_ways(blob: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """The shipped scan, and the general one."""
    shipped, general = _all_ways(blob, monkeypatch)
    return shipped, general


def _ustar_prefix_layer() -> bytes:
    """Names over 100 bytes in the ustar prefix field (what Go's archive/tar writes when they fit)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in ("a" * 90 + "/" + "b" * 60 + "/file.txt", "c" * 120 + "/d"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return buf.getvalue()


MIXED = [
    folder("etc"),
    file("etc/passwd", "root:x:0:0"),
    file("./etc/hosts", "127.0.0.1", mode=0o600, uid=1000, gid=1000),
    file("/abs/path", "x"),
    file("etc/.hidden", "dot"),
    M("etc/link", "symlink", link="passwd"),
    M("etc/hard", "hardlink", link="etc/passwd"),
    M("dangling", "hardlink", link="nowhere"),
    M("dev/null", "char"),
    M("dev/sda", "block"),
    M("run/fifo", "fifo"),
    whiteout("var/cache"),
    opaque("usr/share"),
    file("etc/passwd", "replaced later in the same layer"),
    file("big", b"\x01" * 70_000),
    file("empty"),
    file("usr/bin/su", "setuid", mode=0o4755),
    file("oldstyle/"),  # a pre-POSIX folder: a regular member named with a trailing slash
    M(".", "dir"),
    M("pax/" + "n" * 150, "file", b"long name through PAX"),
    file("uni/caf\u00e9", "utf-8 name"),
]
"""Every kind of member, in the forms the fast path takes and those it leaves to the general path."""


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_crafted_layers_read_the_same_both_ways(fmt: int, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = make_layer(MIXED, fmt=fmt)
    fast, general = _both_ways(blob, monkeypatch)
    assert fast == general
    scan = scan_layer(io.BytesIO(blob).read, "layer")
    assert scan.entries["etc/passwd"].size == len("replaced later in the same layer")
    assert list(scan.entries)[-1] == "uni/caf\u00e9"  # the repeated path sits at its last position
    assert scan.entries["etc/hard"].hash == scan.entries["etc/passwd"].hash != 0
    assert scan.entries["oldstyle"].kind == "d" and scan.entries["usr/bin/su"].mode == 0o4755
    assert scan.whiteouts == ["var/cache"] and scan.opaques == ["usr/share"]
    assert any("hard link" in w and "nowhere" in w for w in scan.warnings)


def test_ustar_prefix_names_and_global_pax_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general = _both_ways(_ustar_prefix_layer(), monkeypatch)
    assert fast == general
    scan = scan_layer(io.BytesIO(_ustar_prefix_layer()).read, "layer")
    assert "a" * 90 + "/" + "b" * 60 + "/file.txt" in scan.entries
    with_global = make_layer([file("a", "1"), file("b", "2")], pax_global={"uid": "4242"})
    fast, general = _both_ways(with_global, monkeypatch)
    assert fast == general
    assert {e.uid for e in scan_layer(io.BytesIO(with_global).read, "layer").entries.values()} == {4242}


def test_content_that_crosses_read_chunks_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    members = [file(f"f{i}", bytes([i]) * (i * 9_973)) for i in range(200)]
    blob = make_layer(members)
    small_reads = encode_scan(scan_layer(_chunked(blob, 4_096), "layer"))
    fast, general = _both_ways(blob, monkeypatch)
    assert small_reads == fast == general


def _chunked(blob: bytes, size: int):  # noqa: ANN202
    stream = io.BytesIO(blob)
    return lambda n=-1: stream.read(min(size, n) if n > 0 else size)


@pytest.mark.parametrize("name", SHARED)
def test_shared_archives_read_the_same_every_way(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = image_file(name)
    options = LoadOptions(use_cache=False, workers=1)
    scans = []
    for way in WAYS:
        with _way(way, monkeypatch):
            scans.append([encode_scan(layer.scan) for layer in load_image(str(archive), options).layers])
    assert scans[0] == scans[1]
    assert sum(len(layer) for layer in scans[0]) > 0
