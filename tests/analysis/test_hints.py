"""Hints on images built in code: one per pattern, each answer computed from the layer tars themselves."""

from __future__ import annotations

import io
import tarfile

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.load.options import LoadOptions
from tests.fixtures.images import file, folder, layer_tar, whiteout, write_docker_archive
from tests.fixtures.paths import EXAMPLE

BIG = 100_000


def blob(seed: int, size: int = BIG) -> bytes:
    return bytes((seed * 7 + i * 13) % 251 for i in range(size))


def regular_bytes(layer: bytes, prefix: str = "") -> int:
    """The known answer: the bytes of the regular files of a layer tar (under ``prefix``)."""
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return sum(m.size for m in tar.getmembers() if m.isreg() and m.name.startswith(prefix))


def analyse(tmp_path, layers: list[bytes], commands: list[str]):  # noqa: ANN001, ANN201
    history = [{"created_by": f"/bin/sh -c {command}"} for command in commands]
    path = write_docker_archive(tmp_path / "image.tar", layers, history=history)
    return load_analysis(str(path), LoadOptions(use_cache=False))


def only(analysis, kind: str):  # noqa: ANN001, ANN201
    hints = [hint for hint in analysis.hints().hints if hint.kind == kind]
    assert len(hints) == 1, analysis.hints().hints
    return hints[0]


BASE = layer_tar([folder("etc"), file("etc/os-release", "ID=test\n"), folder("usr"), folder("usr/bin")])


def test_deleted_later(tmp_path):
    build = layer_tar(
        [folder("opt"), folder("opt/build"), file("opt/build/a.o", blob(1)), file("opt/build/b.o", blob(2))]
    )
    clean = layer_tar([folder("opt"), whiteout("opt/build")])
    hint = only(analyse(tmp_path, [BASE, build, clean], ["base", "make", "rm -rf /opt/build"]), "deleted-later")
    assert (hint.layer, hint.bytes, hint.paths) == (1, regular_bytes(build, "opt/build"), ("/opt/build",))
    assert hint.command == "make" and "same RUN" in hint.fix


def test_overwritten_later(tmp_path):
    first = layer_tar([folder("srv"), file("srv/data.bin", blob(3))])
    second = layer_tar([folder("srv"), file("srv/data.bin", blob(4))])
    hint = only(analyse(tmp_path, [BASE, first, second], ["base", "fetch v1", "fetch v2"]), "overwritten-later")
    assert (hint.layer, hint.bytes, hint.paths) == (1, regular_bytes(first), ("/srv/data.bin",))


def test_metadata_only(tmp_path):
    files = [file(f"app/lib/m{i}.py", blob(10 + i)) for i in range(3)]
    add = layer_tar([folder("app"), folder("app/lib"), *files])
    changed = [file(m.name, m.data, mode=0o775) for m in files]
    chmod = layer_tar([folder("app", mode=0o775), folder("app/lib", mode=0o775), *changed])
    analysis = analyse(tmp_path, [BASE, add, chmod], ["base", "COPY app /app", "chmod -R g+w /app"])
    hint = only(analysis, "metadata-only")
    assert (hint.layer, hint.bytes, hint.paths) == (2, regular_bytes(chmod), ("/app",))
    assert "--chmod" in hint.fix
    assert not [h for h in analysis.hints().hints if h.kind != "metadata-only"]


def test_chmod_over_mixed_modes_is_one_hint(tmp_path):
    """`chmod -R 755 /opt/tools` over folders where one file per folder already had 755: no folder is covered
    as a whole, yet the instruction's one mistake is one hint, with its biggest paths and every byte."""
    small = 40_000  # each folder's restored bytes stay under the 64 kB minimum: only their sum is a hint
    names = [f"opt/tools/t{d}/f{i}" for d in range(30) for i in range(2)]
    add = layer_tar(
        [folder("opt"), folder("opt/tools")]
        + [folder(f"opt/tools/t{d}") for d in range(30)]
        + [file(name, blob(i, small + i), mode=0o755 if name.endswith("f1") else 0o644) for i, name in enumerate(names)]
    )
    restored = [file(n, blob(i, small + i), mode=0o755) for i, n in enumerate(names) if n.endswith("f0")]
    chmod = layer_tar([folder("opt"), folder("opt/tools")] + [folder(f"opt/tools/t{d}") for d in range(30)] + restored)
    analysis = analyse(tmp_path, [BASE, add, chmod], ["base", "COPY tools /opt/tools", "chmod -R 755 /opt/tools"])
    hint = only(analysis, "metadata-only")
    assert (hint.layer, hint.bytes) == (2, regular_bytes(chmod))
    assert len(hint.paths) == 20 and hint.paths[0] == "/opt/tools/t29/f0"  # the biggest first


def test_moved(tmp_path):
    add = layer_tar([folder("data"), file("data/old.db", blob(5))])
    move = layer_tar([folder("data"), whiteout("data/old.db"), file("data/new.db", blob(5))])
    analysis = analyse(tmp_path, [BASE, add, move], ["base", "init", "mv /data/old.db /data/new.db"])
    hint = only(analysis, "moved")
    assert (hint.layer, hint.bytes, hint.paths) == (2, regular_bytes(add), ("/data/new.db",))
    assert {h.kind for h in analysis.hints().hints} == {"moved"}  # not also deleted-later


def test_duplicate_content(tmp_path):
    add = layer_tar([folder("src"), file("src/a", blob(6)), file("src/b", blob(7))])
    copy = layer_tar([folder("dst"), file("dst/a", blob(6)), file("dst/b", blob(7))])
    hint = only(analyse(tmp_path, [BASE, add, copy], ["base", "add", "cp -a /src /dst"]), "duplicate-content")
    assert (hint.layer, hint.bytes, hint.paths) == (2, regular_bytes(copy), ("/dst",))
    assert "`mv`" in hint.fix and "/src" in hint.fix


def test_copies_within_one_layer_are_installed_files_not_hints(tmp_path):
    install = layer_tar([folder("usr/share"), file("usr/share/a", blob(8)), file("usr/share/b", blob(8))])
    assert analyse(tmp_path, [BASE, install], ["base", "apt-get install x"]).hints().hints == []


def test_package_cache_and_temp_files(tmp_path):
    lists = [file(f"var/lib/apt/lists/deb_{i}_Packages", blob(20 + i)) for i in range(2)]
    install = layer_tar(
        [folder("var/lib/apt/lists"), *lists, folder("var/lib/apt"), file("var/lib/apt/extended_states", "x")]
    )
    tmp = layer_tar([folder("tmp"), file("tmp/src.tar.gz", blob(30))])
    analysis = analyse(tmp_path, [BASE, install, tmp], ["base", "apt-get update && apt-get install -y x", "curl"])
    cache, temp = only(analysis, "package-cache"), only(analysis, "temp-files")
    assert (cache.layer, cache.bytes, cache.paths) == (
        1,
        regular_bytes(install, "var/lib/apt/lists"),
        ("/var/lib/apt/lists",),
    )
    assert "rm -rf /var/lib/apt/lists/*" in cache.fix
    assert (temp.layer, temp.bytes, temp.paths) == (2, regular_bytes(tmp), ("/tmp",))


def test_minimum_and_totals_without_double_counting(tmp_path):
    add = layer_tar([folder("src"), file("src/a", blob(6)), file("src/small", blob(9, 1000))])
    copy = layer_tar([folder("dst"), file("dst/a", blob(6)), file("dst/small", blob(9, 1000))])
    clean = layer_tar([whiteout("dst")])
    analysis = analyse(tmp_path, [BASE, add, copy, clean], ["base", "add", "cp", "rm -rf /dst"])
    report = analysis.hints(0)
    assert report.fixable_bytes == regular_bytes(copy) <= analysis.size_bytes
    assert [h.kind for h in report.hints] == ["deleted-later"]
    assert analysis.hints(BIG + 1001).hints == []
    assert report.fixable_ratio == pytest.approx(regular_bytes(copy) / analysis.size_bytes)


def test_seed_copy_of_webapps_dist_is_duplicate_content():
    analysis = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    hint = [h for h in analysis.hints().hints if h.kind == "duplicate-content"][0]
    assert hint.paths == ("/usr/local/tomcat/webapps",)
    assert hint.bytes == pytest.approx(3_369_944, rel=0.01)
    assert hint.layer == 4 and "`mv`" in hint.fix and "webapps.dist" in hint.fix


def test_hints_come_back_from_the_figures_cache(tmp_path):
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    first = load_analysis(str(EXAMPLE), options).hints()
    again = load_analysis(str(EXAMPLE), options)
    assert again.hints().hints == first.hints
    assert again._tree is None  # served by the record: no tree was stacked


def test_copied_folders_are_covered_only_when_they_hold_nothing_else(tmp_path):
    """A copy's folder is covered when its children are all copies or covered folders (counted, not visited),
    else judged child by child: an empty file does not stop it, a file of new content does, and neither
    does a folder under it that is not covered count as covered."""
    names = ("sub1/a", "sub2/a", "sub3/a", "sub4/deep/a")
    add = layer_tar([folder("src"), *(file(f"src/{i}", blob(40 + i)) for i in range(len(names)))])
    copies = [file(f"dst/{name}", blob(40 + i)) for i, name in enumerate(names)]
    extra = [file("dst/sub2/new", blob(50)), file("dst/sub3/empty", b"")]
    copy = layer_tar([folder("dst"), *copies, *extra])
    analysis = analyse(tmp_path, [BASE, add, copy], ["base", "add", "cp"])
    hints = [(h.paths, h.bytes) for h in analysis.hints().hints if h.kind == "duplicate-content"]
    # dst is not covered (sub2 holds a new file): sub2's copy is a place of its own; sizes tie: ranked by path
    assert hints == [(("/dst/sub1", "/dst/sub3", "/dst/sub4"), 3 * BIG), (("/dst/sub2/a",), BIG)]


def test_places_under_the_minimum_are_left_out_one_by_one(tmp_path):
    add = layer_tar([folder("src"), file("src/a", blob(60)), file("src/b", blob(61)), file("src/c", blob(62))])
    copy = layer_tar(
        [
            folder("dst"),
            file("dst/a", blob(60)),
            file("dst/b", blob(61)),
            file("opt/keep", blob(63)),  # opt holds a file of its own: opt/cp is a place of its own
            file("opt/cp/c", blob(62)),
        ]
    )
    analysis = analyse(tmp_path, [BASE, add, copy], ["base", "add", "cp"])
    paths = [h.paths for h in analysis.hints(BIG).hints if h.kind == "duplicate-content"]
    assert paths == [("/dst",), ("/opt/cp",)]
    paths = [h.paths for h in analysis.hints(BIG + 1).hints if h.kind == "duplicate-content"]
    assert paths == [("/dst",)]


def test_cache_files_are_neither_copies_nor_their_sources(tmp_path):
    first = layer_tar([folder("src"), file("src/a", blob(70)), folder("tmp"), file("tmp/b", blob(71))])
    second = layer_tar([folder("tmp"), file("tmp/a", blob(70)), folder("dst"), file("dst/b", blob(71))])
    analysis = analyse(tmp_path, [BASE, first, second], ["base", "add", "cp"])
    kinds = sorted((h.kind, h.layer, h.paths) for h in analysis.hints().hints)
    assert kinds == [("temp-files", 1, ("/tmp/b",)), ("temp-files", 2, ("/tmp/a",))]


def test_a_file_that_is_a_unit_and_a_covered_folder_keeps_both_in_order():
    """Units of files are added at once unless one is a unit already: then file by file, as one list."""
    from dive_py.analysis.hint_places import _Units

    units = _Units(keep_files=True)
    units.add_files(["a/b"], [5], "a")
    units.add_folder("a/b", ["a/b/c", "a/b/d"], 7, "x")
    assert (units.sizes, units.roots, units.named(["a/b"])) == ({"a/b": 12}, {"a/b": "a"}, ["a/b", "a/b/c", "a/b/d"])
    units = _Units(keep_files=True)
    units.add_folder("a/b", ["a/b/c"], 7, "a")
    units.add_files(["a/x", "a/b"], [1, 5], "r")
    assert units.sizes == {"a/b": 12, "a/x": 1} and units.roots == {"a/b": "r", "a/x": "r"}
    assert units.named(["a/b", "a/x"]) == ["a/b/c", "a/b", "a/x"]
    assert _Units(keep_files=False).named(["a/b"]) == []
