"""Hostile, broken and legal-but-nasty input (issue 6): one clear error or a sound analysis, never a crash."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.from_reference import load_analysis
from dive_py.load.image import LoadOptions
from dive_py.model import BLOCK_DEVICE, CHAR_DEVICE, DIRECTORY, FIFO, HARDLINK, REGULAR, SYMLINK, FileEntry
from tests.fixtures import hostile as h
from tests.fixtures.cli_run import run
from tests.fixtures.images import M, file, folder, layer_tar, opaque, sha256, whiteout

# -- helpers -------------------------------------------------------------------------


def listing(root: Path) -> dict[str, int]:
    """Every path below ``root`` with its size (folders -1), to spot anything created or changed."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = -1
        for name in files:
            full = os.path.join(dirpath, name)
            found[os.path.relpath(full, root)] = os.path.getsize(full)
    return found


def assert_refused(code: int, err: str, names: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("divepy: error: "), err
    assert names in lines[0], f"error does not name {names!r}: {lines[0]}"
    assert "Traceback" not in err
    assert "unexpected" not in err, f"not a DivepyError: {lines[0]}"
    assert len(lines[0]) < 1000, "error line too long"


def final_tree(analysis: Analysis) -> dict[str, FileEntry]:
    top = len(analysis.layers) - 1
    return {node.path: entry for node, entry in analysis.tree.live_nodes(top)}


# -- broken input: refuse it ---------------------------------------------------------

BROKEN = [
    # (builder, error text the line must hold besides the file name)
    (h.not_an_archive, "not an image archive"),
    (h.empty_file, "empty"),
    (h.random_bytes, "not an image archive"),
    (h.folder_not_oci, "not an image archive"),
    (h.tar_of_something_else, "no manifest.json or index.json"),
    (h.truncated_outer, "truncated"),
    (h.truncated_layer, "truncated"),
    (h.header_size_past_end_outer, "truncated"),
    (h.header_size_past_end_layer, "truncated"),
    (h.corrupt_gzip, "gzip"),
    (h.truncated_gzip, "gzip stream is truncated"),
    (h.corrupt_zstd, "zstd"),
    (h.layer_not_a_tar, "not a"),
    (h.gzip_of_not_a_tar, "not a"),
    (h.bad_checksum_layer, "checksum"),
    (h.digest_mismatch, "does not match its digest"),
    (h.diff_id_mismatch, "does not match its diff_id"),
    (h.diff_id_mismatch_gzip, "does not match its diff_id (uncompressed)"),
    (h.manifest_not_json, "manifest.json is not valid JSON"),
    (h.manifest_not_utf8, "manifest.json is not valid JSON"),
    (h.manifest_wrong_type, "manifest.json should hold a JSON list"),
    (h.manifest_layers_wrong_type, "Layers"),
    (h.manifest_layer_not_string, "Layers"),
    (h.manifest_config_wrong_type, "Config"),
    (h.manifest_nested_deep, "manifest.json is not valid JSON"),
    (h.config_nested_deep, "c.json is not valid JSON"),
    (h.config_not_json, "c.json is not valid JSON"),
    (h.config_wrong_type, "c.json should hold a JSON dict"),
    (h.config_diff_ids_wrong_type, "diff_ids"),
    (h.config_diff_ids_count, "diff_ids"),
    (h.missing_config, "absent.json"),
    (h.missing_layer, "gone/layer.tar"),
    (h.index_not_json, "index.json is not valid JSON"),
    (h.index_wrong_type, "manifests list"),
    (h.index_descriptor_wrong_type, "digest"),
    (h.oci_manifest_wrong_type, "malformed digest"),
    (h.oci_layers_wrong_type, "layer 0"),
    (h.oci_config_not_json, "is not valid JSON"),
    (h.missing_blob, "could not find blobs/sha256/"),
    (h.missing_oci_config, "image config"),
    (h.oci_folder_missing_blob, "could not find blobs/sha256/"),
    (h.outer_symlink_loop, "index.json lists no image manifest"),
    (h.outer_symlink_out_of_archive, "c.json"),
    (h.oci_folder_blob_links_outside, "could not find blobs/sha256/"),
    (h.escaping_member_in_layer, "escapes the image root"),
    (h.escaping_member_in_outer, "escapes the image root"),
    (h.nul_in_member_name, "NUL"),
    (h.non_utf8_member_name, "UTF-8"),
    (h.huge_pax_uid, "uid out of range"),
    (h.path_nested_100k_deep, "layer 0: folders nest too deep to analyse"),
]


@pytest.mark.parametrize(("build", "expected"), BROKEN, ids=[b.__name__ for b, _ in BROKEN])
def test_broken_input_is_refused_in_one_line(
    build: Callable[[Path], str], expected: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = build(in_tmp)
    before = listing(in_tmp)
    for argv in (["--json", "out.json", name], ["--ci", name], ["--json", "-", name]):
        code, out, err = run(argv, capsys)
        assert_refused(code, err, name)
        assert expected in err, err
        assert out == ""
        assert listing(in_tmp) == before, f"{argv} created or changed files"


ARCHIVE_CASES = [(b, e) for b, e in BROKEN if "folder" not in b.__name__]


def _as_gzip(tmp: Path, name: str) -> str:
    """The same archive compressed whole (``docker save | gzip``): read in one pass by the stream reader."""
    (tmp / f"{name}.gz").write_bytes(gzip.compress((tmp / name).read_bytes(), mtime=0))
    return f"{name}.gz"


def _as_folder(tmp: Path, name: str) -> str | None:
    """The same archive unpacked (an OCI layout folder), when it unpacks safely."""
    try:
        with tarfile.open(tmp / name) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and not m.name.startswith(("/", ".."))]
            for member in members:
                target = tmp / "unpacked" / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError):
        return None
    return "unpacked" if members else None


@pytest.mark.parametrize("container", ["gzip-stream", "stdin", "folder"])
@pytest.mark.parametrize(("build", "expected"), ARCHIVE_CASES, ids=[b.__name__ for b, _ in ARCHIVE_CASES])
def test_broken_input_is_refused_from_streams_and_folders(
    build: Callable[[Path], str],
    expected: str,
    container: str,
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one-pass reader (stdin, a compressed archive) and the folder reader refuse the same inputs."""
    name = build(in_tmp)
    if container == "gzip-stream":
        name = _as_gzip(in_tmp, name)
    elif container == "stdin":
        data = (in_tmp / name).read_bytes()
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        name = "-"
    else:
        unpacked = _as_folder(in_tmp, name)
        if unpacked is None:
            pytest.skip("not an archive that unpacks into a folder")
        name = unpacked
    before = listing(in_tmp)
    code, out, err = run(["--json", "out.json", name], capsys)
    if container == "folder" and code == 0:
        # Unpacking drops what made some archives broken (a truncated outer tar, a bad outer name).
        assert build in (h.truncated_outer, h.header_size_past_end_outer, h.escaping_member_in_outer), err
        return
    assert_refused(code, err, "stdin" if name == "-" else name)
    assert out == ""
    assert set(listing(in_tmp)) == set(before)


def test_json_into_a_missing_folder_is_refused_after_analysis(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = h.docker_archive(in_tmp, [layer_tar(h.BASE)])
    before = listing(in_tmp)
    code, _out, err = run(["--json", "no/such/dir/out.json", name], capsys)
    assert_refused(code, err, "no/such/dir/out.json")
    assert listing(in_tmp) == before


def test_json_target_is_left_alone_when_loading_fails(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing --json file keeps its bytes when the image cannot be read (no partial write)."""
    name = h.truncated_layer(in_tmp)
    (in_tmp / "out.json").write_text('{"previous": true}\n')
    before = listing(in_tmp)
    code, _out, err = run(["--json", "out.json", name], capsys)
    assert_refused(code, err, name)
    assert (in_tmp / "out.json").read_text() == '{"previous": true}\n'
    assert listing(in_tmp) == before


@dataclass
class BadConfig:
    """A CI-config or flag problem: files to write, extra flags, and what the error line must name."""

    id: str
    files: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    names: str = ".dive-ci"
    says: str = ""


BAD_CONFIGS = [
    BadConfig("invalid-yaml", {".dive-ci": "rules:\n  lowestEfficiency: [0.9\n"}, says="invalid YAML"),
    BadConfig("yaml-not-a-mapping", {".dive-ci": "- just\n- a list\n"}, says="mapping"),
    BadConfig("rules-not-a-mapping", {".dive-ci": "rules: 0.9\n"}, says="mapping"),
    BadConfig("rule-value-unknown-word", {".dive-ci": "rules:\n  lowestEfficiency: very\n"}, says="lowestEfficiency"),
    BadConfig("rule-value-not-a-size", {".dive-ci": "rules:\n  highestWastedBytes: lots\n"}, says="byte size"),
    BadConfig("rule-value-a-list", {".dive-ci": "rules:\n  lowestEfficiency: [1, 2]\n"}, says="number"),
    BadConfig("rule-value-true", {".dive-ci": "rules:\n  lowestEfficiency: true\n"}, says="true"),
    BadConfig("threshold-above-range", {".dive-ci": "rules:\n  lowestEfficiency: 1.5\n"}, says="range"),
    BadConfig("threshold-below-range", {".dive-ci": "rules:\n  highestUserWastedPercent: -0.2\n"}, says="range"),
    BadConfig("threshold-nan", {".dive-ci": "rules:\n  lowestEfficiency: .nan\n"}, says="lowestEfficiency"),
    BadConfig("flag-out-of-range", flags=["--highestUserWastedPercent=7"], names="highestUserWastedPercent"),
    BadConfig("flag-not-a-size", flags=["--highest-wasted-bytes=20XB"], names="highestWastedBytes"),
    BadConfig("unknown-flag", flags=["--frobnicate"], names="--frobnicate"),
    BadConfig("unknown-source", flags=["--source", "ftp"], names="--source"),
    BadConfig("missing-ci-config", flags=["--ci-config", "nope.yaml"], names="nope.yaml", says="not found"),
    BadConfig("ci-config-is-a-folder", flags=["--ci-config", "."], names=".", says="CI config"),
    BadConfig("ci-config-not-utf8", {"rules.yaml": "\udcff"}, ["--ci-config", "rules.yaml"], names="rules.yaml"),
]


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=[c.id for c in BAD_CONFIGS])
def test_bad_config_and_flags_are_refused_before_loading(
    case: BadConfig, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = h.docker_archive(in_tmp, [layer_tar(h.BASE)])
    for path, text in case.files.items():
        (in_tmp / path).write_bytes(text.encode("utf-8", "surrogateescape"))
    before = listing(in_tmp)
    code, out, err = run(["--ci", "--json", "out.json", *case.flags, name], capsys)
    assert_refused(code, err, case.names)
    assert case.says in err
    assert out == ""
    assert listing(in_tmp) == before


# -- legal but nasty: analyse it -------------------------------------------------------


@dataclass
class Nasty:
    """A valid image that is odd: its layers, the facts the analysis must show, the warning it must give."""

    id: str
    layers: Callable[[], list[bytes]]
    check: Callable[[Analysis, dict[str, FileEntry]], None]
    warns: str | None = None
    """Text of a ``divepy: warning:`` line; None: no warning at all."""
    history: list[dict] | None = None
    config_edit: Callable[[dict], None] | None = None


def _symlinks() -> list[bytes]:
    return [
        layer_tar(
            [
                *h.BASE,
                folder("loop"),
                M("loop/a", "symlink", link="b"),
                M("loop/b", "symlink", link="a"),
                M("loop/self", "symlink", link="self"),
                M("loop/out", "symlink", link="../../../../etc/shadow"),
                M("loop/abs", "symlink", link="/../../root"),
                M("loop/dir", "symlink", link="."),
            ]
        )
    ]


def _check_symlinks(a: Analysis, final: dict[str, FileEntry]) -> None:
    links = {p: (e.kind, e.link) for p, e in final.items() if p.startswith("loop/")}
    assert links == {
        "loop/a": (SYMLINK, "b"),
        "loop/b": (SYMLINK, "a"),
        "loop/self": (SYMLINK, "self"),
        "loop/out": (SYMLINK, "../../../../etc/shadow"),
        "loop/abs": (SYMLINK, "/../../root"),
        "loop/dir": (SYMLINK, "."),
    }


def _check_hardlink(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert final["bin/ln"].kind == HARDLINK
    assert final["bin/ln"].link == "nowhere/x"
    assert final["bin/ok"].kind == HARDLINK and final["bin/ok"].hash == final["bin/sh"].hash


def _history_more(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert [layer.command for layer in a.layers] == ["step one"]


def _history_fewer(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert [layer.command for layer in a.layers] == ["only step", "(missing)", "(missing)"]


def _history_none(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert [layer.command for layer in a.layers] == ["(missing)", "(missing)"]


def _check_ghost(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert "ghost" not in final and "etc/never" not in final
    assert "etc/os-release" in final


def _check_root_opaque(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert set(final) == {"new.txt"}
    assert a.walk().final_size_bytes == 3


def _file_over_folder() -> list[bytes]:
    return [
        layer_tar(
            [*h.BASE, folder("opt/app"), file("opt/app/a", "aaaa"), folder("opt/app/b"), file("opt/app/b/c", "c")]
        ),
        layer_tar([file("opt/app", "now a file")]),
    ]


def _check_file_over_folder(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert final["opt/app"].kind == REGULAR and final["opt/app"].size == len("now a file")
    assert not any(p.startswith("opt/app/") for p in final)
    assert a.tree.get("opt/app/b/c").state(0) is not None  # still there in layer 1


def _folder_over_file() -> list[bytes]:
    return [
        layer_tar([*h.BASE, folder("opt"), file("opt/thing", "file"), file("opt/other", "file")]),
        layer_tar([folder("opt/thing"), file("opt/thing/inside", "x"), file("opt/other/implied", "y")]),
    ]


def _check_folder_over_file(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert final["opt/thing"].kind == DIRECTORY and final["opt/thing/inside"].kind == REGULAR
    assert final["opt/other"].kind == DIRECTORY and final["opt/other/implied"].size == 1
    assert a.tree.get("opt/thing").state(0).kind == REGULAR


def _dupes() -> list[bytes]:
    return [
        layer_tar(
            [
                *h.BASE,
                file("etc/dup", "first"),
                file("etc/dup", "second, longer"),
                file("x/y", "under x"),
                file("x", "x is a file now"),
                file("z", "z was a file"),
                folder("z"),
                file("z/in", "in z"),
            ]
        )
    ]


def _check_dupes(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert final["etc/dup"].size == len("second, longer")
    assert final["x"].kind == REGULAR and "x/y" not in final
    assert final["z"].kind == DIRECTORY and final["z/in"].size == 4


def _devices() -> list[bytes]:
    members = [*h.BASE, folder("dev"), M("dev/null", "char"), M("dev/sda", "block"), M("dev/fifo", "fifo")]
    return [h.sparse_layer(members)]


def _check_devices(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert {p: final[p].kind for p in ("dev/null", "dev/sda", "dev/fifo")} == {
        "dev/null": CHAR_DEVICE,
        "dev/sda": BLOCK_DEVICE,
        "dev/fifo": FIFO,
    }
    assert final["var/sparse.img"].kind == REGULAR and final["var/sparse.img"].size == 512
    assert final["var/sparse2.img"].kind == REGULAR and final["var/sparse2.img"].size == 700
    assert final["var/after"].size == 5


def _check_names(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert {"etc/abs.conf", "etc/dot.conf", "etc/dbl.conf"} <= set(final)
    assert not any(p.startswith(("/", "./")) or "//" in p for p in final)


def _check_unterminated(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert final["etc/late"].size == 4 and len(a.layers) == 2


DEPTH = 3000


def _check_deep(a: Analysis, final: dict[str, FileEntry]) -> None:
    bottom = "/".join(["d"] * DEPTH) + "/bottom.txt"
    assert final[bottom].size == 4
    assert sum(1 for e in final.values() if e.kind == DIRECTORY) == DEPTH + 2  # + etc, bin
    assert a.tree.get(bottom).path == bottom


LONG_NAME = "/".join(["n" * 199] * 1000)
"""A 200 kB path (1,000 folders of 199 characters)."""


def _long_path() -> list[bytes]:
    data = layer_tar(h.BASE, terminate=False)
    data += h.pax_member({b"path": LONG_NAME.encode()}, h.raw_header(b"placeholder", 5)) + b"hello" + b"\0" * 507
    return [data + b"\0" * 1024]


def _check_long_path(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert len(LONG_NAME) == 199_999
    assert final[LONG_NAME].size == 5 and final[LONG_NAME].kind == REGULAR


def _no_history(config: dict) -> None:
    del config["history"]


def _history_wrong_type(config: dict) -> None:
    config["history"] = {"created_by": "not a list"}


def _check_missing_commands(a: Analysis, final: dict[str, FileEntry]) -> None:
    assert all(layer.command == "(missing)" for layer in a.layers)


NASTY = [
    Nasty("symlink-loops-self-and-beyond-root", _symlinks, _check_symlinks),
    Nasty(
        "hardlink-to-nothing",
        lambda: [
            layer_tar([*h.BASE, M("bin/ln", "hardlink", link="nowhere/x"), M("bin/ok", "hardlink", link="bin/sh")])
        ],
        _check_hardlink,
        warns="hard link",
    ),
    Nasty(
        "history-more-entries",
        lambda: [layer_tar(h.BASE)],
        _history_more,
        warns="history lists 3",
        history=[{"created_by": "/bin/sh -c step one"}, {"created_by": "two"}, {"created_by": "three"}],
    ),
    Nasty(
        "history-fewer-entries",
        lambda: [layer_tar(h.BASE), layer_tar([file("a", "1")]), layer_tar([file("b", "2")])],
        _history_fewer,
        warns="history lists 1",
        history=[{"created_by": "only step"}, {"created_by": "ENV x=1", "empty_layer": True}],
    ),
    Nasty(
        "history-none",
        lambda: [layer_tar(h.BASE), layer_tar([file("a", "1")])],
        _history_none,
        warns="history lists 0",
        config_edit=_no_history,
    ),
    Nasty(
        "history-wrong-type",
        lambda: [layer_tar(h.BASE)],
        _check_missing_commands,
        warns="history",
        config_edit=_history_wrong_type,
    ),
    Nasty(
        "whiteout-of-nothing",
        lambda: [layer_tar(h.BASE), layer_tar([whiteout("ghost"), whiteout("etc/never")])],
        _check_ghost,
        warns="whiteout(s) of paths that do not exist",
    ),
    Nasty(
        "opaque-marker-at-root",
        lambda: [layer_tar(h.BASE), layer_tar([opaque(""), file("new.txt", "new")])],
        _check_root_opaque,
        warns="opaque marker at the root",
    ),
    Nasty("file-replaces-folder", _file_over_folder, _check_file_over_folder),
    Nasty("folder-replaces-file", _folder_over_file, _check_folder_over_file),
    Nasty("same-path-twice-in-a-layer", _dupes, _check_dupes),
    Nasty("devices-fifos-sparse", _devices, _check_devices),
    Nasty("absolute-and-dot-names", lambda: [h.absolute_and_dot_names()], _check_names),
    Nasty(
        "layer-without-end-of-archive",
        lambda: [layer_tar(h.BASE), layer_tar([folder("etc"), file("etc/late", "late")], terminate=False)],
        _check_unterminated,
        warns="without end-of-archive blocks",
    ),
    Nasty("folders-3000-deep", lambda: [layer_tar([*h.BASE, *h.deep_folders(DEPTH)])], _check_deep),
    Nasty("path-name-200kB", _long_path, _check_long_path),
]


@pytest.mark.parametrize("case", NASTY, ids=[c.id for c in NASTY])
def test_legal_but_nasty_images_are_analysed(case: Nasty, in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layers = case.layers()
    config = h.image_config(layers, case.history)
    if case.config_edit:
        case.config_edit(config)
    name = h.docker_archive(in_tmp, layers, config=config)
    before = listing(in_tmp)
    code, out, err = run(["--ci", "--json", "out.json", name], capsys)
    assert code in (0, 1), err
    assert "error" not in err and "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("divepy: warning:")]
    if case.warns is None:
        assert warnings == []
    else:
        assert any(case.warns in line for line in warnings), err
    assert set(listing(in_tmp)) == set(before) | {"out.json"}
    exported = json.loads((in_tmp / "out.json").read_text())
    assert len(exported["layer"]) == len(layers)
    analysis = load_analysis(name)
    case.check(analysis, final_tree(analysis))
    # The summary (no --ci, no --json) renders too.
    code, out, err = run([name], capsys)
    assert code == 0 and "error" not in err


ENTRIES = 150_000


@pytest.mark.slow  # 150,000 members: 1.7 s here, several on a slow machine
def test_150k_entries_in_one_layer(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = h.fast_layer(ENTRIES)
    name = h.docker_archive(in_tmp, [layer_tar(h.BASE), layer])
    seen: list[Analysis] = []

    def keep(ref, options=None, **flags):  # noqa: ANN001, ANN003, ANN202 - the CLI's analysis, kept to check its figures
        seen.append(load_analysis(ref, options, **flags))
        return seen[-1]

    monkeypatch.setattr("dive_py.analysis.from_reference.load_analysis", keep)
    started = time.monotonic()
    code, _out, err = run(["--ci", name], capsys)
    assert code in (0, 1) and "error" not in err, err
    (analysis,) = seen
    final = final_tree(analysis)
    assert sum(1 for p, e in final.items() if p.startswith("data/") and e.kind == REGULAR) == ENTRIES
    assert analysis.layers[1].scan.member_count == ENTRIES + 100
    assert analysis.walk().final_size_bytes == ENTRIES + len("ID=test\n") + 104
    assert time.monotonic() - started < 60


@pytest.mark.slow  # 40,000 markers over 20,000 files
def test_repeated_whiteouts_and_opaque_markers_stay_linear(in_tmp: Path) -> None:
    """20,000 copies of one opaque marker over a 20,000-file folder took 95 s when each copy walked the folder."""
    count = 20_000
    marker = h.raw_header(b"data/d000/.wh..wh..opq", 0)
    whiteout_marker = h.raw_header(b"data/.wh.d001", 0)
    layers = [h.fast_layer(count, folders=2), marker * count + whiteout_marker * count + b"\0" * 1024]
    name = h.docker_archive(in_tmp, layers)
    started = time.monotonic()
    analysis = load_analysis(name)
    assert time.monotonic() - started < 15
    final = final_tree(analysis)
    assert set(final) == {"data", "data/d000"}
    assert analysis.warnings == ()  # a repeated whiteout is not a whiteout "of a path that does not exist"


# -- the layer cache (layers of 256 kB and more) -----------------------------------------


def _big_layer_archive(tmp: Path) -> tuple[str, bytes]:
    layer = layer_tar([*h.BASE, file("big.bin", random.Random(9).randbytes(1 << 20))])
    return h.docker_archive(tmp, [layer]), layer


def test_a_broken_big_layer_leaves_no_cache_entry(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = layer_tar([*h.BASE, file("big.bin", random.Random(9).randbytes(1 << 20))])
    name = h.docker_archive(in_tmp, [layer[: len(layer) // 2]], diff_ids=[sha256(layer)])
    cache = Path(os.environ["XDG_CACHE_HOME"])
    before = listing(cache)
    for _ in range(2):  # the second run must not find anything the first one left
        code, _out, err = run(["--ci", name], capsys)
        assert_refused(code, err, name)
    assert {p for p, size in listing(cache).items() if size != -1} == {p for p, s in before.items() if s != -1}


def test_a_tampered_layer_is_refused_even_when_its_digest_is_cached(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, layer = _big_layer_archive(in_tmp)
    code, _out, err = run(["--ci", name], capsys)  # a clean load fills the cache
    assert code in (0, 1), err
    with tarfile.open(in_tmp / name) as tar:
        (member,) = [m for m in tar.getmembers() if m.name.endswith("layer.tar")]
    pos = member.offset_data + len(layer) // 2 + 12345  # one byte in the middle of a file's content
    data = bytearray((in_tmp / name).read_bytes())
    data[pos] ^= 0x01
    (in_tmp / name).write_bytes(bytes(data))
    code, _out, err = run(["--ci", name], capsys)
    assert_refused(code, err, name)
    assert "does not match its diff_id" in err


# -- --ignore-errors ---------------------------------------------------------------------


def _three_layers_middle_broken(tmp: Path) -> str:
    good = [layer_tar(h.BASE), layer_tar([file("mid.txt", "m")]), layer_tar([file("top.txt", "top")])]
    ids = [sha256(layer) for layer in good]
    ids[1] = sha256(b"something else")
    return h.docker_archive(tmp, good, diff_ids=ids)


def test_ignore_errors_skips_a_broken_layer_and_analyses_the_rest(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _three_layers_middle_broken(in_tmp)
    code, _out, err = run(["--json", "out.json", name], capsys)
    assert_refused(code, err, name)
    assert "layer 1 (" in err  # numbered from 0, as the explorer shows the layers
    code, _out, err = run(["-i", "--json", "out.json", name], capsys)
    assert code == 0, err
    skipped = [line for line in err.splitlines() if line.startswith("divepy: warning: skipped")]
    assert len(skipped) == 1 and "layer 1 (" in skipped[0] and "diff_id" in skipped[0]
    exported = json.loads((in_tmp / "out.json").read_text())
    assert [len(layer["fileList"]) for layer in exported["layer"]] == [4, 0, 1]
    analysis = load_analysis(name, LoadOptions(ignore_errors=True))
    final = final_tree(analysis)
    assert "top.txt" in final and "etc/os-release" in final and "mid.txt" not in final


@pytest.mark.parametrize(
    "build", [h.corrupt_gzip, h.corrupt_zstd, h.layer_not_a_tar, h.escaping_member_in_layer, h.truncated_layer]
)
def test_ignore_errors_turns_each_layer_error_into_a_warning(
    build: Callable[[Path], str], in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = build(in_tmp)
    code, _out, err = run(["-i", "--ci", name], capsys)
    assert code in (0, 1), err
    assert "divepy: warning: skipped" in err and "Traceback" not in err


def test_ignore_errors_cannot_skip_a_broken_manifest(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = h.manifest_not_json(in_tmp)
    code, _out, err = run(["-i", "--ci", name], capsys)
    assert_refused(code, err, name)
