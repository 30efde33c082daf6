"""``--json``: whiteout entries carry their tar member's mode, uid and gid as dive writes them, and an
infinite user-wasted ratio is written as the largest finite double (JSON has no Infinity)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from dive_py.reports.export import JSON_MAX, analysis_to_dict, json_number
from tests.fixtures.dive_oracle import run_dive_json
from tests.fixtures.images import M, file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import shared_image

WHITEOUT_IMAGE = ("external", "go-containerregistry", "pkg", "v1", "mutate", "testdata", "whiteout_image.tar")

BUILT_WHITEOUTS = [
    {"path": ".wh.foo.txt", "fileMode": 0o555, "uid": 0, "gid": 0},
    {"path": "etc/.wh.conf", "fileMode": (1 << 23) | 0o640, "uid": 1000, "gid": 100},  # Go's ModeSetuid
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bytes only in the first layer; the second deletes two of its files (one whiteout setuid, owned)."""
    layers = [
        layer_tar([
            folder("."), file("bar.txt", "bar\n", mode=0o555), file("foo.txt", "foo\n", mode=0o555),
            folder("etc"), file("etc/conf", "abc"),
        ]),
        layer_tar([folder("."), M(".wh.foo.txt", mode=0o555), M("etc/.wh.conf", mode=0o4640, uid=1000, gid=100)]),
        layer_tar([]),
    ]  # fmt: skip
    return write_docker_archive(tmp_path_factory.mktemp("wh") / "w.tar", layers)


def _whiteouts(export: dict) -> list[dict]:
    """The whiteout entries of every layer, with the fields dive writes too."""
    keys = ("path", "typeFlag", "linkName", "size", "fileMode", "uid", "gid", "isDir")
    return [
        {"layer": layer["index"], **{key: entry[key] for key in keys}}
        for layer in export["layer"]
        for entry in layer["fileList"]
        if entry["path"].rpartition("/")[2].startswith(".wh.")
    ]


def test_json_number():
    assert json_number(float("inf")) == JSON_MAX == sys.float_info.max == 1.7976931348623157e308
    assert json_number(float("-inf")) == -JSON_MAX
    assert json_number(0.25) == 0.25


def test_whiteout_entries_keep_their_header(archive: Path):
    entries = _whiteouts(analysis_to_dict(load_analysis(str(archive))))
    assert [{k: e[k] for k in ("path", "fileMode", "uid", "gid")} for e in entries] == BUILT_WHITEOUTS
    assert all(e["typeFlag"] == ord("0") and e["size"] == 0 and e["layer"] == 1 for e in entries)


def test_whiteout_image_tar_entry():
    entries = _whiteouts(analysis_to_dict(load_analysis(str(shared_image(*WHITEOUT_IMAGE)))))
    assert entries == [
        {"layer": 1, "path": ".wh.foo.txt", "typeFlag": 48, "linkName": "", "size": 0, "fileMode": 365, "uid": 0,
         "gid": 0, "isDir": False},
    ]  # fmt: skip


def _strict(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_infinite_ratio_is_the_largest_double(archive: Path, tmp_path: Path):
    out = tmp_path / "out.json"
    assert main(["--json", str(out), str(archive)]) == 0
    text = out.read_text()
    assert '"userWastedPercent": 1.7976931348623157e+308,' in text
    image = _strict(text)["image"]
    assert image["userWastedPercent"] == sys.float_info.max > 1
    assert (image["userSizeBytes"], image["inefficientBytes"]) == (0, 7)


def test_no_waste_and_no_user_bytes_stays_zero(tmp_path: Path):
    path = write_docker_archive(tmp_path / "z.tar", [layer_tar([file("a", "aaaa")]), layer_tar([folder("e")])])
    assert analysis_to_dict(load_analysis(str(path)))["image"]["userWastedPercent"] == 0.0


@pytest.mark.parametrize("built", [True, False], ids=["built", "whiteout_image.tar"])
def test_whiteout_entries_match_dive(archive: Path, built: bool, tmp_path: Path):
    path = archive if built else shared_image(*WHITEOUT_IMAGE)
    dive = run_dive_json(path, tmp_path)
    ours = analysis_to_dict(load_analysis(str(path)))
    assert _whiteouts(ours) == _whiteouts(dive)
    for key in ("sizeBytes", "inefficientBytes", "efficiencyScore", "fileReference"):
        assert ours["image"][key] == dive["image"][key], key
