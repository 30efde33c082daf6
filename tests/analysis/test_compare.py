"""Comparing two images: shared layers, added/removed/modified/moved files, copies, sizes; ``divepy diff``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, compare, comparison_to_dict
from dive_py.analysis.from_reference import load_analysis
from dive_py.cli.main import main
from tests.fixtures.paths import EXAMPLE, child_env, shared_image
from tests.fixtures.stand_ins import built
from tests.fixtures.truncate import write_first_layers

WEBAPPS = "/usr/local/tomcat/webapps/"
DIST = "/usr/local/tomcat/webapps.dist/"


def _analyze(path: Path) -> Analysis:
    return load_analysis(str(path))


@pytest.fixture(scope="module")
def tomcat_pair(tmp_path_factory) -> tuple[Path, Path]:
    """tomcat02.tar and its parent tomcat:mini (its first four layers)."""
    new = EXAMPLE
    base = write_first_layers(new, tmp_path_factory.mktemp("tomcat") / "tomcat-mini.tar", 4)
    return base, new


@pytest.fixture(scope="module")
def edits() -> Path:
    return shared_image("corpus", "edits-mini.docker.tar")


@pytest.fixture(scope="module")
def edits_new(edits) -> Analysis:
    return _analyze(edits)


def _edits_base(edits: Path, tmp_path: Path, keep: int) -> Analysis:
    return _analyze(write_first_layers(edits, tmp_path / f"edits-{keep}.tar", keep))


def _files(comparison) -> dict[str, dict]:
    return {f["path"]: f for f in comparison_to_dict(comparison)["files"]}


def test_parent_archive_is_the_first_layers(tomcat_pair):
    base, new = (_analyze(p) for p in tomcat_pair)
    assert [layer.diff_id for layer in base.layers] == [layer.diff_id for layer in new.layers[:4]]
    assert len(base.layers) == 4
    assert base.image.tags == ["tomcat02:1.0-parent"]


def test_tomcat02_against_its_parent(tomcat_pair):
    base, new = (_analyze(p) for p in tomcat_pair)
    data = comparison_to_dict(compare(base, new))
    assert data["sharedLayers"] == 4
    summary = data["summary"]
    assert {k: summary[k] for k in ("added", "removed", "modified", "addedBytes", "removedBytes")} == {
        "added": 539,
        "removed": 0,
        "modified": 0,
        "addedBytes": 3_369_944,
        "removedBytes": 0,
    }
    assert summary["sizeDeltaBytes"] == 3_369_944
    assert summary["moved"] == 0 and summary["copies"] == 539
    files = data["files"]
    assert len(files) == 539
    assert all(f["path"].startswith(WEBAPPS) and f["change"] == "added" for f in files)
    assert sum(f["sizeBytes"] for f in files) == 3_369_944
    assert all(f["baseSizeBytes"] is None for f in files)
    # Each is a copy of the same file under webapps.dist/ (the `cp -r webapps.dist/* webapps/`).
    assert all(f["copyOf"] == DIST + f["path"].removeprefix(WEBAPPS) for f in files)
    assert [layer["shared"] for layer in data["new"]["layers"]] == [True] * 4 + [False]
    assert [f["path"] for f in data["topLevel"] if f["deltaBytes"]] == ["/usr"]
    # Folders are listed apart and never counted.
    assert data["folders"] and all(f["kind"] == "dir" for f in data["folders"])


def test_json_shape_has_the_issue_keys(tomcat_pair):
    data = comparison_to_dict(compare(*(_analyze(p) for p in tomcat_pair)))
    assert {"base", "new", "sharedLayers", "summary", "files"} <= data.keys()
    assert {"added", "removed", "modified", "addedBytes", "removedBytes", "sizeDeltaBytes"} <= data["summary"].keys()
    assert {"path", "change", "sizeBytes", "baseSizeBytes"} <= data["files"][0].keys()
    json.dumps(data)  # serialisable as is


def test_image_against_itself(edits):
    base, new = _analyze(edits), _analyze(edits)
    comparison = compare(base, new)
    data = comparison_to_dict(comparison)
    assert data["sharedLayers"] == len(new.layers) == 4
    assert data["files"] == [] and data["folders"] == []
    assert all(v == 0 for v in data["summary"].values())
    assert "/app/conf/version" not in {c.path for c in comparison.changes}


def test_reversed_direction_swaps_added_and_removed(tomcat_pair):
    base, new = (_analyze(p) for p in tomcat_pair)
    summary = comparison_to_dict(compare(new, base))["summary"]
    assert (summary["added"], summary["removed"], summary["removedBytes"]) == (0, 539, 3_369_944)
    assert summary["sizeDeltaBytes"] == -3_369_944


def test_edits_against_its_first_three_layers(edits, edits_new, tmp_path):
    comparison = compare(_edits_base(edits, tmp_path, 3), edits_new)
    assert comparison.shared_layers == 3
    files = _files(comparison)
    assert {p: f["change"] for p, f in files.items()} == {
        "/app/conf/license.txt": "modified",  # `cat ... >> license.txt`
        "/app/data/gone/decoder.py": "added",  # a new file where a folder was deleted earlier
        "/app/data/keep/cookies.py": "removed",  # `rm -rf /app/data/keep`
        "/app/data/keep/cookies-hl.py": "removed",
    }
    license_txt = files["/app/conf/license.txt"]
    assert (license_txt["baseSizeBytes"], license_txt["sizeBytes"], license_txt["deltaBytes"]) == (17200, 31220, 14020)
    assert license_txt["changed"] == ["hash", "size"]
    summary = comparison_to_dict(comparison)["summary"]
    assert (summary["added"], summary["removed"], summary["modified"]) == (1, 2, 1)
    assert summary["addedBytes"] - summary["removedBytes"] + summary["modifiedDeltaBytes"] == summary["sizeDeltaBytes"]
    assert _change_of(comparison, "/app/data/keep") == Change.REMOVED  # the folder, for a diff view


def test_edits_against_its_first_two_layers(edits, edits_new, tmp_path):
    comparison = compare(_edits_base(edits, tmp_path, 2), edits_new)
    assert comparison.shared_layers == 2
    files = _files(comparison)
    changed = {p: f.get("changed") for p, f in files.items() if f["change"] == "modified"}
    assert changed["/app/lib/scanner.py"] == ["mode"]  # chmod 600
    assert changed["/app/lib/__init__.py"] == ["uid", "gid"]  # chown 65534:65534
    assert changed["/app/data/lib-dirlink"] == ["link"]  # ln -sfn /app/conf
    assert changed["/app/conf/version"] == ["hash"]  # v1 -> v2, same size
    assert "kind" in changed["/app/tobefile"] and "kind" in changed["/app/tobedir"]  # folder <-> file
    assert "/app/lib/decoder.py" not in files  # only its mtime changed (touch -d)
    moved = files["/app/data/opaque/tool.py"]
    assert moved["change"] == "moved" and moved["movedFrom"] == "/app/lib/tool.py"
    assert "/app/lib/tool.py" not in files  # the move is one change, not a removal too
    assert files["/app/data/opaque/charset.py"]["change"] == "removed"  # the opaque folder hid it
    assert files["/app/tobedir/x"]["change"] == "added"
    assert files["/app/tobefile/inner"]["change"] == "removed"
    summary = comparison_to_dict(comparison)["summary"]
    assert (summary["added"], summary["removed"], summary["modified"], summary["moved"]) == (1, 6, 8, 1)
    assert summary["addedBytes"] - summary["removedBytes"] + summary["modifiedDeltaBytes"] == summary["sizeDeltaBytes"]


def test_edits_against_its_first_layer_finds_moves(edits, edits_new, tmp_path):
    comparison = compare(_edits_base(edits, tmp_path, 1), edits_new)
    assert comparison.shared_layers == 1
    moves = {c.path: c.moved_from for c in comparison.of(Change.MOVED)}
    assert moves == {
        "/app/data/opaque/tool.py": "/app/lib/tool.py",
        "/app/lib/encoder-hardlink.py": "/app/lib/encoder.py",  # the link survived its first name
    }
    assert not comparison.of(Change.REMOVED)
    symlinks = {c.path for c in comparison.of(Change.ADDED) if c.new is not None and c.new.kind == "l"}
    assert symlinks == {"/app/data/dangling", "/app/data/lib-dirlink", "/app/data/version-abslink"}


def test_different_images_share_no_layers(tomcat_pair, edits_new):
    comparison = compare(_analyze(tomcat_pair[1]), edits_new)
    assert comparison.shared_layers == 0


# -- divepy diff ---------------------------------------------------------------------------------------------------
def test_diff_json_to_a_file(tomcat_pair, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    base, new = tomcat_pair
    assert main(["diff", str(base), str(new), "--json", "out.json"]) == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["sharedLayers"] == 4 and data["summary"]["added"] == 539
    assert capsys.readouterr().out == ""  # --json replaces the summary, as for one image


def test_diff_json_to_stdout(tomcat_pair, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["diff", str(tomcat_pair[0]), str(tomcat_pair[1]), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["addedBytes"] == 3_369_944


def test_diff_text_summary(tomcat_pair, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["diff", str(tomcat_pair[0]), str(tomcat_pair[1])]) == 0
    out = capsys.readouterr().out
    assert "Shared layers: 4" in out
    assert "added         539     3.4 MB" in out
    assert "539 added files are copies" in out
    assert "/usr/local/tomcat/webapps/docs/manager-howto.html  (copy of " in out


def test_diff_errors_exit_2(tomcat_pair, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["diff", str(tomcat_pair[0])]) == 2
    assert main(["diff", str(tomcat_pair[0]), str(tmp_path / "missing.tar"), "--source", "docker-archive"]) == 2
    assert main(["diff", str(tomcat_pair[0]), str(tomcat_pair[1]), "--json", str(tmp_path / "no" / "x")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("divepy: error:") == 3


def test_diff_json_never_imports_textual(tomcat_pair, tmp_path):
    code = (
        "import sys; from dive_py.cli.main import main; "
        f"rc = main(['diff', {str(tomcat_pair[0])!r}, {str(tomcat_pair[1])!r}, '--json', 'o.json']); "
        "assert rc == 0 and 'textual' not in sys.modules, rc"
    )
    env = child_env()
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
    assert json.loads((tmp_path / "o.json").read_text())["sharedLayers"] == 4


def test_same_image_in_two_layouts_is_unchanged():
    docker = _analyze(EXAMPLE)
    oci = _analyze(built("tomcat02.oci-gzip.tar"))
    comparison = compare(docker, oci)
    assert comparison.shared_layers == 5  # by diff_id: gzip changes the blob digest, not the layer
    assert comparison.changes == [] and comparison.size_delta_bytes == 0


def _change_of(comparison, path: str) -> Change | None:  # noqa: ANN001
    return next((c.change for c in comparison.changes if c.path == path), None)
