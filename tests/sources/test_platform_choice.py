"""Issue 24 item 6: ``--platform`` is never ignored silently.

A single-platform image for another platform is refused (exit 2, one line naming the image's platform);
an OCI index entry without a platform is matched by its config's; ``--ci`` and ``--json`` say which platform
was analysed; an ambiguity offers every name that works.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest

from dive_py.cli.main import main
from dive_py.errors import ImageSelectionError
from dive_py.load.image import LoadOptions, load_image
from tests.fixtures.images import (
    file,
    image_config,
    layer_tar,
    oci_blobs,
    sha256,
    write_docker_archive,
    write_oci_archive,
)
from tests.fixtures.paths import EXAMPLE
from tests.fixtures.piped import load_piped

LAYER = layer_tar([file("etc/os-release", "ID=test\n")])
REF = "org.opencontainers.image.ref.name"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _refused_for(err: str, have: str, wanted: str) -> None:
    """One line: the image's platform and the wanted one, no traceback."""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"the image is for {have}; --platform asks for {wanted}" in err, err


@pytest.mark.parametrize("wanted", ["linux/arm64", "windows/amd64", "linux/arm"])
def test_the_seed_is_refused_for_another_platform(wanted: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([str(EXAMPLE), "--ci", "--no-cache", "--platform", wanted], capsys)
    assert code == 2 and out == ""
    _refused_for(err, "linux/amd64", wanted)


def test_the_seeds_own_platform_is_analysed_and_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "out.json"
    argv = [str(EXAMPLE), "--ci", "--no-cache", "--platform", "linux/amd64", "--json", str(out_json)]
    code, out, _err = _run(argv, capsys)
    assert code == 0
    assert out.splitlines()[0] == "Platform: linux/amd64"
    assert json.loads(out_json.read_text())["image"]["platform"] == "linux/amd64"


def test_an_arm64_image_says_so_and_is_refused_as_amd64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {**image_config([LAYER]), "architecture": "arm64", "variant": "v8"}
    path = write_docker_archive(tmp_path / "arm.tar", [LAYER], config=config)
    code, out, _err = _run([str(path), "--ci", "--no-cache", "--platform", "linux/arm64"], capsys)
    assert code == 0 and out.splitlines()[0] == "Platform: linux/arm64/v8"
    code, _out, err = _run([str(path), "--ci", "--no-cache", "--platform", "linux/amd64"], capsys)
    assert code == 2
    _refused_for(err, "linux/arm64/v8", "linux/amd64")


def test_a_config_naming_no_platform_is_shown_as_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {k: v for k, v in image_config([LAYER]).items() if k not in ("os", "architecture")}
    path = write_docker_archive(tmp_path / "none.tar", [LAYER], config=config)
    out_json = tmp_path / "out.json"
    code, out, _err = _run(
        [str(path), "--ci", "--no-cache", "--platform", "linux/arm64", "--json", str(out_json)], capsys
    )
    assert code == 0  # nothing says it is not arm64
    assert out.splitlines()[0] == "Platform: unknown (the image config names none)"
    assert json.loads(out_json.read_text())["image"]["platform"] is None


def test_a_hostile_platform_is_shown_as_plain_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {**image_config([LAYER]), "architecture": "\x1b[31mred[/]"}
    path = write_docker_archive(tmp_path / "hostile.tar", [LAYER], config=config)
    code, out, _err = _run([str(path), "--ci", "--no-cache"], capsys)
    assert code == 0 and out.splitlines()[0] == "Platform: linux/?"


def test_an_oci_entry_without_a_platform_is_matched_by_its_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_oci_archive(tmp_path / "oci.tar", [LAYER])  # index.json's entry has no platform
    assert "platform" not in json.dumps(json.loads(tarfile.open(path).extractfile("index.json").read()))
    image = load_image(str(path), LoadOptions(platform="linux/amd64", use_cache=False))
    assert len(image.layers) == 1
    with pytest.raises(ImageSelectionError, match=r"no image for platform linux/arm64 \(choices: linux/amd64\)"):
        load_image(str(path), LoadOptions(platform="linux/arm64", use_cache=False))


def test_a_stream_is_refused_for_another_platform() -> None:
    data = gzip.compress(EXAMPLE.read_bytes(), 1)
    with pytest.raises(ImageSelectionError, match="the image is for linux/amd64; --platform asks for linux/s390x"):
        load_piped(data, LoadOptions(platform="linux/s390x", use_cache=False))


def _index_entry(digest: str, size: int, tag: str, media: str) -> dict:
    return {
        "mediaType": media,
        "digest": digest,
        "size": size,
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }


def _layout_with_nested_tags(root: Path) -> Path:
    """go-containerregistry's ``test_index`` shape: image A tagged 1, an index tagged 3 holding A (tagged 1),
    an index tagged 4 holding A (tagged 4), and image B tagged 2."""
    blobs, index_a = oci_blobs([LAYER], tag="1")
    blobs_b, index_b = oci_blobs([layer_tar([file("b", "other")])], tag="2")
    blobs.update(blobs_b)
    entry_a, entry_b = index_a["manifests"][0], index_b["manifests"][0]
    manifests = [entry_a, entry_b]
    oci_index = "application/vnd.oci.image.index.v1+json"
    for outer, inner in (("3", "1"), ("4", "4")):
        nested = json.dumps({"schemaVersion": 2, "manifests": [{**entry_a, "annotations": {REF: inner}}]}).encode()
        blobs[f"blobs/sha256/{sha256(nested)[7:]}"] = nested
        manifests.append(_index_entry(sha256(nested), len(nested), outer, oci_index))
    for name, data in {**blobs, "oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return root


def test_every_name_that_works_is_offered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = _layout_with_nested_tags(tmp_path / "layout")
    code, _out, err = _run(["--ci", "--no-cache", str(layout)], capsys)
    assert code == 2
    listed = err[err.index("(") + 1 : err.rindex(")")].split("; ")
    assert sorted(listed) == ["1, 3, 4", "2"], err
    for choice in listed:
        for name in choice.split(", "):
            code, _out, err = _run(["--ci", "--no-cache", f"{layout}:{name}"], capsys)
            assert code == 0, err


def test_an_index_entrys_platform_is_trusted_over_the_config(tmp_path: Path) -> None:
    """As ``docker pull``: the entry chose the image; its config (amd64 in these fixtures) is not asked again."""
    blobs, index = oci_blobs([LAYER])
    index["manifests"][0]["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    root = tmp_path / "layout"
    for name, data in {**blobs, "oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "index.json").write_text(json.dumps(index))
    assert load_image(str(root), LoadOptions(platform="linux/arm64", use_cache=False)).platform == "linux/arm64/v8"
    assert load_image(str(root), LoadOptions(use_cache=False)).platform == "linux/arm64/v8"
    with pytest.raises(ImageSelectionError, match="no image for platform linux/amd64"):
        load_image(str(root), LoadOptions(platform="linux/amd64", use_cache=False))
