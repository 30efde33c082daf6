"""The C loop of the layer scanner (``dive_py.layers._tarfast.scan_run``): what it takes and where it stops.

It must take only members the Python paths read the same way (tests/layers/test_scan_fast_path.py compares
whole scans); here, that it stops exactly at each kind of member it leaves to them, and never reads
past its buffer whatever a header claims.
"""

from __future__ import annotations

import io
import os
import shutil
import sysconfig
import tarfile
from array import array

import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dive_py.layers import scan as layer_tar

scan_run = layer_tar._scan_run


def test_the_c_loop_is_built_where_a_compiler_is() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip("no C compiler: divepy runs the Python path alone")
    from dive_py.layers import _tarfast  # noqa: F401 - fails when the build skipped it

    if os.environ.get("DIVEPY_PURE_PYTHON"):
        pytest.skip("DIVEPY_PURE_PYTHON is set: built, and turned off")
    assert scan_run is _tarfast.scan_run


needs_c = pytest.mark.skipif(scan_run is None, reason="the C loop is not built")


def _header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, patch: dict[str, bytes] | None = None) -> bytes:
    """One ustar header block; ``patch`` overwrites fields by offset name, then the checksum is fixed."""
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode, info.uid, info.gid = size, kind, 0o644, 1000, 1000
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "target"
    block = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT)[:512])
    offsets = {"mode": 100, "uid": 108, "gid": 116, "size": 124, "chksum": 148, "type": 156, "prefix": 345}
    patch = patch or {}
    for field, value in patch.items():
        block[offsets[field] : offsets[field] + len(value)] = value
    if "chksum" not in patch:
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _member(name: str, content: bytes = b"", kind: bytes = tarfile.REGTYPE, **patch: bytes) -> bytes:
    return _header(name, len(content), kind, patch) + content + bytes(-len(content) % 512)


def _run(buf: bytes, pos: int = 0) -> tuple[int, list[bytes], dict[int, str], tuple]:
    paths: list[bytes] = []
    links: dict[int, str] = {}
    end, total, kinds, sizes, modes, uids, gids, hashes = scan_run(buf, pos, xxhash.xxh3_64_intdigest, paths, links)
    columns = (kinds, array("q", sizes), array("I", modes), array("q", uids), array("q", gids), array("Q", hashes))
    assert len(kinds) == len(paths) and total == sum(columns[1])
    return end, paths, links, columns


@needs_c
def test_a_run_of_plain_members_is_read_whole() -> None:
    body = (
        _member("etc/", kind=tarfile.DIRTYPE)
        + _member("etc/passwd", b"root:x:0:0\n")
        + _member("./etc/hosts", b"127.0.0.1 localhost\n")
        + _header("etc/link", kind=tarfile.SYMTYPE)
        + _member("oldstyle/")
    )
    end, paths, links, (kinds, sizes, modes, uids, gids, hashes) = _run(body + bytes(1024))
    assert end == len(body)  # stopped at the end-of-archive blocks, which the Python path reads
    assert paths == [b"etc", b"etc/passwd", b"etc/hosts", b"etc/link", b"oldstyle"]
    assert kinds == b"dffld"
    assert list(sizes) == [0, 11, 20, 0, 0] and set(modes) == {0o644} and set(uids) == set(gids) == {1000}
    assert hashes[1] == xxhash.xxh3_64_intdigest(b"root:x:0:0\n") and hashes[0] == hashes[3] == 0
    assert links == {3: "target"}


@needs_c
@pytest.mark.parametrize(
    "odd",
    [
        _member(".wh.gone"),  # a whiteout (a dot file)
        _member("a/.wh..wh..opq"),
        _member("/abs"),
        _member("a//b"),
        _member("a/./b"),
        _member("a/../../etc/passwd"),
        _member("f", mode=b" 000644\0"),  # not plain octal: the Python paths parse it
        _member("f", uid=b"\x80\0\0\0\0\0\x03\xe8"),  # base-256
        _member("f", size=b"\0" * 12),
        _member("f", type=b"S"),  # GNU sparse
        _member("f", type=b"L"),  # a GNU long name, empty (tests/layers/test_tarfast_extensions.py: the rest)
        _member("f", chksum=b"000000\0 "),  # a wrong checksum
        bytes(512),  # end of archive
    ],
)
def test_it_stops_at_members_it_leaves_to_python(odd: bytes) -> None:
    plain = _member("plain", b"x")
    end, paths, _links, _columns = _run(plain + odd + plain)
    assert (end, paths) == (len(plain), [b"plain"])


@needs_c
def test_it_never_reads_past_its_buffer() -> None:
    claims = _header("big", size=8**11 - 1)  # 8 GB of content that is not there
    assert _run(claims + bytes(4096))[:2] == (0, [])
    assert _run(_member("f", b"abc")[:600])[:2] == (0, [])  # content cut short
    assert _run(b"x" * 511)[:2] == (0, [])
    assert _run(_member("f", b"abc"), pos=-5)[:2] == (-5, [])
    assert _run(_member("f", b"abc"), pos=10**9)[:2] == (10**9, [])


@needs_c
def test_ustar_prefix_names_are_joined() -> None:
    block = _member("name", b"", prefix=b"pre/fix\0")
    assert _run(block)[1] == [b"pre/fix/name"]


@needs_c
def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError):
        scan_run(b"", 0, xxhash.xxh3_64_intdigest, (), {})
    with pytest.raises(ZeroDivisionError):
        scan_run(_member("f", b"abc"), 0, lambda data: 1 / 0, [], {})


def test_a_layer_reads_the_same_with_the_c_loop_off(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(300):
            info = tarfile.TarInfo(f"d{i % 7}/f{i}")
            info.size = i
            tar.addfile(info, io.BytesIO(bytes([i % 256]) * i))
    blob = buf.getvalue()
    shipped = layer_tar.scan_layer(io.BytesIO(blob).read, "layer").entries
    monkeypatch.setattr(layer_tar, "_scan_run", None)
    python = layer_tar.scan_layer(io.BytesIO(blob).read, "layer").entries
    assert [(e.path, e.kind, e.size, e.hash) for e in shipped.values()] == [
        (e.path, e.kind, e.size, e.hash) for e in python.values()
    ]
    assert len(shipped) == 300  # the folders are implied


def _outcome(blob: bytes) -> bytes | str:
    """The encoded scan, or the error the scan raised (each way must give the same)."""
    from dive_py.cache.scans import encode_scan
    from dive_py.errors import DivepyError

    try:
        return encode_scan(layer_tar.scan_layer(io.BytesIO(blob).read, "layer"))
    except DivepyError as exc:
        return f"{type(exc).__name__}: {exc}"


_FIELDS = {"name": (0, 100), "mode": (100, 8), "uid": (108, 8), "size": (124, 12), "type": (156, 1), "link": (157, 100)}


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(alphabet="ab./\x00\u00e9", min_size=1, max_size=12), min_size=1, max_size=6),
    edits=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(sorted(_FIELDS)),
            st.binary(min_size=1, max_size=4),
            st.integers(0, 11),
            st.booleans(),
        ),
        max_size=4,
    ),
)
def test_c_and_python_agree_on_odd_headers(names, edits, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Random names and byte edits of header fields (the checksum fixed or not): the scan is the same, or
    fails the same way, with the C loop on and off."""
    members = [_member(name.replace("\x00", "") or "x", name.encode()[:5] * (i + 1)) for i, name in enumerate(names)]
    for which, field, value, at, fix in edits:
        if which >= len(members):
            continue
        block = bytearray(members[which][:512])
        start, width = _FIELDS[field]
        for offset, byte in enumerate(value[: max(width - at % width, 0)]):
            block[start + at % width + offset] = byte
        if fix:
            block[148:156] = b" " * 8
            block[148:156] = b"%06o\0 " % sum(block)
        members[which] = bytes(block) + members[which][512:]
    blob = b"".join(members) + bytes(1024)
    shipped = _outcome(blob)
    with monkeypatch.context() as patch:  # undone after each example (the fixture lives for all of them)
        patch.setattr(layer_tar, "_scan_run", None)
        assert _outcome(blob) == shipped
