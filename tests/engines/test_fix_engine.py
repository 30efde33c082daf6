"""``divepy fix`` + ``--verify`` on real builds: every fix pattern, with the legacy builder and with BuildKit.

The private dockerd builds FROM a base image made here (:mod:`tests.fixtures.build_rig`: the host's apt and
dpkg on busybox) and installs real .debs from a loopback apt repository, with no network but 127.0.0.1.
pip is Debian's, from a loopback simple index; npm and apk are the rig's stand-in scripts. Podman builds a
small Dockerfile FROM busybox alone.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dive_py.cli.main import main
from tests.fixtures.build_rig import BUSYBOX, LoopbackServer, apt_repository, base_rootfs, pip_index, random_bytes
from tests.services import DockerDaemon, Podman, dockerd, podman  # noqa: F401

pytestmark = [pytest.mark.engine, pytest.mark.slow]

DOCKERFILE = """\
FROM divepy-aptbase:1
ARG REPO
# apt: lists and archives stay in the layer
RUN echo "deb [trusted=yes] $REPO ./" > /etc/apt/sources.list \\
    && apt-get update && apt-get install -y divepy-blob
RUN mkdir -p /opt/build && head -c 300000 /dev/urandom > /opt/build/a.o && echo made > /opt/made
RUN rm -rf /opt/build
COPY tree /opt/tree
RUN chown -R 1000:1000 /opt/tree
COPY modes /opt/modes
RUN chmod -R 755 /opt/modes
COPY extra /data/extra
RUN chown -R app:app /data/extra
RUN head -c 200000 /dev/urandom > /tmp/src.tar && echo built > /opt/built
COPY mod.tgz tool.tar.gz /src/
RUN pip install --index-url $REPO/simple/ divepy-pkg
WORKDIR /app
RUN npm install /src/mod.tgz
RUN apk add /src/tool.tar.gz
COPY assets /opt/assets
RUN cp -r /opt/assets /srv-assets
COPY bundle /tmp/bundle
RUN mv /tmp/bundle /opt/bundle
"""

MIN_SIZE = "4kB"


def _context(folder: Path) -> Path:
    """The build context: trees of incompressible files and the stand-in tools' packages."""
    ctx = folder / "ctx"
    for name, seed in (("tree", 10), ("modes", 20), ("assets", 30), ("extra", 70), ("bundle", 80)):
        for index in range(3):
            path = ctx / name / f"d{index}" / f"f{index}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(random_bytes(40_000, seed + index))
            path.chmod(0o600 if index else 0o640)
    for name, seed, inner in (("mod.tgz", 50, "index.js"), ("tool.tar.gz", 60, "usr/share/tool/data")):
        data = random_bytes(80_000, seed)
        with tarfile.open(ctx / name, "w:gz") as tar:
            member = tarfile.TarInfo(inner)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


@pytest.fixture(scope="module")
def rig(dockerd: DockerDaemon, tmp_path_factory):  # noqa: F811, ANN001, ANN201
    folder = tmp_path_factory.mktemp("fix-rig")
    dockerd.run("import", str(base_rootfs(folder)), "divepy-aptbase:1")
    packages = {f"divepy-filler{n:02d}": 64 for n in range(30)} | {"divepy-blob": 200_000}
    pip_index(apt_repository(folder / "repo", packages), "divepy-pkg", 90_000)
    server = LoopbackServer(folder / "repo")
    bin_dir = folder / "bin"  # the Debian CLI (20.10) first on PATH: it builds with BuildKit or without
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(dockerd.cli)
    try:
        yield dockerd, _context(folder), server.url, str(bin_dir), folder / "cache"
    finally:
        server.stop()


def _build(daemon: DockerDaemon, ctx: Path, repo: str, buildkit: bool) -> str:
    tag = f"divepy-fix:{'bk' if buildkit else 'legacy'}"
    env = {**daemon.env, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    done = subprocess.run(
        [daemon.cli, "build", "--network=host", "--build-arg", f"REPO={repo}", "-t", tag, str(ctx)],
        env=env, capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode and buildkit and b"buildx" in done.stderr:
        pytest.skip(f"{daemon.cli} builds with BuildKit only through buildx, which is not installed")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return tag


@pytest.mark.parametrize("buildkit", [False, True], ids=["legacy", "buildkit"])
def test_fix_and_verify_each_pattern(rig, buildkit: bool, monkeypatch, capsys) -> None:  # noqa: ANN001
    daemon, ctx, repo, bin_dir, cache = rig
    tag = _build(daemon, ctx, repo, buildkit)
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ["PATH"])
    dockerfile = str(ctx / "Dockerfile")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # the base layer is read once for the module's builds
    common = [tag, "--source", "docker", "--dockerfile", dockerfile, "--hint-min-size", MIN_SIZE]
    code = main(["fix", *common, "--verify", "--build-arg", f"REPO={repo}", "--network", "host"])
    out, err = capsys.readouterr()
    assert code == 0, out + err[-3000:]
    diff = out[out.index("--- a/") :]
    assert "+    && apt-get clean && rm -rf /var/lib/apt/lists/*" in diff
    assert "-RUN rm -rf /opt/build" in diff and "+    && rm -rf /opt/build" in diff
    assert "+    && rm -rf /tmp/*" in diff
    assert "+RUN pip install --no-cache-dir --index-url $REPO/simple/ divepy-pkg" in diff
    assert "+    && npm cache clean --force" in diff
    assert "+RUN apk add --no-cache /src/tool.tar.gz" in diff
    assert "+COPY --chown=1000:1000 tree /opt/tree" in diff and "-RUN chown -R 1000:1000 /opt/tree" in diff
    if buildkit:  # BuildKit's COPY --chown also owns the folders it creates (/data): not exact there
        assert "+COPY --chmod=755 modes /opt/modes" in diff
        assert "COPY --chown=app:app" not in diff and "BuildKit gives the folders COPY creates (/data)" in out
    else:
        assert "COPY --chmod" not in diff and "`COPY --chmod` needs BuildKit" in out
        assert "+COPY --chown=app:app extra /data/extra" in diff
    assert "# for review, applied with --all: line 21: COPY to /srv-assets" in out
    assert "+COPY bundle /opt/bundle\n" in diff and "-RUN mv /tmp/bundle /opt/bundle\n" in diff
    assert "# verify: PASS: 0 path(s) changed" in out
    with open(dockerfile, encoding="utf-8") as handle:
        assert handle.read() == DOCKERFILE  # never written without --write


def test_verify_fails_on_a_fix_that_changes_more_and_exits_2_when_a_build_fails(
    rig, monkeypatch, capsys, tmp_path: Path
) -> None:  # noqa: ANN001
    daemon, ctx, repo, bin_dir, cache = rig
    tag = _build(daemon, ctx, repo, False)
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    common = [tag, "--source", "docker", "--dockerfile", str(ctx / "Dockerfile"), "--hint-min-size"]
    build = ["--verify", "--build-arg", f"REPO={repo}", "--network", "host"]
    # --all applies the review fix too: COPY straight to /srv-assets, and /opt/assets is gone.
    assert main(["fix", *common, MIN_SIZE, "--all", *build]) == 1
    out = capsys.readouterr().out
    assert "# verify: changed outside the hints' paths: /opt/assets: only in the original build" in out
    assert "# verify: FAIL" in out
    # A context without the files the Dockerfile copies: the build fails, exit 2, one error line.
    assert main(["fix", *common, MIN_SIZE, *build, "--context", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "divepy: error: fix --verify: the original build failed: `docker build` exited 1" in err


def test_verify_with_podman(podman: Podman, monkeypatch, capsys, tmp_path: Path) -> None:  # noqa: F811, ANN001
    """``--engine podman``: both builds by ``podman build`` (buildah), the images read from its store."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("needs busybox-static (.ci/services.sh installs it)")
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    for applet in ("sh", "mkdir", "head", "rm", "echo"):
        (root / "bin" / applet).symlink_to("busybox")
    with tarfile.open(tmp_path / "root.tar", "w") as tar:
        tar.add(root, arcname=".")
    podman.run("import", str(tmp_path / "root.tar"), "divepy-bb:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    text = (
        "FROM localhost/divepy-bb:1\n"
        "RUN mkdir -p /opt/b && head -c 100000 /dev/urandom > /opt/b/x && echo kept > /opt/kept\n"
        "RUN rm -rf /opt/b\n"
    )
    (ctx / "Dockerfile").write_text(text)
    podman.run("build", "-t", "divepy-fix-podman:1", str(ctx))
    for key in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, podman.env[key])
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    argv = ["fix", "divepy-fix-podman:1", "--source", "podman", "--no-cache", "--dockerfile", str(ctx / "Dockerfile")]
    assert main([*argv, "--hint-min-size", "4kB", "--verify", "--engine", "podman"]) == 0
    out = capsys.readouterr().out
    assert "-RUN rm -rf /opt/b\n" in out and "+    && rm -rf /opt/b\n" in out
    assert "# verify: saved 100 kB (100,000 B) of 100 kB (100,000 B) claimed: 100.0%" in out
