"""Hints on images built in code: one per pattern, each answer computed from the layer tars themselves."""

from __future__ import annotations

import io
import tarfile

import pytest

from dive_py.analysis.extras import hint_report
from dive_py.analysis.load import load_analysis
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
    hints = [hint for hint in hint_report(analysis).hints if hint.kind == kind]
    assert len(hints) == 1, hint_report(analysis).hints
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
    assert not [h for h in hint_report(analysis).hints if h.kind != "metadata-only"]


def test_moved(tmp_path):
    add = layer_tar([folder("data"), file("data/old.db", blob(5))])
    move = layer_tar([folder("data"), whiteout("data/old.db"), file("data/new.db", blob(5))])
    analysis = analyse(tmp_path, [BASE, add, move], ["base", "init", "mv /data/old.db /data/new.db"])
    hint = only(analysis, "moved")
    assert (hint.layer, hint.bytes, hint.paths) == (2, regular_bytes(add), ("/data/new.db",))
    assert {h.kind for h in hint_report(analysis).hints} == {"moved"}  # not also deleted-later


def test_duplicate_content(tmp_path):
    add = layer_tar([folder("src"), file("src/a", blob(6)), file("src/b", blob(7))])
    copy = layer_tar([folder("dst"), file("dst/a", blob(6)), file("dst/b", blob(7))])
    hint = only(analyse(tmp_path, [BASE, add, copy], ["base", "add", "cp -a /src /dst"]), "duplicate-content")
    assert (hint.layer, hint.bytes, hint.paths) == (2, regular_bytes(copy), ("/dst",))
    assert "`mv`" in hint.fix and "/src" in hint.fix


def test_copies_within_one_layer_are_installed_files_not_hints(tmp_path):
    install = layer_tar([folder("usr/share"), file("usr/share/a", blob(8)), file("usr/share/b", blob(8))])
    assert hint_report(analyse(tmp_path, [BASE, install], ["base", "apt-get install x"])).hints == []


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
    report = hint_report(analysis, 0)
    assert report.fixable_bytes == regular_bytes(copy) <= analysis.size_bytes
    assert [h.kind for h in report.hints] == ["deleted-later"]
    assert hint_report(analysis, BIG + 1001).hints == []
    assert report.fixable_ratio == pytest.approx(regular_bytes(copy) / analysis.size_bytes)


def test_seed_copy_of_webapps_dist_is_duplicate_content():
    analysis = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    hint = [h for h in hint_report(analysis).hints if h.kind == "duplicate-content"][0]
    assert hint.paths == ("/usr/local/tomcat/webapps",)
    assert hint.bytes == pytest.approx(3_369_944, rel=0.01)
    assert hint.layer == 4 and "`mv`" in hint.fix and "webapps.dist" in hint.fix


def test_hints_come_back_from_the_figures_cache(tmp_path):
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    first = hint_report(load_analysis(str(EXAMPLE), options))
    again = load_analysis(str(EXAMPLE), options)
    assert hint_report(again).hints == first.hints
    assert again._tree is None  # served by the record: no tree was stacked
