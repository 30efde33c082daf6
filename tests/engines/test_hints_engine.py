"""Hints on an image built for real (``docker build --network none`` on the private dockerd, FROM the seed):
one RUN per pattern, each answer computed from the saved layer tars themselves."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.load.options import LoadOptions
from tests.services import DockerDaemon, dockerd  # noqa: F401

DOCKERFILE = """FROM tomcat02:1.0
RUN mkdir -p /opt/build && dd if=/dev/urandom of=/opt/build/a.o bs=1024 count=300
RUN rm -rf /opt/build
RUN cp -a /usr/local/tomcat/webapps.dist /srv-copy
RUN chmod -R g+w /usr/local/tomcat/lib
RUN dd if=/dev/urandom of=/tmp/src.tar bs=1024 count=200
"""


def _layer_bytes(archive: str) -> list[dict[str, int]]:
    """Regular files by path per layer, read straight from ``docker save``'s layer tars."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        layers = []
        for name in manifest["Layers"]:
            with tarfile.open(fileobj=io.BytesIO(outer.extractfile(name).read())) as tar:
                layers.append({m.name.rstrip("/"): m.size for m in tar.getmembers() if m.isreg()})
    return layers


@pytest.fixture(scope="module")
def built(dockerd: DockerDaemon, tmp_path_factory):  # noqa: F811, ANN001, ANN201
    folder = tmp_path_factory.mktemp("hints-build")
    (folder / "Dockerfile").write_text(DOCKERFILE)
    dockerd.run("build", "--network", "none", "-t", "divepy-hints:1", str(folder))
    archive = str(folder / "image.tar")
    dockerd.run("save", "-o", archive, "divepy-hints:1")
    return load_analysis(archive, LoadOptions(use_cache=False)), _layer_bytes(archive)


def _hint(analysis, kind: str, layer: int):  # noqa: ANN001, ANN202
    found = [h for h in analysis.hints().hints if h.kind == kind and h.layer == layer]
    assert found, analysis.hints().hints
    return found[0]


def test_each_pattern_of_a_real_build(built) -> None:  # noqa: ANN001
    analysis, layers = built
    first = len(layers) - 5  # the Dockerfile's first RUN
    deleted = _hint(analysis, "deleted-later", first)
    assert (deleted.layer, deleted.paths) == (first, ("/opt/build",))
    assert deleted.bytes == layers[first]["opt/build/a.o"]
    copy = _hint(analysis, "duplicate-content", first + 2)
    assert copy.layer == first + 2 and copy.paths == ("/srv-copy",)
    assert copy.bytes == sum(size for path, size in layers[first + 2].items() if path.startswith("srv-copy/"))
    chmod = _hint(analysis, "metadata-only", first + 3)
    assert chmod.layer == first + 3 and chmod.paths == ("/usr/local/tomcat/lib",)
    assert chmod.bytes == sum(layers[first + 3].values())
    temp = _hint(analysis, "temp-files", first + 4)
    assert (temp.layer, temp.paths, temp.bytes) == (first + 4, ("/tmp",), layers[first + 4]["tmp/src.tar"])
    assert analysis.hints().fixable_bytes == sum(h.bytes for h in analysis.hints().hints)
