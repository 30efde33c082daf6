"""``divepy cat`` and ``divepy extract`` on images built in code: layers, links, deletions, errors, safety."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dive_py.analysis.analyze import analyze
from dive_py.cli.main import main
from dive_py.contents.paths import PathLookupError, find_path
from dive_py.contents.reader import ContentReader, ExtractResult  # noqa: F401 - the UI imports both from here
from tests.fixtures.images import M, file, folder, layer_tar, whiteout, write_docker_archive
from tests.fixtures.piped import load_piped
from tests.services import seed_archive

RUN_MTIME_NS = 1_600_000_001_000_000_000
APP_MTIME_NS = 1_600_000_000_250_000_000
HEADER_MTIME_NS = 1_700_000_000_000_000_000
"""What tests/fixtures/images.layer_tar writes in every header's mtime field."""


def _layers() -> list[bytes]:
    first = [
        folder("app", mode=0o750, pax={"mtime": "1600000000.25"}),
        file("app/run.sh", "echo v1\n", mode=0o755),
        file("app/data.txt", "old\n"),
        folder("app/sub", mode=0o700),
        file("app/sub/x.txt", "x\n", mode=0o640, pax={"mtime": "1500000000"}),
        M("app/link", "symlink", link="run.sh"),
        M("app/abs", "symlink", link="/app/run.sh"),
        M("app/escape", "symlink", link="../../../etc/passwd"),
        M("app/loop", "symlink", link="loop"),
        M("app/hard", "hardlink", link="app/run.sh"),
        M("app/fifo", "fifo"),
        folder("etc"),
        file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        M("lib", "symlink", link="app"),
    ]
    second = [
        file("app/run.sh", "echo v2\n", mode=0o755, pax={"mtime": "1600000001"}),
        whiteout("app/data.txt"),
        M("app/up", "symlink", link="../.."),
        M("app/root", "symlink", link="/"),
    ]
    return [layer_tar(first), layer_tar(second)]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cat") / "image.tar"
    return str(write_docker_archive(path, _layers()))


def _cat(capsysbinary: pytest.CaptureFixture, *args: str) -> tuple[int, bytes, str]:
    code = main(["cat", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def _fails(capsysbinary: pytest.CaptureFixture, words: str, *args: str) -> None:
    code, out, err = _cat(capsysbinary, *args)
    assert code == 2 and out == b""
    assert err.startswith("divepy: error: ") and err.count("\n") == 1, err
    assert words in err


@pytest.mark.parametrize(
    ("path", "layer", "want"),
    [
        ("/app/run.sh", None, b"echo v2\n"),
        ("app/run.sh", "1", b"echo v2\n"),
        ("/app/run.sh", "0", b"echo v1\n"),
        ("/app/link", None, b"echo v2\n"),  # relative link
        ("/app/abs", None, b"echo v2\n"),  # absolute: from the image root
        ("/lib/run.sh", None, b"echo v2\n"),  # a folder on the way is a link
        ("/app/root/app/./sub/../run.sh", None, b"echo v2\n"),
        ("/app/hard", None, b"echo v1\n"),  # hard links keep the content they were made with
        ("/app/data.txt", "0", b"old\n"),
    ],
)
def test_cat_writes_the_bytes_of_the_layer_asked_for(
    image: str, capsysbinary: pytest.CaptureFixture, path: str, layer: str | None, want: bytes
) -> None:
    code, out, err = _cat(capsysbinary, image, path, *(["--layer", layer] if layer else []))
    assert (code, out, err) == (0, want, "")


@pytest.mark.parametrize(
    ("path", "args", "words"),
    [
        ("/app", [], "/app is a folder at layer 1, not a file"),
        ("/nope", [], "/nope does not exist at layer 1"),
        ("/app/data.txt", [], "/app/data.txt was deleted in layer 1"),
        ("/app/up", ["--layer", "0"], "/app/up does not exist yet at layer 0 (it appears in layer 1)"),
        ("/app/escape", [], "/app/escape is a symbolic link to '../../../etc/passwd', which leaves the image root"),
        ("/app/up/x", [], "leaves the image root"),
        ("/../etc/passwd", [], "climbs above the image root"),
        ("/app/loop", [], "loops"),
        ("/app/fifo", [], "/app/fifo is a fifo"),
        ("/app/sub/x.txt/y", [], "/app/sub/x.txt is not a folder"),
        ("/app/run.sh", ["--layer", "2"], "--layer 2 is out of range: the image has 2 layers (0-1)"),
        ("/app/run.sh", ["--layer", "-1"], "out of range"),
        ("/app/run.sh", ["--layer", "top"], "invalid int value"),
    ],
)
def test_cat_errors_are_one_line_exit_2(
    image: str, capsysbinary: pytest.CaptureFixture, path: str, args: list[str], words: str
) -> None:
    _fails(capsysbinary, words, image, path, *args)


def test_cat_of_the_seed_image_follows_its_busybox_hard_links(capsysbinary: pytest.CaptureFixture) -> None:
    from dive_py.analysis.from_reference import load_analysis

    analysis = load_analysis(str(seed_archive()))
    hard = next(n for n in analysis.tree.nodes if n.state(0) is not None and n.state(0).kind == "h")
    target = analysis.tree.get(hard.state(0).link)
    want = ContentReader(analysis.image).read(target, 0, analysis.tree.get, 1 << 30)
    code, out, _err = _cat(capsysbinary, str(seed_archive()), "/" + hard.path)
    assert code == 0 and out == want and len(want) == target.state(0).size > 100_000


def test_find_path_names_the_version_and_keeps_a_last_link_when_asked(image: str) -> None:
    from dive_py.analysis.from_reference import load_analysis

    tree = load_analysis(image).tree
    assert find_path(tree, "/lib", 1, follow_last=False).entry.kind == "l"
    assert find_path(tree, "/lib", 1, follow_last=True).shown == "/app"
    assert find_path(tree, "/", 1, follow_last=True).entry.kind == "d"
    with pytest.raises(PathLookupError, match="leaves the image root"):
        find_path(tree, "/app/escape", 1, follow_last=True)


# -- extract ---------------------------------------------------------------------


def _extract(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["extract", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_extract_keeps_modes_times_and_links_and_writes_only_under_dest(
    image: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    outer = tmp_path / "outer"
    dest = outer / "dest"
    outer.mkdir()
    code, out, err = _extract(capsys, image, "/app", str(dest))
    assert code == 0, err
    assert out == f"extracted 11 paths to {dest / 'app'}\n"
    assert err == "divepy: warning: skipped /app/fifo: special file (p) not extracted\n"
    app = dest / "app"
    assert sorted(os.listdir(app)) == ["abs", "escape", "hard", "link", "loop", "root", "run.sh", "sub", "up"]
    assert (app / "run.sh").read_bytes() == b"echo v2\n" and (app / "hard").read_bytes() == b"echo v1\n"
    assert stat.S_IMODE((app / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((app / "sub" / "x.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE(app.stat().st_mode) == 0o750
    assert (app / "run.sh").stat().st_mtime_ns == RUN_MTIME_NS  # layer 2's header (PAX), not layer 1's
    assert (app / "hard").stat().st_mtime_ns == HEADER_MTIME_NS
    assert (app / "sub" / "x.txt").stat().st_mtime_ns == 1_500_000_000_000_000_000
    assert app.stat().st_mtime_ns == APP_MTIME_NS  # set after its files and links were made
    assert (app / "sub").stat().st_mtime_ns == HEADER_MTIME_NS
    links = {name: os.readlink(app / name) for name in ("abs", "escape", "link", "loop", "root", "up")}
    assert links == {
        "abs": "/app/run.sh", "escape": "../../../etc/passwd", "link": "run.sh", "loop": "loop", "root": "/",
        "up": "../..",
    }  # fmt: skip
    assert os.lstat(app / "up").st_mtime_ns == HEADER_MTIME_NS
    assert os.listdir(outer) == ["dest"] and os.listdir(dest) == ["app"]
    for folder_path, _dirs, files in os.walk(dest):  # walk does not follow the links
        written = [Path(folder_path, name) for name in files if not os.path.islink(Path(folder_path, name))]
        assert all(path.resolve().is_relative_to(dest) for path in written)


def test_extract_never_overwrites(image: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _extract(capsys, image, "/app/run.sh", str(tmp_path))[0] == 0
    code, out, err = _extract(capsys, image, "/app/run.sh", str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"divepy: error: {tmp_path / 'run.sh'} already exists; not overwritten\n"
    assert (tmp_path / "run.sh").read_bytes() == b"echo v2\n"


def test_extract_an_older_layer_a_link_and_the_root(image: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _extract(capsys, image, "/app", str(tmp_path / "one"), "--layer", "0")[0] == 0
    assert (tmp_path / "one" / "app" / "data.txt").read_bytes() == b"old\n"
    assert (tmp_path / "one" / "app" / "run.sh").read_bytes() == b"echo v1\n"
    assert not (tmp_path / "one" / "app" / "up").exists()
    assert _extract(capsys, image, "/lib", str(tmp_path / "link"))[0] == 0
    assert os.readlink(tmp_path / "link" / "lib") == "app"  # PATH itself is taken as a link, as cp -P
    assert _extract(capsys, image, "/lib/sub", str(tmp_path / "via"))[0] == 0  # links on the way are followed
    assert (tmp_path / "via" / "sub" / "x.txt").read_bytes() == b"x\n"
    assert _extract(capsys, image, "/", str(tmp_path / "all"))[0] == 0
    assert sorted(os.listdir(tmp_path / "all" / "root")) == ["app", "etc", "lib"]
    code, _out, err = _extract(capsys, image, "/app/data.txt", str(tmp_path / "gone"))
    assert code == 2 and "was deleted in layer 1" in err and not (tmp_path / "gone").exists()


def test_extract_a_hostile_image_stays_inside_dest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Links out of the image first, then files 'through' them in later layers: the tree makes those folders."""
    outside = tmp_path / "outside"
    outside.mkdir()
    layers = [
        layer_tar(
            [
                M("d", "symlink", link=str(outside)),
                M("e", "symlink", link="../../../../" + str(outside).lstrip("/")),
                folder("f"),
                M("f/g", "symlink", link="../.."),
            ]
        ),
        layer_tar([file("d/owned", "no\n"), file("e/owned", "no\n"), file("f/g/owned", "no\n")]),
    ]
    image = str(write_docker_archive(tmp_path / "hostile.tar", layers))
    dest = tmp_path / "dest"
    code, _out, err = _extract(capsys, image, "/", str(dest))
    assert code == 0, err
    assert os.listdir(outside) == []
    assert sorted(tmp_path.iterdir()) == [dest, tmp_path / "hostile.tar", outside]
    for name in ("d", "e", "f/g"):
        assert (dest / "root" / name / "owned").read_bytes() == b"no\n"
        assert not (dest / "root" / name).is_symlink()
    code, _out, err = _extract(capsys, image, "/", str(tmp_path / "old"), "--layer", "0")
    assert code == 0, err
    assert os.readlink(tmp_path / "old" / "root" / "d") == str(outside) and os.listdir(outside) == []


def test_extract_into_an_unwritable_dest_is_one_line(image: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("not a folder")
    code, _out, err = _extract(capsys, image, "/app/run.sh", str(tmp_path / "file" / "dest"))
    assert code == 2 and err.startswith("divepy: error: cannot write under ") and err.count("\n") == 1


# -- the reader on a streamed image ----------------------------------------------


def test_content_reader_reads_a_file_of_an_image_read_from_stdin() -> None:
    data = seed_archive().read_bytes()
    analysis = analyze(load_piped(data))
    node = analysis.tree.get("usr/local/tomcat/webapps/ROOT/index.html")
    top = len(analysis.layers) - 1
    got = ContentReader(analysis.image).read(node, top, analysis.tree.get, 1 << 20)
    assert len(got) == node.state(top).size == 1905 and got.startswith(b"<?xml")
    assert ContentReader(analysis.image).read(node, top, analysis.tree.get, 10) == got[:10]


# -- issue 24 item 7: a whole-gzipped archive file (``docker save | gzip > image.tar.gz``) -----------------

SEED_FILE = "/usr/local/tomcat/webapps/ROOT/index.html"


@pytest.fixture(scope="module")
def seed_gz(tmp_path_factory: pytest.TempPathFactory) -> str:
    import gzip

    path = tmp_path_factory.mktemp("gz") / "tomcat02.tar.gz"
    path.write_bytes(gzip.compress(seed_archive().read_bytes(), 1))
    return str(path)


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
@pytest.mark.parametrize("layer", [[], ["--layer", "0"]], ids=["top", "base"])
def test_cat_reads_a_gzipped_archive_as_the_plain_one(
    seed_gz: str, capsysbinary: pytest.CaptureFixture, cache: list[str], layer: list[str]
) -> None:
    path = SEED_FILE if not layer else "/etc/passwd"
    code, want, err = _cat(capsysbinary, str(seed_archive()), path, *layer, "--no-cache")
    assert code == 0 and want, err
    code, got, err = _cat(capsysbinary, seed_gz, path, *layer, *cache)
    assert (code, err) == (0, "") and got == want


def test_no_cache_on_a_gzipped_archive_keeps_nothing(seed_gz: str, capsysbinary: pytest.CaptureFixture) -> None:
    blobs = Path(os.environ["XDG_CACHE_HOME"]) / "divepy" / "blobs"
    code, got, err = _cat(capsysbinary, seed_gz, SEED_FILE, "--no-cache")
    assert code == 0 and got.startswith(b"<?xml"), err
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]
    assert main(["--ci", seed_gz]) == 0
    capsysbinary.readouterr()
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()], "the analysis keeps no blob"
    code, _got, err = _cat(capsysbinary, seed_gz, SEED_FILE)
    kept = [p for p in blobs.rglob("*") if p.is_file()]
    assert code == 0 and len(kept) == 1, "the layer the file was read from is kept, once"
    code, got, err = _cat(capsysbinary, seed_gz, SEED_FILE)
    assert code == 0 and got.startswith(b"<?xml") and [p for p in blobs.rglob("*") if p.is_file()] == kept


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


def test_extract_reads_a_gzipped_archive(seed_gz: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = "/usr/local/tomcat/webapps"
    code, _out, err = _extract(capsys, str(seed_archive()), folder, str(tmp_path / "plain"), "--no-cache")
    assert code == 0, err
    want = _tree(tmp_path / "plain")
    assert len(want) == 642 and len(want["webapps/ROOT/index.html"]) == 1905
    for cache in ([], ["--no-cache"]):
        dest = tmp_path / f"gz{len(cache)}"
        code, _out, err = _extract(capsys, seed_gz, folder, str(dest), *cache)
        assert code == 0, err
        assert _tree(dest) == want
