"""``divepy cat`` gives the archive's bytes from every source: archive, oci:// folder, stdin, docker, podman, registry.

The expected bytes are read from the seed archive with Python's tarfile, independently of divepy.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dive_py.cli.main import main
from tests.fixtures.images import write_oci_folder
from tests.fixtures.paths import REPO
from tests.services import (  # noqa: F401 - fixtures
    DockerDaemon,
    Podman,
    Registry,
    dockerd,
    podman,
    registry,
    seed_archive,
)

INDEX = "usr/local/tomcat/webapps/ROOT/index.html"


def _layer_tars(archive: Path) -> list[bytes]:
    """The seed's layer tars in order, as ``docker save`` stored them."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        return [outer.extractfile(name).read() for name in manifest[0]["Layers"]]  # type: ignore[union-attr]


def _expected(archive: Path, path: str = INDEX) -> bytes:
    """The file's bytes from the highest layer that holds it (the seed deletes nothing)."""
    for layer in reversed(_layer_tars(archive)):
        with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
            names = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            if path in names:
                return tar.extractfile(names[path]).read()  # type: ignore[union-attr]
    raise AssertionError(f"{path} is in no layer")


@pytest.fixture(scope="module")
def want() -> bytes:
    data = _expected(seed_archive())
    assert len(data) == 1905
    return data


def _cat(capsysbinary: pytest.CaptureFixture, ref: str, *args: str) -> bytes:
    code = main(["cat", ref, "/" + INDEX, *args])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    return out


def test_archive(want: bytes, capsysbinary: pytest.CaptureFixture) -> None:
    assert _cat(capsysbinary, str(seed_archive())) == want
    assert _cat(capsysbinary, f"docker-archive://{seed_archive()}") == want


def test_oci_folder(want: bytes, tmp_path: Path, capsysbinary: pytest.CaptureFixture) -> None:
    folder = write_oci_folder(tmp_path / "oci", _layer_tars(seed_archive()), compression="gzip")
    assert _cat(capsysbinary, f"oci://{folder}") == want


def _cli(stdin: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dive_py", *args], input=stdin, capture_output=True, cwd=REPO, timeout=120, check=False
    )


def test_stdin(want: bytes) -> None:
    result = _cli(seed_archive().read_bytes(), "cat", "-", "/" + INDEX)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == want


def test_stdin_with_no_cache_says_contents_need_the_cache() -> None:
    result = _cli(seed_archive().read_bytes(), "cat", "--no-cache", "-", "/" + INDEX)
    assert result.returncode == 2 and result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("divepy: error: ") and err.count("\n") == 1, err
    assert "--no-cache" in err and "file contents were not kept" in err


@pytest.mark.engine
def test_docker(want: bytes, dockerd: DockerDaemon, monkeypatch, capsysbinary) -> None:  # noqa: ANN001, F811
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    assert _cat(capsysbinary, "docker://tomcat02:1.0") == want


@pytest.mark.engine
def test_podman(want: bytes, podman: Podman, monkeypatch, capsysbinary) -> None:  # noqa: ANN001, F811
    for key in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, podman.env[key])
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    assert _cat(capsysbinary, "podman://tomcat02:1.0") == want


@pytest.mark.engine
def test_registry(want: bytes, registry: Registry, tmp_path: Path, monkeypatch, capsysbinary) -> None:  # noqa: ANN001, F811
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    ref = registry.push(f"docker-archive:{seed_archive()}", "cat/tomcat02:1.0")
    assert _cat(capsysbinary, f"registry://{ref}") == want


def test_layer_picks_an_older_version(capsysbinary: pytest.CaptureFixture) -> None:
    """/etc/passwd: written by the base layer, rewritten by layer 4 (which adds the tomcat user)."""
    archive = seed_archive()
    layers = _layer_tars(archive)
    with tarfile.open(fileobj=io.BytesIO(layers[0])) as tar:
        base = tar.extractfile("etc/passwd").read()  # type: ignore[union-attr]
    top = _expected(archive, "etc/passwd")
    assert base != top and b"tomcat" in top
    for layer, expected in (("0", base), ("2", base), ("3", top), ("4", top)):
        assert main(["cat", str(archive), "/etc/passwd", "--layer", layer]) == 0
        assert capsysbinary.readouterr().out == expected
