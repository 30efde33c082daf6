"""The stand-ins built in code (tests/fixtures/stand_ins.py) give the figures of the real archives they
stand in for, so the tests that use them check what they would check on ../shared's archives."""

from __future__ import annotations

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.load.image import LoadOptions
from tests.fixtures.paths import EXAMPLE, shared_image
from tests.fixtures.stand_ins import built
from tests.services import assert_same_analysis


def _figures(analysis) -> dict:  # noqa: ANN001
    """Everything dive reports, and the final tree, but no digests (the stand-in's contents are made up)."""
    top = len(analysis.layers) - 1
    return {
        "efficiency": analysis.efficiency,
        "size": analysis.size_bytes,
        "user size": analysis.user_size_bytes,
        "wasted": analysis.wasted_bytes,
        "user wasted": analysis.user_wasted_ratio,
        "inefficient": analysis.inefficiencies,
        "layers": [(layer.size_bytes, layer.command) for layer in analysis.layers],
        "final": sorted(
            (_applet(n.path, e.kind), e.kind, e.size, e.mode, e.uid, e.gid) for n, e in analysis.tree.live_nodes(top)
        ),
    }


def _applet(path: str, kind: str) -> str:
    """busybox's applets (hardlinks in /bin) are ``applet-NNN`` in the stand-in: compare them by count."""
    return "bin/<applet>" if kind == "h" and path.startswith("bin/") else path


def test_dive_test_image_stand_in_has_dives_figures() -> None:
    """The figures dive 0.13.1 reports for its test image (../shared/images/README.md)."""
    analysis = load_analysis(str(built("test-docker-image.tar")), LoadOptions(use_cache=False))
    assert analysis.efficiency == 0.9844212134184309
    assert (analysis.size_bytes, analysis.user_size_bytes, analysis.wasted_bytes) == (1220598, 66237, 32025)
    assert analysis.user_wasted_ratio == 0.4834911001404049
    assert [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies] == [
        ("/root/saved.txt", 2, 12810),
        ("/root/example/somefile1.txt", 2, 12810),
        ("/root/example/somefile3.txt", 2, 6405),
    ]
    assert len(analysis.layers) == 14


def test_dive_test_image_stand_in_matches_the_real_archive() -> None:
    real = load_analysis(str(shared_image("dive", "test-docker-image.tar")), LoadOptions(use_cache=False))
    stand_in = load_analysis(str(built("test-docker-image.tar")), LoadOptions(use_cache=False))
    assert _figures(stand_in) == _figures(real)


@pytest.mark.parametrize("name", ["test-docker-image.docker25.tar", "test-docker-image.oci-zstd.tar"])
def test_dive_test_image_in_other_layouts(name: str) -> None:
    assert_same_analysis(load_analysis(str(built(name))), load_analysis(str(built("test-docker-image.tar"))))


def test_oci_gzip_copy_of_the_example_is_the_same_image() -> None:
    oci = load_analysis(str(built("tomcat02.oci-gzip.tar")))
    assert oci.image.source == "oci"
    assert_same_analysis(oci, load_analysis(str(EXAMPLE)))


def test_oci_gzip_copy_of_the_example_matches_skopeos() -> None:
    real = load_analysis(str(shared_image("seed", "tomcat02.oci-gzip.tar")))
    assert_same_analysis(load_analysis(str(built("tomcat02.oci-gzip.tar"))), real)
