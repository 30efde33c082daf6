"""``containerd://`` against a real containerd (private socket, root and state; see containerd_service.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from dive_py.errors import SourceError
from dive_py.load.image import LoadOptions
from dive_py.reports.export import analysis_to_dict
from dive_py.sources.containerd import Ctr, normalise_name
from dive_py.sources.platforms import default_platform
from tests.engines.containerd_service import Containerd, containerd_daemon
from tests.fixtures.images import file, layer_tar, oci_blobs, write_oci_archive
from tests.fixtures.paths import EXAMPLE

pytestmark = pytest.mark.engine

K8S = "k8s.io"


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    """A private containerd holding the seed in k8s.io, a gzip OCI image and a two-platform image."""
    for daemon in containerd_daemon():
        folder = tmp_path_factory.mktemp("containerd-images")
        daemon.import_archive(K8S, EXAMPLE)
        daemon.import_archive(K8S, _gzip_oci(folder), "--index-name", "divepy/gzip:1")
        daemon.import_archive("default", _two_platforms(folder), "--all-platforms", "--index-name", "divepy/multi:1")
        yield daemon


@pytest.fixture
def env(containerd: Containerd, monkeypatch: pytest.MonkeyPatch) -> Containerd:
    monkeypatch.setenv("CONTAINERD_ADDRESS", containerd.socket)
    monkeypatch.delenv("CONTAINERD_NAMESPACE", raising=False)
    return containerd


def _gzip_oci(folder: Path) -> Path:
    layers = [layer_tar([file("etc/os-release", "ID=test\n")]), layer_tar([file("app/data.bin", b"\1" * 300_000)])]
    return write_oci_archive(folder / "gzip.tar", layers, compression="gzip", tag="divepy/gzip:1")


def _two_platforms(folder: Path) -> Path:
    """One index, two platforms (linux/amd64 and linux/arm64), each a one-layer image saying which it is."""
    import tarfile

    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
    blobs: dict[str, bytes] = {}
    for arch in ("amd64", "arm64"):
        found, single = oci_blobs([layer_tar([file("arch", arch)])])
        blobs.update(found)
        descriptor = single["manifests"][0]
        descriptor.pop("annotations")
        descriptor["platform"] = {"os": "linux", "architecture": arch}
        index["manifests"].append(descriptor)
    path = folder / "multi.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in {**blobs, "oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}.items():
            _add(tar, name, data)
        # An index naming the image: ctr import tags it by --index-name.
        _add(tar, "index.json", json.dumps(index).encode())
    return path


def _add(tar, name: str, data: bytes) -> None:  # noqa: ANN001 - tarfile.TarFile
    import io
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _same_analysis(ref: str, archive: Path, **options) -> None:  # noqa: ANN003
    """Every figure, layer and file as the archive gives them; only where it came from differs."""
    ours = _without_origin(analysis_to_dict(load_analysis(ref, LoadOptions(use_cache=False, **options))))
    theirs = _without_origin(analysis_to_dict(load_analysis(str(archive), LoadOptions(use_cache=False))))
    assert ours == theirs


def _without_origin(exported: dict) -> dict:
    """The export less the image's name, tags and source, and the layer ids (a legacy archive's folder names)."""
    for key in ("name", "tags", "source"):
        exported["image"].pop(key)
    for layer in exported["layer"]:
        layer.pop("id")
    return exported


def test_the_seed_in_k8s_io_is_the_archive(env: Containerd) -> None:
    _same_analysis("containerd://tomcat02:1.0", EXAMPLE, namespace=K8S)


def test_digest_references_and_full_names_work(env: Containerd) -> None:
    listed = env.ctr(K8S, "images", "ls").stdout.decode().splitlines()[1:]
    digest = next(line.split()[2] for line in listed if line.startswith("docker.io/library/tomcat02:1.0"))
    for ref in ("docker.io/library/tomcat02:1.0", f"tomcat02@{digest}", f"tomcat02:1.0@{digest}"):
        image = load_analysis(f"containerd://{ref}", LoadOptions(use_cache=False, namespace=K8S)).image
        assert len(image.layers) == 5 and image.source.startswith("containerd (namespace k8s.io)")


def test_namespace_from_the_environment(env: Containerd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINERD_NAMESPACE", K8S)
    assert len(load_analysis("containerd://tomcat02:1.0").image.layers) == 5


def test_gzip_oci_image_is_the_archive(env: Containerd, tmp_path: Path) -> None:
    _same_analysis("containerd://divepy/gzip:1", _gzip_oci(tmp_path), namespace=K8S)


def test_multi_platform_image_honours_platform(env: Containerd) -> None:
    def arch(**options: str) -> int:
        analysis = load_analysis("containerd://divepy/multi:1", LoadOptions(use_cache=False, **options))
        return analysis.image.layers[0].scan.entries["arch"].size

    assert arch(platform="linux/arm64") == len("arm64")
    assert arch(platform="linux/amd64") == len("amd64")
    if default_platform() in ("linux/amd64", "linux/arm64"):
        assert arch() == len(default_platform().split("/")[1])


def test_cli_json_and_ci(env: Containerd, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "-", "--namespace", K8S, "containerd://tomcat02:1.0"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["image"]["sizeBytes"] == 9_673_897
    assert main(["--ci", "--source", "containerd", "--namespace", K8S, "tomcat02:1.0"]) == 0


def test_cat_gives_the_archives_bytes(env: Containerd, capsysbinary: pytest.CaptureFixture) -> None:
    from tests.engines.test_cat_engines import INDEX, _expected

    assert main(["cat", "--namespace", K8S, "containerd://tomcat02:1.0", "/" + INDEX]) == 0
    assert capsysbinary.readouterr().out == _expected(EXAMPLE)


def test_layers_are_read_from_the_content_store_and_cached(env: Containerd) -> None:
    """The blobs are plain files of the content store: scanned where they lie, found in the layer cache again."""
    from dive_py.cache.scans import CachedLayerScan

    load_analysis("containerd://tomcat02:1.0", LoadOptions(namespace=K8S))
    again = load_analysis("containerd://tomcat02:1.0", LoadOptions(namespace=K8S))
    large = [layer for layer in again.layers if layer.size_bytes > 300_000]
    assert large and all(isinstance(layer.scan, CachedLayerScan) for layer in large)


@pytest.mark.parametrize(
    ("ref", "namespace", "message"),
    [
        ("containerd://tomcat02:1.0", None, "not found in namespace default; it is in namespace k8s.io"),
        ("containerd://tomcat02:1.0", "nope", "no namespace 'nope' (namespaces: "),
        ("containerd://divepy/absent:1", K8S, "image docker.io/divepy/absent:1 not found in namespace k8s.io"),
    ],
)
def test_unknown_images_and_namespaces(
    env: Containerd, capsys: pytest.CaptureFixture[str], ref: str, namespace: str | None, message: str
) -> None:
    args = ["--ci", ref] + (["--namespace", namespace] if namespace else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_image_in_another_namespace_is_pointed_to(env: Containerd) -> None:
    env.ctr("default", "namespaces", "ls")  # "default" exists once something is stored in it
    with pytest.raises(SourceError, match="not found in namespace default; it is in namespace k8s.io") as caught:
        load_analysis("containerd://tomcat02:1.0", LoadOptions(use_cache=False))
    assert caught.value.hint == "use --namespace k8s.io"


def test_missing_socket_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("CONTAINERD_ADDRESS", str(tmp_path / "absent.sock"))
    assert main(["--ci", "containerd://tomcat02:1.0"]) == 2
    assert "containerd: no socket at" in capsys.readouterr().err


def test_permission_denied_on_the_socket(env: Containerd) -> None:
    """As an unprivileged user the root-only socket refuses: say so, and how to fix it."""
    os.chmod(env.root, 0o755)  # the folder may be entered; the socket itself stays root's (srw-rw----)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.setgid(65534)
            os.setuid(65534)
            Ctr(env.socket, K8S).check_socket()
            message = "no error"
        except SourceError as exc:
            message = f"{exc.message} ({exc.hint})"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    assert "permission denied on" in message and "run divepy with access to the socket" in message


def test_bare_names_try_containerd_after_docker_and_podman(env: Containerd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{env.root}/no-docker.sock")
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{env.root}/no-podman.sock")
    monkeypatch.setenv("CONTAINERD_NAMESPACE", K8S)
    monkeypatch.delenv("DIVEPY_SOURCE", raising=False)
    assert len(load_analysis("tomcat02:1.0", LoadOptions(use_cache=False)).image.layers) == 5
    with pytest.raises(SourceError, match=r"tried: archive path, docker, podman, containerd"):
        load_analysis("divepy/absent:1", LoadOptions(use_cache=False))


def test_short_names_normalise_as_nerdctl_does() -> None:
    assert normalise_name("tomcat02:1.0") == ("docker.io/library/tomcat02:1.0", None)
    assert normalise_name("ghcr.io/org/app") == ("ghcr.io/org/app:latest", None)
    digest = "sha256:" + "ab" * 32
    assert normalise_name(f"app@{digest}") == (f"docker.io/library/app@{digest}", digest)
