"""Choosing the image in layouts that hold more than one thing: artifacts beside images, tags, digests, platforms.

Layouts with referrers are built here as today's tools write them (oras/cosign/notation referrers with
``artifactType`` and ``subject``, cosign's ``.sig`` tags, buildx attestation manifests); other projects'
real archives are in ``../shared/images/external`` (skipped when absent).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from dive_py.cli.main import main
from dive_py.errors import ImageSelectionError
from dive_py.load.image import LoadOptions, load_image
from tests.fixtures.images import file, layer_tar, oci_blobs, sha256
from tests.fixtures.paths import IMAGES

EXTERNAL = IMAGES / "external"
SPDX = "application/spdx+json"


def _blob(blobs: dict[str, bytes], data: bytes) -> dict:
    blobs[f"blobs/sha256/{sha256(data)[7:]}"] = data
    return {"digest": sha256(data), "size": len(data)}


def _referrer(blobs: dict[str, bytes], subject: dict, artifact_type: str, payload: bytes) -> dict:
    """An OCI 1.1 referrer manifest (as oras attach writes it); returns its index descriptor."""
    empty = {"mediaType": "application/vnd.oci.empty.v1+json", **_blob(blobs, b"{}")}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": empty,
        "layers": [{"mediaType": artifact_type, **_blob(blobs, payload)}],
        "subject": subject,
    }
    return {
        "mediaType": manifest["mediaType"],
        "artifactType": artifact_type,
        **_blob(blobs, json.dumps(manifest).encode()),
    }


def _cosign_signature(blobs: dict[str, bytes], image_digest: str) -> dict:
    """A cosign signature: an image config, but a simple-signing layer, tagged ``sha256-<hex>.sig``."""
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(blobs, b'{"architecture":"","os":""}')}
    layer = {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **_blob(blobs, b'{"critical":{}}')}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config}
    manifest["layers"] = [layer]
    tag = image_digest.replace(":", "-") + ".sig"
    return {
        "mediaType": manifest["mediaType"],
        **_blob(blobs, json.dumps(manifest).encode()),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }


def _image_with_artifacts(tmp_path: Path, *, archive: bool) -> Path:
    """One image (linux/amd64 in an index, with a buildx attestation) plus an SBOM referrer and a signature."""
    blobs, index = oci_blobs([layer_tar([file("etc/os-release", "ID=test\n")])], tag="1.0")
    image = index["manifests"][0]
    subject = {"mediaType": image["mediaType"], "digest": image["digest"], "size": image["size"]}
    attestation = _referrer(blobs, subject, "application/vnd.in-toto+json", b"{}")
    attestation.pop("artifactType")
    attestation["platform"] = {"os": "unknown", "architecture": "unknown"}
    attestation["annotations"] = {
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": image["digest"],
    }
    platform_index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{**subject, "platform": {"os": "linux", "architecture": "amd64"}}, attestation],
    }
    top = {
        "mediaType": platform_index["mediaType"],
        **_blob(blobs, json.dumps(platform_index).encode()),
        "annotations": {"org.opencontainers.image.ref.name": "1.0"},
    }
    sbom = _referrer(blobs, subject, SPDX, b'{"spdxVersion":"SPDX-2.3"}')
    manifests = [top, sbom, _cosign_signature(blobs, image["digest"])]
    files = {**blobs, "oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": manifests}).encode()
    if archive:
        path = tmp_path / "with-artifacts.tar"
        with tarfile.open(path, "w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path
    root = tmp_path / "with-artifacts"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize("archive", [False, True], ids=["folder", "oci-archive"])
@pytest.mark.parametrize("platform", [None, "linux/amd64"])
def test_an_image_with_referrers_opens_as_the_image(tmp_path: Path, archive: bool, platform: str | None) -> None:
    path = _image_with_artifacts(tmp_path, archive=archive)
    image = load_image(str(path), LoadOptions(platform=platform, use_cache=False))
    assert [layer.scan.entries["etc/os-release"].size for layer in image.layers] == [len("ID=test\n")]


def test_an_artifact_asked_for_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _image_with_artifacts(tmp_path, archive=False)
    index = json.loads((path / "index.json").read_text())
    sbom_digest = index["manifests"][1]["digest"]
    assert main(["--ci", f"{path}@{sbom_digest}"]) == 2
    assert f"is not a container image (artifact type {SPDX})" in capsys.readouterr().err
    signature_tag = index["manifests"][2]["annotations"]["org.opencontainers.image.ref.name"]
    with pytest.raises(ImageSelectionError, match="artifact type application/vnd.dev.cosign.simplesigning"):
        load_image(f"{path}:{signature_tag}", LoadOptions(use_cache=False))


def _external(*parts: str) -> Path:
    path = EXTERNAL.joinpath(*parts)
    if not path.exists():
        pytest.skip("../shared/images/external is not beside the clone")
    return path


JIB = [
    (("jib", "jib-core", "src", "integration-test", "resources", "core", "busybox-jib.tar"), 2, 1_223_906),
    (("jib", "jib-core", "src", "test", "resources", "core", "extraction", "jib-image.tar"), 2, 4_071),
]


@pytest.mark.parametrize(("parts", "layers", "size"), JIB, ids=["busybox-jib", "jib-image"])
def test_jib_lower_case_manifests_give_dives_figures(
    parts: tuple[str, ...], layers: int, size: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "-", str(_external(*parts))]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert len(exported["layer"]) == layers and exported["image"]["sizeBytes"] == size


def test_every_choice_offered_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    layout = _external("go-containerregistry", "pkg", "v1", "layout", "testdata", "test_index")
    assert main(["--ci", str(layout)]) == 2
    message = capsys.readouterr().err
    listed = message[message.index("(") + 1 : message.rindex(")")].split("; ")
    assert f"holds {len(listed)} images" in message
    assert "1, 3, 4" in listed, "every tag that picks the image is offered, the nested index's too"
    for choice in listed:
        for name in choice.split(", "):
            name = name.split(" [")[0]
            assert main(["--ci", f"{layout}:{name}"]) in (0, 1), capsys.readouterr().err
    assert main(["--ci", f"{layout}:3"]) in (0, 1), "the nested index's own tag leads to its image"


def test_tags_with_slashes_split_at_the_archive() -> None:
    archive = _external("go-containerregistry", "pkg", "v1", "tarball", "testdata", "test_link.tar")
    image = load_image(f"{archive}:bazel/v1/tarball:test_image_3", LoadOptions(use_cache=False))
    assert image.tags == ["bazel/v1/tarball:test_image_3"]


def test_a_repository_layout_full_of_artifacts(capsys: pytest.CaptureFixture[str]) -> None:
    repo = _external("regclient", "testdata", "testrepo")
    assert main(["--ci", f"{repo}:b1", "--platform", "linux/arm64"]) in (0, 1)
    assert main(["--ci", f"{repo}:a1"]) == 2
    assert "is not a container image (artifact type application/example.sbom)" in capsys.readouterr().err


def test_docker_archive_config_digest_is_its_file_name(tmp_path: Path) -> None:
    from tests.fixtures.images import write_docker_archive

    path = write_docker_archive(tmp_path / "img.tar", [layer_tar([file("a", "1")])])
    with tarfile.open(path) as tar:
        config_name = json.load(tar.extractfile("manifest.json"))[0]["Config"]
    image = load_image(str(path), LoadOptions(use_cache=False))
    assert image.config_digest == "sha256:" + config_name.removesuffix(".json").rsplit("/", 1)[-1]
