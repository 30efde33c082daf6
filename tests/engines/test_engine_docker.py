"""docker:// against a real private dockerd: same analysis as the saved archive, the seed's scenario, errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import socket
import threading

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from dive_py.errors import SourceError
from dive_py.load.image import LoadOptions, load_image
from tests.services import TOMCAT_ARCHIVE, DockerDaemon, assert_same_analysis, dockerd  # noqa: F401

pytestmark = pytest.mark.engine


@pytest.fixture
def docker_env(dockerd: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> DockerDaemon:  # noqa: F811
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return dockerd


def test_docker_gives_the_saved_archives_analysis(docker_env: DockerDaemon) -> None:
    from_engine = load_analysis("docker://tomcat02:1.0")
    from_archive = load_analysis(str(TOMCAT_ARCHIVE))
    assert_same_analysis(from_engine, from_archive)
    assert from_engine.image.source.startswith("docker engine")
    assert from_engine.image.tags == ["tomcat02:1.0"]


def test_seed_scenario_committed_for_real(docker_env: DockerDaemon, tmp_path) -> None:  # noqa: ANN001
    """docker run, copy webapps.dist/* into webapps/, docker commit; then docker:// == docker save."""
    docker = docker_env
    docker.run("rm", "-f", "divepy-tomcat01", check=False)
    docker.run("run", "-d", "--network", "none", "--name", "divepy-tomcat01", "tomcat02:1.0", "sleep", "1000")
    try:
        docker.run("exec", "divepy-tomcat01", "sh", "-c", "cp -r /usr/local/tomcat/webapps.dist/* webapps/")
        docker.run("commit", "-m", "edit webapps dir", "-a", "divepy", "divepy-tomcat01", "divepy/tomcat03:1.0")
    finally:
        docker.run("rm", "-f", "divepy-tomcat01", check=False)
    saved = tmp_path / "tomcat03.tar"
    docker.run("save", "-o", str(saved), "divepy/tomcat03:1.0")

    from_engine = load_analysis("docker://divepy/tomcat03:1.0")
    assert_same_analysis(from_engine, load_analysis(str(saved)))
    assert len(from_engine.layers) == 6
    assert from_engine.layers[-1].comment == "edit webapps dir"
    # The copy repeats every file of webapps.dist: it is all wasted space.
    assert from_engine.wasted_bytes > load_analysis(str(TOMCAT_ARCHIVE)).wasted_bytes + 3_000_000


def test_by_image_id_and_bare_name(docker_env: DockerDaemon) -> None:
    image_id = docker_env.run("image", "inspect", "-f", "{{.Id}}", "tomcat02:1.0").stdout.decode().strip()
    by_id = load_analysis(f"docker://{image_id}")
    bare = load_analysis("tomcat02:1.0")  # not a path: the default source, docker
    assert_same_analysis(by_id, bare)
    by_source = load_image("tomcat02:1.0", LoadOptions(source="docker"))
    assert by_source.config_digest == bare.image.config_digest


def test_docker_context_is_followed(docker_env: DockerDaemon, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    name = "divepy-test"
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": docker_env.host}}}))
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": name}))
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert len(load_image("docker://tomcat02:1.0").layers) == 5


def test_unknown_image_is_one_line_and_exit_2(docker_env: DockerDaemon, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SourceError, match="'divepy/nope:1' not found in the local store"):
        load_image("docker://divepy/nope:1")
    assert main(["--ci", "docker://divepy/nope:1"]) == 2
    assert "not found in the local store" in capsys.readouterr().err
    # A bare name that is neither a path nor in docker says what was tried.
    with pytest.raises(SourceError, match=r"tried: archive path, docker"):
        load_image("divepy/nope:1")


def test_divepy_build_then_ci(docker_env: DockerDaemon, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    (tmp_path / "Dockerfile").write_text(
        "FROM tomcat02:1.0\nRUN cp -r /usr/local/tomcat/webapps.dist/ROOT /usr/local/tomcat/webapps/ROOT2\n"
    )
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI for `divepy build`")
    out = tmp_path / "out.json"
    code = main(["build", "--ci", "--json", str(out), "-t", "divepy/built:1", "--network", "none", str(tmp_path)])
    assert code in (0, 1)  # rules may pass or fail; the build and the analysis ran
    report = json.loads(out.read_text())
    assert len(report["layer"]) == 6
    assert len(load_image("docker://divepy/built:1").layers) == 6


def _relay(listener: socket.socket, target: str) -> None:
    """Forwards each connection from 127.0.0.1 to the daemon's unix socket (dockerd -H tcp:// without TLS)."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(1 << 16):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def test_tcp_docker_host_on_loopback(docker_env: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    threading.Thread(target=_relay, args=(listener, str(docker_env.socket)), daemon=True).start()
    try:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        assert_same_analysis(load_analysis("docker://tomcat02:1.0"), load_analysis(str(TOMCAT_ARCHIVE)))
    finally:
        listener.close()
