"""Pinned figures on the real shared archives (dive's own test images, the seed, the corpus)."""

from __future__ import annotations

import pytest

from dive_py.analysis.from_reference import load_analysis
from tests.fixtures.paths import EXAMPLE, IMAGES, shared_image
from tests.fixtures.stand_ins import image_file

TOMCAT_INEFFICIENT = [
    (2, 48110, "/usr/local/tomcat/bin/catalina.sh"),
    (2, 16638, "/usr/local/tomcat/bin/daemon.sh"),
    (2, 9200, "/usr/local/tomcat/bin/tool-wrapper.sh"),
    (2, 7882, "/usr/local/tomcat/bin/setclasspath.sh"),
    (2, 6764, "/usr/local/tomcat/bin/makebase.sh"),
    (2, 3994, "/usr/local/tomcat/bin/ciphers.sh"),
    (2, 3940, "/usr/local/tomcat/bin/migrate.sh"),
    (2, 3930, "/usr/local/tomcat/bin/digest.sh"),
    (2, 3844, "/usr/local/tomcat/bin/configtest.sh"),
    (2, 3816, "/usr/local/tomcat/bin/version.sh"),
    (2, 3808, "/usr/local/tomcat/bin/startup.sh"),
    (2, 3804, "/usr/local/tomcat/bin/shutdown.sh"),
    (2, 742, "/etc/passwd"),
    (2, 347, "/etc/group"),
    (2, 0, "/usr/local/tomcat/logs"),
    (2, 0, "/usr/local/tomcat/temp"),
    (2, 0, "/usr/local/tomcat/work"),
]
"""dive 0.13.1's list for tomcat02.tar (../shared/images/seed/README.md), in dive's order."""


def _inefficient(analysis):
    return [(i.count, i.cumulative_bytes, i.path) for i in analysis.inefficiencies]


def test_dive_test_image_matches_dive_exactly():
    analysis = load_analysis(str(shared_image("dive", "test-docker-image.tar")))
    assert analysis.efficiency == 0.9844212134184309
    assert analysis.size_bytes == 1220598
    assert analysis.user_size_bytes == 66237
    assert analysis.wasted_bytes == 32025
    assert analysis.user_wasted_ratio == 0.4834911001404049
    assert _inefficient(analysis) == [
        (2, 12810, "/root/saved.txt"),
        (2, 12810, "/root/example/somefile1.txt"),
        (2, 6405, "/root/example/somefile3.txt"),
    ]
    assert len(analysis.layers) == 14


def test_kaniko_tarball_with_gzip_layers():
    analysis = load_analysis(str(shared_image("dive", "test-kaniko-image.tar")))
    assert f"{analysis.efficiency * 100:.4f}" == "97.9369"
    assert analysis.wasted_bytes == 46245
    assert analysis.layers[0].id.endswith(".tar.gz")  # dive's id: the layer's file name


@pytest.mark.parametrize("name", ["uncompressed", "gzip", "zstd", "estargz"])
def test_single_layer_oci_archives_report_zero_not_nan(name):
    analysis = load_analysis(str(shared_image("dive", f"test-oci-{name}-image.tar")))
    assert analysis.efficiency == 1.0
    assert analysis.wasted_bytes == 0
    assert analysis.user_size_bytes == 0
    assert analysis.user_wasted_ratio == 0.0  # dive: NaN
    assert analysis.image.source == "oci"


@pytest.mark.parametrize("archive", ["seed/tomcat02.tar", "seed/tomcat02.oci-gzip.tar"])
def test_tomcat02_matches_dive(archive):
    analysis = load_analysis(str(image_file(archive)))  # the bundled example, and its OCI copy built in code
    assert analysis.efficiency == 0.9939581742497362
    assert analysis.size_bytes == 9673897
    assert analysis.user_size_bytes == 7690858  # layers in manifest order (dive's OCI order is random)
    assert analysis.wasted_bytes == 116819
    assert _inefficient(analysis) == TOMCAT_INEFFICIENT
    assert [layer.size_bytes for layer in analysis.layers] == [1983039, 0, 4262466, 58448, 3369944]


def test_tomcat02_commit_layer_is_all_duplicate_content():
    analysis = load_analysis(str(EXAMPLE))
    commit = analysis.layers[4]
    assert commit.command == "sleep 1000"
    assert commit.comment == "edit webapps dir" and commit.author == "xiao"
    webapps = analysis.tree.get("usr/local/tomcat/webapps")
    added = [n for n in analysis.tree.walk(webapps) if n.state(4) and n.state(4).kind == "f"]
    assert len(added) == 539
    assert sum(n.state(4).size for n in added) == 3369944
    dist = {
        n.path.split("webapps.dist/", 1)[1]: n.state(4).hash
        for n in analysis.tree.walk(analysis.tree.get("usr/local/tomcat/webapps.dist"))
        if n.state(4).kind == "f"
    }
    for node in added:
        assert dist[node.path.split("webapps/", 1)[1]] == node.state(4).hash
    # dive scores none of this as waste; the duplicate-content figure does.
    assert analysis.walk().duplicate_content_bytes >= 3369944
    assert analysis.layers[0].command.startswith("#(nop) ADD file:b4f9a16e")
    assert analysis.layers[0].short_command.startswith("ADD file:b4f9a16e")


def _signature(analysis):
    """What must not depend on the archive layout."""
    return {
        "efficiency": analysis.efficiency,
        "size": analysis.size_bytes,
        "user": analysis.user_size_bytes,
        "wasted": analysis.wasted_bytes,
        "inefficient": _inefficient(analysis),
        "reclaimable": analysis.walk().reclaimable_bytes,
        "duplicate": analysis.walk().duplicate_content_bytes,
        "layers": [(layer.size_bytes, layer.command, layer.diff_id) for layer in analysis.layers],
        "final": sorted(
            (node.path, e.kind, e.size, e.mode, e.uid, e.gid, e.link, e.hash)
            for node, e in analysis.tree.live_nodes(len(analysis.layers) - 1)
        ),
    }


CORPUS = sorted(p.name for p in (IMAGES / "corpus").glob("*.tar")) if (IMAGES / "corpus").exists() else []


CORPUS_BUILDS = sorted({name.split(".")[0] for name in CORPUS}) or [
    pytest.param("edits", marks=pytest.mark.skip(reason="needs ../shared/images/corpus (real tools' builds)"))
]


@pytest.mark.parametrize("build", CORPUS_BUILDS)
def test_every_layout_of_one_build_gives_the_same_analysis(build):
    archives = [name for name in CORPUS if name.split(".")[0] == build]
    signatures = {name: _signature(load_analysis(str(IMAGES / "corpus" / name))) for name in archives}
    first = next(iter(signatures.values()))
    for name, signature in signatures.items():
        assert signature == first, name


def test_umoci_layer_without_end_blocks_is_read_with_a_warning():
    analysis = load_analysis(str(shared_image("corpus", "edits-umoci.docker.tar")))
    assert any("end-of-archive" in w for w in analysis.warnings)
    assert len(analysis.layers) == 4
