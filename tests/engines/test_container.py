"""container:// against real engines: the writable layer read before the commit equals the one committed.

The oracle is the engine itself: ``docker commit`` (``podman commit``) the same container afterwards,
save the image, and divepy's ``--json`` on that archive must equal divepy's ``--json`` on the container,
but for what legitimately differs (ids, digests, commands, names, tags, source). The writable layer's
tar builder is also checked alone on tars made here, without an engine.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from dive_py.cli.main import main
from dive_py.errors import SourceError
from dive_py.load.image import load_image
from dive_py.sources.reference import parse_reference
from dive_py.sources.writable_layer import LayerFilter, chunk_reader, parse_changes
from tests.fixtures.truncate import write_first_layers
from tests.services import TOMCAT_ARCHIVE, DockerDaemon, Podman, dockerd, podman  # noqa: F401 - fixtures

PARENT = "tomcat02:1.0-parent"
"""The image tomcat02:1.0 was committed from: the seed without its last layer."""
COPY = "cp -r /usr/local/tomcat/webapps.dist/* /usr/local/tomcat/webapps/"
SEED_TOP_LAYER = 3_369_944
"""Bytes the copy adds: the seed's own committed top layer."""
EDITS = (
    "echo changed >> /usr/local/tomcat/conf/server.xml"
    " && rm /usr/local/tomcat/RUNNING.txt"
    " && rm -rf /usr/local/tomcat/webapps.dist/docs"
    " && mkdir -p /srv/new && echo fresh > /srv/new/file.txt"
)
"""A modified file, a deleted file, a deleted folder and an added folder."""
PODMAN_MOUNT_POINTS = {"dev", "proc", "sys", "run", "run/.containerenv", "etc/hosts", "etc/hostname", "etc/mtab"}
"""Empty mount points podman makes in the writable layer and leaves out of its list of changes (its commit
carries them: they hold no bytes, so every figure agrees)."""
LEGITIMATE = ("id", "digest", "digestId", "command", "origin")
"""A container's writable layer says it is not committed (``origin``); its commit carries no comment."""


# -- the layer builder alone ------------------------------------------------------


def _tar(members: list[tuple[str, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.uid = len(data), 1000
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _built(export: bytes, changes: list[dict]) -> tuple[dict[str, tarfile.TarInfo], LayerFilter]:
    layer_filter = LayerFilter(parse_changes(changes, "test"), "test")
    layer = chunk_reader(layer_filter.chunks(io.BytesIO(export).read))(-1)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return {info.name: info for info in tar.getmembers()}, layer_filter


def test_layer_keeps_changed_members_their_parents_and_whiteouts() -> None:
    long_name = "usr/" + "deep/" * 30 + "file.txt"  # needs a PAX header: passed on with its member
    export = _tar(
        [("usr/", None), ("usr/bin/", None), ("usr/bin/tool", b"same"), ("usr/lib/", None),
         ("usr/lib/changed.so", b"new bytes"), (long_name, b"long"), ("etc/", None), ("etc/passwd", b"root")]
    )  # fmt: skip
    changes = [
        {"Path": "/usr/lib/changed.so", "Kind": 0},
        {"Path": "/" + long_name, "Kind": 1},
        {"Path": "/usr/bin/gone", "Kind": 2},
        {"Path": "/usr/old", "Kind": 2},
    ]
    members, layer_filter = _built(export, changes)
    assert "etc/passwd" not in members and "usr/bin/tool" not in members
    assert members["usr/lib/changed.so"].size == 9 and members["usr/lib/changed.so"].uid == 1000
    assert members[long_name].size == 4
    assert members["usr/bin"].isdir() and members["usr"].isdir()  # parents, as an upper folder holds them
    assert members["usr/bin/.wh.gone"].mode == 0o600 and members["usr/.wh.old"].size == 0
    assert layer_filter.missing == set()


def test_layer_tells_what_the_export_lacked_and_marks_a_folder_made_anew_opaque() -> None:
    export = _tar([("srv/", None), ("srv/again/", None), ("srv/again/x", b"x")])
    changes = [{"Path": "/srv/again", "Kind": 2}, {"Path": "/srv/again/x", "Kind": 1}, {"Path": "/srv/y", "Kind": 1}]
    members, layer_filter = _built(export, changes)
    assert "srv/again/.wh..wh..opq" in members and "srv/.wh.again" not in members
    assert layer_filter.missing == {"srv/y"}


def test_no_changes_and_bad_answers() -> None:
    assert parse_changes(None, "test").kept == frozenset()
    with pytest.raises(Exception, match="list of changes"):
        parse_changes([{"Path": "/x", "Kind": 7}], "test")


def test_container_prefixes() -> None:
    assert parse_reference("container://tomcat01").source == "container"
    assert parse_reference("docker-container://abc123").name == "abc123"
    assert parse_reference("tomcat01", "podman-container").source == "podman-container"


# -- Docker ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parent_image(dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    archive = write_first_layers(TOMCAT_ARCHIVE, tmp_path_factory.mktemp("parent") / "parent.tar", 4)
    dockerd.run("load", "-i", str(archive))
    return PARENT


@pytest.fixture
def docker_env(dockerd: DockerDaemon, parent_image: str, monkeypatch: pytest.MonkeyPatch) -> DockerDaemon:  # noqa: F811
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    return dockerd


def _export(ref: str, tmp_path: Path, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    assert main(["--json", str(out), ref]) == 0
    return json.loads(out.read_text())


def _comparable(report: dict, skip_paths: set[str] = frozenset()) -> dict:
    """The export without what differs between a container and its commit by right."""
    layers = []
    for layer in report["layer"]:
        layer = {key: value for key, value in layer.items() if key not in LEGITIMATE}
        layer["fileList"] = sorted(
            (entry for entry in layer["fileList"] if entry["path"] not in skip_paths), key=lambda e: e["path"]
        )
        layers.append(layer)
    image = {key: value for key, value in report["image"].items() if key not in ("name", "tags", "source")}
    return {"layer": layers, "image": image}


def _committed(engine, container: str, tmp_path: Path, *save_flags: str) -> Path:  # noqa: ANN001
    engine.run("commit", container, f"divepy/{container}-committed:1")
    saved = tmp_path / f"{container}-committed.tar"
    engine.run("save", *save_flags, "-o", str(saved), f"divepy/{container}-committed:1")
    return saved


def _running(engine, name: str) -> bool:  # noqa: ANN001
    return engine.run("inspect", "-f", "{{.State.Running}}", name).stdout.decode().strip() == "true"


@pytest.mark.engine
def test_seed_scenario_equals_docker_commit(docker_env: DockerDaemon, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    docker = docker_env
    docker.run("rm", "-f", "tomcat01", check=False)
    docker.run("run", "-d", "--network", "none", "--name", "tomcat01", PARENT, "sleep", "1000")
    try:
        docker.run("exec", "tomcat01", "sh", "-c", COPY)
        changes_before = sorted(docker.run("diff", "tomcat01").stdout.splitlines())
        got = _export("container://tomcat01", tmp_path, "container")
        assert sorted(docker.run("diff", "tomcat01").stdout.splitlines()) == changes_before  # nothing written
        assert _running(docker, "tomcat01")
        want = _export(str(_committed(docker, "tomcat01", tmp_path)), tmp_path, "committed")

        assert len(got["layer"]) == len(want["layer"]) == 5
        assert got["layer"][-1]["sizeBytes"] == want["layer"][-1]["sizeBytes"] == SEED_TOP_LAYER
        assert _comparable(got) == _comparable(want)
        assert got["layer"][-1]["command"] == want["layer"][-1]["command"] == "sleep 1000"
        assert got["image"]["source"].startswith("docker engine") and got["image"]["warnings"] == []

        index = "/usr/local/tomcat/webapps/ROOT/index.html"
        capsys.readouterr()
        assert main(["cat", "container://tomcat01", index]) == 0
        assert capsys.readouterr().out == docker.run("exec", "tomcat01", "cat", index).stdout.decode()
        assert main(["diff", f"docker://{PARENT}", "container://tomcat01", "--json", "-"]) == 0
        diff = json.loads(capsys.readouterr().out)
        assert diff["summary"]["addedBytes"] == SEED_TOP_LAYER
        assert index in {item["path"] for item in diff["files"] if item["change"] == "added"}
    finally:
        docker.run("rm", "-f", "tomcat01", check=False)


@pytest.mark.engine
def test_edits_running_then_stopped(docker_env: DockerDaemon, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    docker = docker_env
    docker.run("rm", "-f", "divepy-edits", check=False)
    docker.run("run", "-d", "--network", "none", "--name", "divepy-edits", PARENT, "sleep", "1000")
    try:
        docker.run("exec", "divepy-edits", "sh", "-c", EDITS)
        running = _export("docker-container://divepy-edits", tmp_path, "running")
        top = {entry["path"]: entry for entry in running["layer"][-1]["fileList"]}
        assert {"usr/local/tomcat/.wh.RUNNING.txt", "usr/local/tomcat/webapps.dist/.wh.docs"} <= set(top)
        assert top["srv/new/file.txt"]["size"] == 6
        docker.run("stop", "-t", "0", "divepy-edits")
        stopped = _export("container://divepy-edits", tmp_path, "stopped")
        assert _comparable(stopped) == _comparable(running)
        capsys.readouterr()
        assert main(["cat", "container://divepy-edits", "/usr/local/tomcat/conf/server.xml"]) == 0
        assert capsys.readouterr().out.endswith("changed\n")
        want = _export(str(_committed(docker, "divepy-edits", tmp_path)), tmp_path, "committed")
        assert _comparable(stopped) == _comparable(want)
    finally:
        docker.run("rm", "-f", "divepy-edits", check=False)


BUSY_WRITER = "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo $i > /tmp/f$i; sleep 0.01; done; sleep 1000"
"""A new file about every 10 ms, 30 s at most: each read (two lists of changes around a 10 MB export, 0.15 s at
least) sees the list move. Unpaced, the loop wrote files as fast as a core allows, and every read had more of
them to list and export: 177 s of a 310 s suite on a loaded machine."""


@pytest.mark.engine
@pytest.mark.slow
def test_a_container_that_keeps_changing_says_so(docker_env: DockerDaemon) -> None:
    docker = docker_env
    docker.run("rm", "-f", "divepy-busy", check=False)
    docker.run("run", "-d", "--network", "none", "--name", "divepy-busy", PARENT, "sh", "-c", BUSY_WRITER)
    try:
        deadline = time.monotonic() + 30
        while docker.run("exec", "divepy-busy", "test", "-e", "/tmp/f2", check=False).returncode != 0:
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.05)  # writing: the reads below start on a container that is changing
        image = load_image("container://divepy-busy")
        assert len(image.layers) == 5
        assert any("kept changing while divepy read it" in line for line in image.warnings)
        written = set(image.layers[-1].scan.entries)
        assert "tmp/f1" in written and len(written) < 3100  # the pace held: a few hundred files, not millions
    finally:
        docker.run("rm", "-f", "divepy-busy", check=False)


@pytest.mark.engine
def test_unknown_container_and_unreachable_engine_exit_2(
    docker_env: DockerDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    with pytest.raises(SourceError, match="no container 'divepy-nope'"):
        load_image("docker-container://divepy-nope")
    assert main(["--ci", "container://divepy-nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert main(["--ci", "container://divepy-nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the engine" in err[0]


# -- Podman ---------------------------------------------------------------------------


@pytest.fixture
def podman_api(podman: Podman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Podman:  # noqa: F811
    archive = write_first_layers(TOMCAT_ARCHIVE, tmp_path / "parent.tar", 4)
    podman.run("load", "-i", str(archive))
    probe = podman.run("run", "--rm", *Podman.RUN_FLAGS, f"localhost/{PARENT}", "true", check=False)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot start containers here: {probe.stderr.decode(errors='replace').strip()[-200:]}")
    monkeypatch.setenv("CONTAINER_HOST", podman.start_service())
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    return podman


@pytest.mark.engine
@pytest.mark.slow
def test_seed_scenario_equals_podman_commit(podman_api: Podman, tmp_path: Path) -> None:
    p = podman_api
    p.run("rm", "-f", "tomcat01", check=False)
    p.run("run", "-d", "--name", "tomcat01", *Podman.RUN_FLAGS, f"localhost/{PARENT}", "sleep", "1000")
    try:
        p.run("exec", "tomcat01", "sh", "-c", COPY + " && " + EDITS)
        got = _export("container://tomcat01", tmp_path, "container")  # docker unreachable: podman's socket
        assert _running(p, "tomcat01")
        want = _export(str(_committed(p, "tomcat01", tmp_path, "--format", "docker-archive")), tmp_path, "want")
        assert got["image"]["source"].startswith("podman engine")
        assert _comparable(got, PODMAN_MOUNT_POINTS) == _comparable(want, PODMAN_MOUNT_POINTS)
        assert got["layer"][-1]["sizeBytes"] > SEED_TOP_LAYER  # the copy and the new file
    finally:
        p.run("rm", "-f", "tomcat01", check=False)
