"""The C loop on members with extension headers (PAX ``x`` records, GNU ``L`` long names and ``K`` long
links) and on dot-file names: Python reads these through its general path (``TarReader.next`` and
``_add_member``), so the C loop must read them exactly as that path does, and stop at (leave to Python)
every one it might read otherwise: malformed records, numbers ``int()`` reads its own way, sparse maps,
names ``clean_member_path`` cleans or refuses, payloads past its buffer.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dive_py.cache.scans import encode_scan
from dive_py.errors import DivepyError
from dive_py.layers import scan as layer_tar
from tests.fixtures.images import M, file, folder
from tests.fixtures.images import layer_tar as make_layer
from tests.layers.test_tarfast import _header, _member, _run, needs_c


def _ext(kind: bytes, payload: bytes) -> bytes:
    """An extension header (``x``, ``g``, ``L`` or ``K``) and its padded payload."""
    return _header("././@PaxHeader", len(payload), kind) + payload + bytes(-len(payload) % 512)


def _record(key: str | bytes, value: str | bytes) -> bytes:
    """One well-formed PAX record (its length counts its own digits)."""
    body = b" " + (key.encode() if isinstance(key, str) else key) + b"="
    body += (value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value) + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def _outcome(blob: bytes, c_loop: bool) -> bytes | str:
    saved = layer_tar._scan_run
    layer_tar._scan_run = saved if c_loop else None
    try:
        return encode_scan(layer_tar.scan_layer(io.BytesIO(blob).read, "layer"))
    except DivepyError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        layer_tar._scan_run = saved


def _same_both_ways(blob: bytes) -> bytes | str:
    shipped = _outcome(blob, c_loop=True)
    assert shipped == _outcome(blob, c_loop=False)
    return shipped


LONG = "kernel/" + "d" * 60 + "/" + "e" * 120 + "/Makefile"
"""A name no ustar prefix split fits (a part over 100 bytes): PAX path or GNU long name."""

MEMBERS = [
    folder("kernel"),
    file(LONG, "obj-y += fork.o"),
    file("kernel/.gitignore", "*.o"),  # a dot file: Python's general path
    folder("kernel/.cache/"),
    file("kernel/..." + "x" * 120, "three dots are a name"),
    M("kernel/link", "symlink", link="../" + "t" * 150),
    M("kernel/hard", "hardlink", link=LONG),
    M("kernel/" + "h" * 120, "hardlink", link="kernel/.gitignore"),
    file("owner/big", "uid past 7 octal digits", uid=3_000_000, gid=2**40),
    file("uni/caf\u00e9/" + "\u00e9" * 60, "a non-ASCII name (PAX path)"),
    file("pax/size", "x" * 1000, pax={"mtime": "1700000000.123456789", "comment": "ignored", "uname": "root"}),
    M("dev/" + "n" * 110, "char"),
    folder("d" * 101),
]


@needs_c
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_extended_members_are_read_in_c_as_python_reads_them(fmt: int) -> None:
    blob = make_layer(MEMBERS, fmt=fmt)
    body = blob.rstrip(b"\0")
    body += bytes(-len(body) % 512)
    end, paths, _links, _columns = _run(blob)
    big_uid_in_base_256 = fmt == tarfile.GNU_FORMAT  # GNU numbers past octal: left to Python
    if not big_uid_in_base_256:
        assert end == len(body)  # every member taken, up to the end-of-archive blocks
        assert LONG.encode() in paths and b"kernel/.gitignore" in paths and b"kernel/.cache" in paths
    else:
        assert paths[:8] == [m.name.rstrip("/").encode() for m in MEMBERS[:8]]
    _same_both_ways(blob)
    entries = layer_tar.scan_layer(io.BytesIO(blob).read, "layer").entries
    assert entries[LONG].size == len("obj-y += fork.o") and entries["kernel/.cache"].kind == "d"
    assert entries["kernel/link"].link == "../" + "t" * 150
    assert entries["kernel/hard"].hash == entries[LONG].hash != 0
    assert (entries["owner/big"].uid, entries["owner/big"].gid) == (3_000_000, 2**40)
    assert entries["pax/size"].size == 1000


@needs_c
def test_pax_records_apply_as_tarreader_applies_them() -> None:
    records = (
        _record("path", "first/name")
        + _record("size", "5")
        + _record("uid", "0077")  # decimal with leading zeros, as int() reads it
        + _record("gid", "99")
        + _record("linkpath", "ignored for a file")
        + _record("path", "later/wins")
    )
    blob = (
        _ext(b"x", records + bytes(20))  # NULs after the records end them
        + _member("block/name", b"12345")
        + _ext(b"x", _record("linkpath", "pax/target"))
        + _ext(b"K", b"gnu/target\0junk")
        + _ext(b"L", b"gnu/name\0junk")
        + _header("sym", kind=tarfile.SYMTYPE)
        + _ext(b"L", b"long/first")
        + _ext(b"L", b"long/second")
        + _header("sym2", kind=tarfile.SYMTYPE)
        + _ext(b"x", _record("path", "dir/") + _record("size", "700"))  # a regular member named as a folder
        + _header("f", 700)
        + bytes(1024)
        + _member("after", b"x")
    )
    end, paths, links, (kinds, sizes, _modes, uids, gids, _hashes) = _run(blob + bytes(1024))
    assert end == len(blob)  # up to the end-of-archive blocks
    assert paths == [b"later/wins", b"gnu/name", b"long/second", b"dir", b"after"]
    assert kinds == b"flldf" and list(sizes) == [5, 0, 0, 700, 1]
    assert (uids[0], gids[0], uids[1]) == (77, 99, 1000)
    assert links == {1: "pax/target", 2: "target"}
    _same_both_ways(blob + bytes(1024))


@needs_c
def test_an_empty_link_target_is_never_kept() -> None:
    blob = _ext(b"x", _record("linkpath", "")) + _header("pax", kind=tarfile.SYMTYPE)
    info = tarfile.TarInfo("plain")
    info.type = tarfile.SYMTYPE
    plain = info.tobuf(format=tarfile.USTAR_FORMAT)
    assert _run(blob + bytes(1024))[2] == {}  # as _add_member: no empty link
    assert _run(plain + bytes(1024))[2] == {}  # behind a plain header too
    _same_both_ways(blob + bytes(1024))
    _same_both_ways(plain + bytes(1024))


@needs_c
def test_a_file_named_as_a_folder_has_its_content_skipped() -> None:
    """A regular member named with a trailing slash is a folder: its content is skipped, not read as headers."""
    blob = _member("a", b"a") + _member("b/", b"not a header") + _member("c", b"c") + bytes(1024)
    end, paths, _links, columns = _run(blob)
    assert paths == [b"a", b"b", b"c"] and columns[0] == b"fdf" and end == 6 * 512
    assert isinstance(_same_both_ways(blob), bytes)  # read, and read alike both ways


_PLAIN = _member("plain", b"x")

STOPS = {
    "no length": _ext(b"x", b" path=a\n"),
    "length not digits": _ext(b"x", b"+12 path=ab\n"),
    "length too long": _ext(b"x", b"99 path=a\n"),
    "length zero": _ext(b"x", b"0 path=a\n"),
    "no equals": _ext(b"x", b"9 pathab\n"),
    "record too short": _ext(b"x", b"3 path=a\n"),
    "size with a sign": _ext(b"x", _record("size", "+1")),
    "size with spaces": _ext(b"x", _record("size", " 1")),
    "size empty": _ext(b"x", _record("size", "")),
    "uid past 18 digits": _ext(b"x", _record("uid", "1" * 19)),
    "uid negative": _ext(b"x", _record("uid", "-1")),
    "gid not a number": _ext(b"x", _record("gid", "x")),
    "sparse map": _ext(b"x", _record("GNU.sparse.map", "0,1")),
    "NUL in path": _ext(b"x", _record("path", "a\0b")),
    "path not UTF-8": _ext(b"x", _record("path", b"caf\xe9")),
    "absolute path": _ext(b"x", _record("path", "/etc/passwd")),
    "dot part": _ext(b"x", _record("path", "a/./b")),
    "escaping path": _ext(b"x", _record("path", "../../etc/passwd")),
    "whiteout": _ext(b"x", _record("path", "a/.wh.b")),
    "opaque": _ext(b"x", _record("path", "a/.wh..wh..opq")),
    "empty path": _ext(b"x", _record("path", "")),
    "empty long name": _ext(b"L", b""),
    "global header": _ext(b"g", _record("uid", "1")),
    "sparse member": _ext(b"x", _record("path", "s")) + _header("s", kind=b"S"),
    "then end of archive": _ext(b"x", _record("path", "a")) + bytes(512),
    "then a bad checksum": _ext(b"L", b"name") + _header("f", patch={"chksum": b"000000\0 "}),
    "bad checksum": _ext(b"x", b"")[:148] + b"000000\0 " + _ext(b"x", b"")[156:],
    "size not octal": _header("x", 0, b"x", {"size": b"\x80" + bytes(11)}),
}


@needs_c
@pytest.mark.parametrize("odd", STOPS.values(), ids=STOPS.keys())
def test_it_stops_at_extended_members_it_leaves_to_python(odd: bytes) -> None:
    end, paths, _links, _columns = _run(_PLAIN + odd + _PLAIN)
    assert (end, paths) == (len(_PLAIN), [b"plain"])
    _same_both_ways(_PLAIN + odd + _PLAIN + bytes(1024))


@needs_c
def test_it_stops_where_an_extension_or_its_member_runs_past_the_buffer() -> None:
    member = _ext(b"x", _record("path", "p" * 600)) + _member("f", b"abc")
    for cut in (512, 1023, 1024 + 511, len(member) - 1):
        assert _run(_PLAIN + member[:cut])[:2] == (len(_PLAIN), [b"plain"])
    assert _run(_PLAIN + member)[1] == [b"plain", b"p" * 600]
    claims = _header("././@LongLink", 8**11 - 1, b"L") + bytes(1024)  # 8 GB of long name that is not there
    assert _run(claims)[:2] == (0, [])
    assert _run(_ext(b"x", _record("size", "9" * 18)) + _header("big"))[:2] == (0, [])


_KEYS = st.sampled_from(["path", "linkpath", "size", "uid", "gid", "mtime", "GNU.sparse.size", "x"])
_VALUES = st.one_of(
    st.sampled_from(["a", "a/b/", ".a", "a/.wh.b", "/a", "", "0", "12", "007", "-3", " 4", "1e3", "9" * 19]),
    st.text(alphabet="ab./\u00e9\x00 ", max_size=6),
)


@needs_c
@settings(max_examples=300, deadline=None)
@given(
    members=st.lists(
        st.tuples(
            st.lists(st.tuples(_KEYS, _VALUES), max_size=4),
            st.sampled_from([b"", b"x", b"L", b"K"]),
            st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE]),
            st.binary(max_size=3),
            st.integers(0, 40),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_c_and_python_agree_on_random_extended_members(members) -> None:  # noqa: ANN001
    """Random PAX records, long names and links before members of each kind, some payloads cut or
    lengthened: the scan is the same, or fails the same way, with the C loop on and off."""
    blob = b""
    for records, gnu, kind, junk, cut in members:
        payload = b"".join(_record(key, value) for key, value in records) + junk
        if cut:
            payload = payload[:-cut] if cut < 20 else payload + b"7 a=b\n"[: cut - 20]
        blob += _ext(b"x", payload)
        if gnu:
            blob += _ext(gnu, b"gnu/" + junk)
        blob += _member("m", b"data") if kind == tarfile.REGTYPE else _header("m", kind=kind)
    _same_both_ways(blob + bytes(1024))
