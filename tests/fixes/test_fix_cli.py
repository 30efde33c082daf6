"""``divepy fix`` on an archive written in code with the legacy builder's history: the diff, --all, --write."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dive_py.cli.main import main
from tests.fixtures.images import file, folder, layer_tar, whiteout, write_docker_archive

pytest.importorskip("dockerfile")

DOCKERFILE = """\
FROM base:1
RUN apt-get update && apt-get install -y foo
RUN mkdir -p /opt/build && make -C /src
RUN rm -rf /opt/build && echo done > /opt/done
RUN wget -O /tmp/x.tar http://example.invalid/x.tar && tar -xf /tmp/x.tar -C /opt/app
COPY tree /opt/tree
RUN chmod -R 755 /opt/tree
COPY extra /data/extra
RUN chown -R 1000:1000 /data/extra
RUN cp -r /opt/tree /srv/tree
RUN pip install /src/pkg.whl
"""

HISTORY = [
    "/bin/sh -c #(nop) ADD file:0123 in / ",
    "/bin/sh -c apt-get update && apt-get install -y foo",
    "/bin/sh -c mkdir -p /opt/build && make -C /src",
    "/bin/sh -c rm -rf /opt/build && echo done > /opt/done",
    "/bin/sh -c wget -O /tmp/x.tar http://example.invalid/x.tar && tar -xf /tmp/x.tar -C /opt/app",
    "/bin/sh -c #(nop) COPY dir:aaa in /opt/tree ",
    "/bin/sh -c chmod -R 755 /opt/tree",
    "/bin/sh -c #(nop) COPY dir:bbb in /data/extra ",
    "/bin/sh -c chown -R 1000:1000 /data/extra",
    "/bin/sh -c cp -r /opt/tree /srv/tree",
    "/bin/sh -c pip install /src/pkg.whl",
]


def _data(seed: int, size: int = 5000) -> bytes:
    return random.Random(seed).randbytes(size)


def _layers() -> list[bytes]:
    tree = _data(6)
    extra = _data(8)
    return [
        layer_tar([folder("bin"), file("bin/sh", _data(1)), folder("opt"), folder("tmp"), folder("data")]),
        layer_tar(
            [
                file("var/lib/apt/lists/deb_Packages", _data(2)),
                file("var/cache/apt/archives/foo.deb", _data(3)),
                file("usr/share/foo/data", _data(4)),
            ]
        ),
        layer_tar([folder("opt/build"), file("opt/build/a.o", _data(5))]),
        layer_tar([whiteout("opt/build"), file("opt/done", "done\n")]),
        layer_tar([file("tmp/x.tar", _data(7)), file("opt/app/f", "app\n")]),
        layer_tar([folder("opt/tree"), file("opt/tree/a", tree)]),
        layer_tar([folder("opt/tree", mode=0o755), file("opt/tree/a", tree, mode=0o755)]),
        layer_tar([folder("data/extra"), file("data/extra/b", extra)]),
        layer_tar([folder("data/extra", uid=1000, gid=1000), file("data/extra/b", extra, uid=1000, gid=1000)]),
        layer_tar([folder("srv/tree"), file("srv/tree/a", tree, mode=0o755)]),
        layer_tar([file("root/.cache/pip/http-v2/x.body", _data(9)), file("usr/lib/py/pkg.py", _data(10))]),
    ]


@pytest.fixture
def built(tmp_path: Path) -> tuple[str, Path]:
    archive = write_docker_archive(
        tmp_path / "image.tar", _layers(), history=[{"created_by": line} for line in HISTORY]
    )
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)
    return str(archive), dockerfile


def _fix(capsys, *argv: str) -> tuple[int, str]:  # noqa: ANN001
    code = main(["fix", *argv, "--no-cache", "--hint-min-size", "1kB"])
    captured = capsys.readouterr()
    return code, captured.out


def test_exact_fixes_as_a_diff_and_the_rest_for_review(built, capsys) -> None:  # noqa: ANN001
    archive, dockerfile = built
    code, out = _fix(capsys, archive, "--dockerfile", str(dockerfile))
    assert code == 0
    diff = out[out.index("--- a/") :]
    assert (
        "+RUN apt-get update && apt-get install -y foo \\\n+    && apt-get clean && rm -rf /var/lib/apt/lists/*" in diff
    )
    # The rm moves up into the RUN that made /opt/build; the later RUN keeps its other command.
    assert "+    && rm -rf /opt/build\n" in diff and "+RUN echo done > /opt/done\n" in diff
    assert "+    && rm -rf /tmp/*\n" in diff
    assert "-RUN pip install /src/pkg.whl\n+RUN pip install --no-cache-dir /src/pkg.whl\n" in diff
    assert "+COPY --chown=1000:1000 extra /data/extra\n" in diff and "-RUN chown -R 1000:1000 /data/extra\n" in diff
    # Each hunk names the hint it closes and its bytes.
    assert "@@ -8 +11 @@ closes metadata-only /data/extra (5.0 kB)\n-COPY extra" in diff
    assert "@@ -9 +11,0 @@ closes metadata-only /data/extra (5.0 kB)\n-RUN chown" in diff
    assert "closes deleted-later /opt/build (5.0 kB)" in diff
    # Legacy builder: no COPY --chmod, said so; the cp is for review (the copy's source would go).
    assert "`COPY --chmod` needs BuildKit" in out and "--chmod" not in diff
    assert "# for review, applied with --all: line 10: COPY to /srv/tree at line 6, no `cp`" in out
    assert "COPY tree /srv/tree" not in diff
    assert dockerfile.read_text() == DOCKERFILE


def test_all_applies_the_review_fixes_and_buildkit_allows_chmod(built, capsys) -> None:  # noqa: ANN001
    archive, dockerfile = built
    code, out = _fix(capsys, archive, "--dockerfile", str(dockerfile), "--all", "--builder", "buildkit")
    assert code == 0
    assert "+COPY --chmod=755 tree /srv/tree\n" in out and "-RUN cp -r /opt/tree /srv/tree\n" in out
    assert "-RUN chmod -R 755 /opt/tree\n" in out
    # BuildKit's COPY --chown would also own /data, which the COPY does not create here: exact.
    assert "+COPY --chown=1000:1000 extra /data/extra\n" in out


def test_write_replaces_the_dockerfile_atomically_as_patch_would(built, capsys) -> None:  # noqa: ANN001
    archive, dockerfile = built
    _code, diff = _fix(capsys, archive, "--dockerfile", str(dockerfile), "--all", "--builder", "buildkit")
    dockerfile.chmod(0o640)
    code, out = _fix(capsys, archive, "--dockerfile", str(dockerfile), "--write", "--all", "--builder", "buildkit")
    assert code == 0
    written = dockerfile.read_text()
    if shutil.which("patch"):  # the diff is a real one: patch(1) makes the same file from it
        copy = dockerfile.parent / "copy"
        copy.write_text(DOCKERFILE)
        subprocess.run(["patch", "-s", str(copy)], input=diff.encode(), check=True)
        assert copy.read_text() == written
    assert "apt-get clean && rm -rf /var/lib/apt/lists/*" in written and "RUN chown" not in written
    assert dockerfile.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in dockerfile.parent.iterdir() if p.name.startswith(".divepy-")] == []
    # Run again on the written file: the image still says the same, the diff is against the new text.
    code, again = _fix(capsys, archive, "--dockerfile", str(dockerfile))
    assert code == 0 and "-RUN chown -R 1000:1000 /data/extra" not in again


def test_a_base_layer_hint_has_no_line_and_bad_input_exits_2(built, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    archive, _dockerfile = built
    assert main(["fix", archive, "--dockerfile", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("divepy: error: cannot read the Dockerfile")
    assert main(["fix", archive]) == 2  # --dockerfile is required
    assert "--dockerfile" in capsys.readouterr().err
