"""The user-wasted ratio when the layers above the first add no bytes: infinite when bytes are wasted (dive's
+Inf, which fails the rule), 0 when none are (dive's NaN, which passes it)."""

from __future__ import annotations

import math
import os
import re
import subprocess
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.analysis.values import user_wasted_ratio
from dive_py.load.image import LoadOptions
from tests.fixtures.dive_oracle import dive_binary
from tests.fixtures.images import M, file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import shared_image

WHITEOUT_IMAGE = ("external", "go-containerregistry", "pkg", "v1", "mutate", "testdata", "whiteout_image.tar")
"""go-containerregistry's test image: ``bar.txt`` and ``foo.txt`` (4 bytes each), then a layer whiting out
``foo.txt``, then an empty layer."""


def whiteout_only_layers() -> list[bytes]:
    """What ``whiteout_image.tar`` holds, built here: the layers above the first only delete."""
    return [
        layer_tar([folder("."), file("bar.txt", "bar\n", mode=0o555), file("foo.txt", "foo\n", mode=0o555)]),
        layer_tar([folder("."), M(".wh.foo.txt", mode=0o555)]),
        layer_tar([]),
    ]


def test_the_ratio():
    assert user_wasted_ratio(4, 8) == 0.5
    assert user_wasted_ratio(4, 0) == math.inf
    assert user_wasted_ratio(0, 0) == 0.0


def _check_infinite(analysis) -> None:  # noqa: ANN001
    assert (analysis.size_bytes, analysis.user_size_bytes, analysis.wasted_bytes) == (8, 0, 4)
    assert analysis.efficiency == 0.5
    assert analysis.user_wasted_ratio == math.inf


def test_bytes_wasted_above_a_layer_that_adds_none_is_infinite(tmp_path: Path):
    _check_infinite(load_analysis(str(write_docker_archive(tmp_path / "w.tar", whiteout_only_layers()))))


def test_whiteout_image_tar_is_infinite():
    _check_infinite(load_analysis(str(shared_image(*WHITEOUT_IMAGE))))


def test_nothing_wasted_and_no_user_bytes_is_zero(tmp_path: Path):
    layers = [layer_tar([file("a", "aaaa")]), layer_tar([folder("empty")])]
    analysis = load_analysis(str(write_docker_archive(tmp_path / "z.tar", layers)))
    assert (analysis.user_size_bytes, analysis.wasted_bytes, analysis.user_wasted_ratio) == (0, 0, 0.0)


def test_cached_figures_give_the_same_ratio(tmp_path: Path):
    """The ratio derives from the layers' sizes after the figures cache: a second load (cached figures) agrees."""
    path = str(write_docker_archive(tmp_path / "w.tar", whiteout_only_layers()))
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    _check_infinite(load_analysis(path, options))
    assert list((tmp_path / "cache").rglob("*")), "the figures were not cached"
    _check_infinite(load_analysis(path, options))


def _dive_ci(archive: Path, workdir: Path) -> tuple[int, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(workdir)}
    env.pop("CI", None)
    done = subprocess.run(
        [dive_binary(), "--ci", "--source", "docker-archive", str(archive)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)


@pytest.mark.parametrize("built", [True, False], ids=["built", "whiteout_image.tar"])
def test_dive_fails_the_rule_too(built: bool, tmp_path: Path):
    archive = (
        write_docker_archive(tmp_path / "w.tar", whiteout_only_layers()) if built else shared_image(*WHITEOUT_IMAGE)
    )
    code, out = _dive_ci(archive, tmp_path / "dive")
    assert code == 1
    assert "userWastedPercent: +Inf %" in out
    assert re.search(r"FAIL: highestUserWastedPercent: .*=\+Inf > threshold=0\.1", out)
    assert load_analysis(str(archive)).user_wasted_ratio == math.inf
