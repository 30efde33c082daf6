"""Hostile tars: GNU sparse files in PAX form (read under their real name and size, as tar, Python and Go
read them), PAX and GNU extended headers bounded per member and per stream, and files a layer writes
below its own symlink (shown as folders, with a warning). C loop and Python read each alike."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.contents.reader import CHUNK
from dive_py.layers.headers import EXTENSION_LIMIT
from dive_py.layers.scan import scan_layer
from dive_py.layers.tarscan import TarReader
from tests.fixtures import hostile as h
from tests.fixtures.images import M, file, layer_tar
from tests.layers.test_tarfast import _header, _member
from tests.layers.test_tarfast_extensions import _ext, _record, _same_both_ways

FRAGMENTS = ((100, b"hello"), (5000, b"sparse"), (9000, b""))
REAL_SIZE = 9000
EXPECTED = bytes(100) + b"hello" + bytes(5000 - 105) + b"sparse" + bytes(REAL_SIZE - 5006)


def _sparse_1_0(name: str = "opt/data.img", fragments=FRAGMENTS, size: int = REAL_SIZE, **extra: str) -> bytes:  # noqa: ANN001
    """A member as GNU tar --sparse --format=pax writes it: the map as lines before the data."""
    records = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
               "GNU.sparse.realsize": str(size), **extra}  # fmt: skip
    lines = [str(len(fragments))] + [str(n) for offset, data in fragments for n in (offset, len(data))]
    sparse_map = "\n".join(lines).encode() + b"\n"
    stored = sparse_map + bytes(-len(sparse_map) % 512) + b"".join(data for _, data in fragments)
    pax = _ext(b"x", b"".join(_record(key, value) for key, value in records.items()))
    return pax + _member("./GNUSparseFile.0/data.img", stored)


def _sparse_0_x(minor: str, name: str = "opt/data.img") -> bytes:
    """A 0.1 member (the map in one record) or a 0.0 one (an offset and numbytes record per fragment)."""
    records = [("GNU.sparse.major", "0"), ("GNU.sparse.minor", minor), ("GNU.sparse.name", name),
               ("GNU.sparse.size", str(REAL_SIZE))]  # fmt: skip
    if minor == "1":
        records.append(("GNU.sparse.map", ",".join(f"{o},{len(d)}" for o, d in FRAGMENTS)))
    else:
        records += [
            pair for o, d in FRAGMENTS for pair in (("GNU.sparse.offset", str(o)), ("GNU.sparse.numbytes", str(len(d))))
        ]
    pax = _ext(b"x", b"".join(_record(key, value) for key, value in records))
    return pax + _member("GNUSparseFile.0/data.img", b"".join(data for _, data in FRAGMENTS))


def _layer(*members: bytes) -> bytes:
    return _member("before", b"1") + b"".join(members) + _member("after", b"22") + bytes(1024)


def _entries(blob: bytes) -> dict:
    _same_both_ways(blob)  # the C loop and Python read it alike
    return scan_layer(io.BytesIO(blob).read, "layer 1").entries


@pytest.mark.parametrize("member", [_sparse_1_0(), _sparse_0_x("1"), _sparse_0_x("0")], ids=["1.0", "0.1", "0.0"])
def test_a_pax_sparse_file_reads_under_its_real_name_and_size(member: bytes) -> None:
    blob = _layer(member)
    entries = _entries(blob)
    assert sorted(entries) == ["after", "before", "opt/data.img"]
    assert entries["opt/data.img"].size == REAL_SIZE and entries["after"].size == 2
    # Python's tarfile (and GNU tar, and Go) extract the same name and bytes.
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        oracle = tar.getmember("opt/data.img")
        assert oracle.size == REAL_SIZE and tar.extractfile(oracle).read() == EXPECTED
    reader = TarReader(io.BytesIO(blob).read)
    reader.next()
    header = reader.next()
    stream = reader.content_stream(header.size)
    got = b"".join(iter(lambda: stream.read(CHUNK), b""))
    stream.finish()
    assert got == EXPECTED and reader.next().name == b"after"


def test_gnu_tar_sparse_files_read_as_tar_reads_them(tmp_path: Path) -> None:
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    with open(tmp_path / "holes.img", "wb") as out:
        out.truncate(3 << 20)
        out.seek(1 << 20)
        out.write(b"in the middle")
    archive = tmp_path / "layer.tar"
    done = subprocess.run(["tar", "--sparse", "--format=pax", "-cf", str(archive), "-C", str(tmp_path), "holes.img"],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"tar --sparse failed: {done.stderr[:200]!r}")
    blob = archive.read_bytes()
    assert b"GNUSparseFile" in blob
    entries = _entries(blob)
    assert list(entries) == ["holes.img"] and entries["holes.img"].size == 3 << 20


SPARSE_REFUSED = {
    "unknown version": (_sparse_1_0(**{"GNU.sparse.major": "2"}), "GNU sparse format '2'.'0' is not supported"),
    "out of order": (_sparse_1_0(fragments=((50, b"ab"), (10, b"cd"))), "out of order or past its size"),
    "past its size": (_sparse_1_0(size=5000), "out of order or past its size"),
    "map bigger than data": (
        _ext(b"x", _record("GNU.sparse.map", "0,999") + _record("GNU.sparse.size", "2000")) + _member("f", b"ab"),
        "names 999 stored bytes, its data holds 2",
    ),
    "odd map": (_ext(b"x", _record("GNU.sparse.map", "0,1,2")) + _member("f", b"ab"), "odd count"),
    "bad realsize": (_sparse_1_0(size="1e3"), "bad sparse file size"),  # type: ignore[arg-type]
    "map never ends": (
        _ext(b"x", _record("GNU.sparse.major", "1") + _record("GNU.sparse.minor", "0")) + _member("f", b"9" * 2048),
        "sparse map runs past",
    ),
    "sparse symlink": (
        _ext(b"x", _record("GNU.sparse.map", "0,0")) + _header("l", kind=tarfile.SYMTYPE),
        "not a regular",
    ),
}


@pytest.mark.parametrize("member,message", SPARSE_REFUSED.values(), ids=SPARSE_REFUSED.keys())
def test_a_broken_sparse_file_is_one_clear_error(member: bytes, message: str) -> None:
    outcome = _same_both_ways(_layer(member))
    assert isinstance(outcome, str) and outcome.startswith("ImageFormatError") and message in outcome, outcome


def _pax(kind: bytes, key: str, size: int) -> bytes:
    return _ext(kind, _record(key, "v" * size))


EXTENSIONS_REFUSED = {
    "one record over 1 MiB": (_pax(b"x", "comment", EXTENSION_LIMIT), "bytes is over the 1 MiB limit"),
    "a long name over 1 MiB": (_ext(b"L", b"n" * (EXTENSION_LIMIT + 1)), "1048577 bytes is over the 1 MiB limit"),
    "a global header over 1 MiB": (_pax(b"g", "comment", EXTENSION_LIMIT), "bytes is over the 1 MiB limit"),
    "a member's headers over 1 MiB": (
        _pax(b"x", "a", 400 << 10) + _pax(b"x", "b", 400 << 10) + _ext(b"L", b"n" * (400 << 10)),
        "extended tar headers of one member are over",
    ),
    "global records over 1 MiB": (
        b"".join(_pax(b"g", f"key{i}", 100 << 10) + _member(f"f{i}", b"x") for i in range(12)),
        "PAX global headers hold over 1 MiB",
    ),
}


@pytest.mark.parametrize("members,message", EXTENSIONS_REFUSED.values(), ids=EXTENSIONS_REFUSED.keys())
def test_extended_headers_are_bounded(members: bytes, message: str) -> None:
    outcome = _same_both_ways(_layer(members, _member("last")))
    assert isinstance(outcome, str) and outcome.startswith("ImageFormatError") and message in outcome, outcome


def test_extended_headers_within_bounds_still_read() -> None:
    """Globals that replace one key, a long name and a large record below the cap: read as before."""
    globals_ = b"".join(_pax(b"g", "comment", 200 << 10) + _member(f"f{i}", b"x") for i in range(12))
    long_name = "d/" + "n" * 4000
    blob = _layer(
        globals_,
        _pax(b"x", "comment", 900 << 10) + _member("big-pax", b"ab"),
        _ext(b"L", long_name.encode()) + _member("x"),
    )
    entries = _entries(blob)
    assert {"f0", "f11", "big-pax", long_name} <= set(entries)


def test_a_file_below_a_symlink_of_the_same_layer_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    layers = [
        layer_tar([*h.BASE, M("etc/conf", "symlink", link="/tmp"), file("etc/conf/evil", "x")]),
        layer_tar([M("usr/lib", "symlink", link="/lib"), file("var/ok", "fine")]),
        layer_tar([file("usr/lib/below", "lower layer's link: not this warning")]),
    ]
    analysis = load_analysis(h.docker_archive(tmp_path, layers))
    said = [w for w in analysis.warnings if "symlink" in w]
    assert len(said) == 1 and said[0].startswith("layer 0:") and "/etc/conf" in said[0], analysis.warnings


def test_a_sparse_member_of_an_image_archive_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from dive_py.cli.main import main

    archive = tmp_path / "image.tar"
    archive.write_bytes(_sparse_1_0("manifest.json") + bytes(1024))
    assert main(["--ci", str(archive)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'manifest.json' is a sparse file" in err and "\n" not in err


def test_cat_and_extract_read_a_sparse_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture
) -> None:
    from dive_py.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    layer = layer_tar(h.BASE, terminate=False) + _sparse_1_0() + bytes(1024)
    archive = h.docker_archive(tmp_path, [layer])
    assert main(["cat", archive, "/opt/data.img"]) == 0
    assert capsysbinary.readouterr().out == EXPECTED
    assert main(["extract", archive, "/opt/data.img", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "data.img").read_bytes() == EXPECTED


def test_extracting_a_huge_sparse_file_writes_holes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 kB layer whose sparse file claims 64 GiB: extracted as a sparse file, its blocks a few kB."""
    from dive_py.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    huge = 64 << 30
    layer = _sparse_1_0("big.img", ((0, b"head"), (huge - 4, b"tail")), size=huge) + bytes(1024)
    assert main(["extract", h.docker_archive(tmp_path, [layer]), "/big.img", str(tmp_path / "out")]) == 0
    out = tmp_path / "out" / "big.img"
    assert out.stat().st_size == huge and out.stat().st_blocks * 512 < 1 << 20
    with open(out, "rb") as f:
        assert f.read(4) == b"head" and f.read(4) == bytes(4)
        f.seek(huge - 4)
        assert f.read() == b"tail"
