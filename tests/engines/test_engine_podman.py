"""podman:// against real Podman (own vfs store): through its CLI and through its API service."""

from __future__ import annotations

import json

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from dive_py.errors import SourceError
from dive_py.load.image import load_image
from tests.services import TOMCAT_ARCHIVE, Podman, assert_same_analysis, podman  # noqa: F401

pytestmark = pytest.mark.engine


@pytest.fixture
def podman_env(podman: Podman, monkeypatch: pytest.MonkeyPatch) -> Podman:  # noqa: F811
    for key in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, podman.env[key])
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    return podman


def test_podman_cli_gives_the_saved_archives_analysis(podman_env: Podman) -> None:
    got = load_analysis("podman://tomcat02:1.0")
    assert_same_analysis(got, load_analysis(str(TOMCAT_ARCHIVE)))
    assert got.image.source.startswith("podman")


def test_podman_api_socket(podman_env: Podman, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", podman_env.start_service())
    got = load_analysis("podman://localhost/tomcat02:1.0")
    assert_same_analysis(got, load_analysis(str(TOMCAT_ARCHIVE)))
    assert got.image.source.startswith("podman engine")


@pytest.mark.slow  # about 20 s: podman runs and commits a container
def test_seed_scenario_committed_by_podman(podman_env: Podman, tmp_path) -> None:  # noqa: ANN001
    p = podman_env
    p.run("rm", "-f", "divepy-tomcat01", check=False)
    p.run(
        "run", "--name", "divepy-tomcat01", *Podman.RUN_FLAGS, "tomcat02:1.0",
        "sh", "-c", "cp -r /usr/local/tomcat/webapps.dist/* /usr/local/tomcat/webapps/",
    )  # fmt: skip
    try:
        p.run("commit", "-q", "-f", "docker", "-m", "edit webapps dir", "divepy-tomcat01", "divepy/tomcat03:1.0")
    finally:
        p.run("rm", "-f", "divepy-tomcat01", check=False)
    saved = tmp_path / "tomcat03.tar"
    p.run("save", "--format", "docker-archive", "-o", str(saved), "divepy/tomcat03:1.0")
    got = load_analysis("podman://divepy/tomcat03:1.0")
    assert_same_analysis(got, load_analysis(str(saved)))
    assert len(got.layers) == 6
    assert got.layers[-1].size_bytes > 3_000_000  # the copied webapps
    assert got.image.config.get("comment") == "edit webapps dir"  # podman keeps -m in the config


def test_podman_unknown_image(podman_env: Podman, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SourceError, match="'divepy/nope:1' not found in the local store"):
        load_image("podman://divepy/nope:1")
    assert main(["--ci", "podman://divepy/nope:1"]) == 2
    assert "not found" in capsys.readouterr().err


def test_divepy_build_with_podman(podman_env: Podman, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "extra.txt").write_text("hello\n" * 1000)
    (tmp_path / "Containerfile").write_text("FROM localhost/tomcat02:1.0\nCOPY extra.txt /srv/extra.txt\n")
    out = tmp_path / "out.json"
    code = main(
        ["build", "--engine", "podman", "--json", str(out), "-t", "divepy/podbuilt:1", "-f",
         str(tmp_path / "Containerfile"), str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    layers = json.loads(out.read_text())["layer"]
    assert len(layers) == 6
    assert layers[-1]["sizeBytes"] == 6000
