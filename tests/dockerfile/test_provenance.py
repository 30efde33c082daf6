"""Lines from a BuildKit provenance attestation (``mode=max``) beside the image in an OCI index, when no
Dockerfile is given: the attestation is written as BuildKit writes it (an attestation manifest referring to
the image manifest, an in-toto statement whose SLSA predicate carries the Dockerfile, the steps' source
locations and the layer chains of their results); v0.2 and v1 predicates; ``mode=min`` gives no lines."""

from __future__ import annotations

import base64
import json

import pytest

from dive_py.cli.main import main
from tests.fixtures.images import file, folder, layer_tar, oci_blobs, sha256
from tests.services import registry  # noqa: F401

DOCKERFILE = "FROM base:1\nCOPY app /app\n\nRUN chmod -R 755 /app && \\\n    touch /app/.done\n"


def blob(seed: int, size: int = 100_000) -> bytes:
    return bytes((seed * 7 + i * 13) % 251 for i in range(size))


def _layers() -> list[bytes]:
    files = [file(f"app/m{i}.bin", blob(i)) for i in range(3)]
    return [
        layer_tar([folder("etc"), file("etc/os-release", "ID=test\n")]),
        layer_tar([folder("etc"), file("etc/hostname", "base\n")]),
        layer_tar([folder("app"), *files]),
        layer_tar([folder("app", mode=0o755), *[file(m.name, m.data, mode=0o755) for m in files]]),
    ]


def _metadata(digests: list[str], *, with_source: bool = True) -> dict:
    """BuildKit's metadata: step1 is FROM (the base's two layers), step3 COPY (line 2), step4 RUN (lines 4-5)."""

    def chain(count: int) -> list[list[dict]]:
        return [[{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d} for d in digests[:count]]]

    def at(line: int, end: int) -> dict:
        return {"locations": [{"ranges": [{"start": {"line": line}, "end": {"line": end}}]}]}

    metadata: dict = {"layers": {"step1:0": chain(2), "step3:0": chain(3), "step4:0": chain(4)}}
    if with_source:
        data = base64.b64encode(DOCKERFILE.encode()).decode()
        metadata["source"] = {
            "locations": {"step1": at(1, 1), "step2": {}, "step3": at(2, 2), "step4": at(4, 5)},
            "infos": [{"filename": "Dockerfile", "language": "Dockerfile", "data": data}],
        }
    return metadata


def write_attested(path, version: str, *, with_source: bool = True):  # noqa: ANN001, ANN201
    """An OCI archive of the image and its attestation manifest, as ``buildx build --provenance`` leaves them."""
    import tarfile

    from tests.fixtures.images import _add

    blobs, index = oci_blobs(_layers(), history=[{"created_by": f"/bin/sh -c step {i}"} for i in range(4)])
    image = index["manifests"][0]
    manifest = json.loads(blobs[f"blobs/sha256/{image['digest'][7:]}"])
    digests = [layer["digest"] for layer in manifest["layers"]]
    metadata = _metadata(digests, with_source=with_source)
    if version == "v0.2":
        predicate = {"buildType": "https://mobyproject.org/buildkit@v1", "metadata": {"completeness": {}}}
        predicate["metadata"]["https://mobyproject.org/buildkit@v1#metadata"] = metadata
    else:
        predicate = {"buildDefinition": {}, "runDetails": {"metadata": {"buildkit_metadata": metadata}}}
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": f"https://slsa.dev/provenance/{version}",
            "subject": [{"name": "image", "digest": {"sha256": image["digest"][7:]}}],
            "predicate": predicate,
        }
    ).encode()
    config = b'{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
    attestation = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    "digest": sha256(statement),
                    "size": len(statement),
                    "annotations": {"in-toto.io/predicate-type": f"https://slsa.dev/provenance/{version}"},
                }
            ],
        }
    ).encode()
    for data in (statement, config, attestation):
        blobs[f"blobs/sha256/{sha256(data)[7:]}"] = data
    image["platform"] = {"architecture": "amd64", "os": "linux"}
    del image["annotations"]  # the outer index names the image
    index["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(attestation),
            "size": len(attestation),
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": image["digest"],
            },
        }
    )
    # As buildx writes an OCI layout: index.json names one image index, which lists the image and its attestation.
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", **index}).encode()
    blobs[f"blobs/sha256/{sha256(nested)[7:]}"] = nested
    top = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": sha256(nested),
                "size": len(nested),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    with tarfile.open(path, "w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", json.dumps(top).encode())
        for name, data in blobs.items():
            _add(tar, name, data)
    return path


@pytest.mark.parametrize("version", ["v0.2", "v1"])
def test_the_attestation_gives_the_lines(tmp_path, version: str) -> None:  # noqa: ANN001
    archive = write_attested(tmp_path / "image.tar", version)
    out = tmp_path / "o.json"
    assert main([f"oci-archive://{archive}", "--no-cache", "-j", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in report["layer"]] == [None, None, 2, 4]
    assert report["image"]["dockerfileSource"] == "attestation" and report["image"]["dockerfile"] == "Dockerfile"
    (hint,) = [h for h in report["hints"] if h["kind"] == "metadata-only"]
    assert hint["dockerfile"] == {
        "path": "Dockerfile",
        "line": 4,
        "endLine": 5,
        "instruction": "RUN chmod -R 755 /app && touch /app/.done",
        "stage": "0",
    }


def test_mode_min_gives_no_lines_and_a_given_dockerfile_wins(tmp_path, capsys) -> None:  # noqa: ANN001
    archive = write_attested(tmp_path / "image.tar", "v0.2", with_source=False)
    out = tmp_path / "o.json"
    assert main([f"oci-archive://{archive}", "--no-cache", "-j", str(out)]) == 0
    report = json.loads(out.read_text())
    assert all(layer["dockerfile"] is None for layer in report["layer"]) and report["image"]["dockerfile"] is None
    attested = write_attested(tmp_path / "attested.tar", "v0.2")
    (tmp_path / "Other.Dockerfile").write_text("FROM x\nRUN step 3\n")
    assert (
        main(
            [
                f"oci-archive://{attested}",
                "--no-cache",
                "-j",
                str(out),
                "--dockerfile",
                str(tmp_path / "Other.Dockerfile"),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["image"]["dockerfileSource"] == "given"
    assert [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in report["layer"]] == [None, None, None, 2]


@pytest.mark.engine
def test_a_registry_index_with_the_attestation_gives_the_lines(registry, tmp_path) -> None:  # noqa: ANN001, F811
    """The same image and attestation pushed with ``skopeo copy --all`` to a registry on 127.0.0.1."""
    import os
    import shutil
    import subprocess

    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed (apt-get install skopeo; .ci/services.sh does)")
    archive = write_attested(tmp_path / "image.tar", "v0.2")
    dest = f"{registry.host}/attested:1"
    pushed = subprocess.run(
        ["skopeo", "copy", "-q", "--all", "--dest-tls-verify=false", f"oci-archive:{archive}", f"docker://{dest}"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "REGISTRY_AUTH_FILE": str(registry.root / "auth.json")},
    )
    assert pushed.returncode == 0, pushed.stderr.decode(errors="replace")
    out = tmp_path / "o.json"
    assert main([f"registry://{dest}", "--platform", "linux/amd64", "--no-cache", "-j", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in report["layer"]] == [None, None, 2, 4]
    assert report["image"]["dockerfileSource"] == "attestation"
