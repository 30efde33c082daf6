"""Edge cases of layer tars, whiteouts and stacking, on archives built in the test."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.errors import ImageSelectionError
from dive_py.load.image import LoadOptions, load_image
from dive_py.sources.platforms import default_platform
from tests.fixtures.images import (
    M,
    file,
    folder,
    layer_tar,
    opaque,
    tree_listing,
    whiteout,
    write_docker_archive,
    write_oci_archive,
    write_oci_folder,
)


def _analyse(tmp_path, layers, **kw):
    path = write_docker_archive(tmp_path / "image.tar", [layer_tar(members) for members in layers], **kw)
    return load_analysis(str(path))


def test_pax_global_header_applies_to_every_member(tmp_path):
    layer = layer_tar([file("a.txt", "x"), file("b.txt", "yy")], pax_global={"uid": "4242", "comment": "hi"})
    analysis = load_analysis(str(write_docker_archive(tmp_path / "i.tar", [layer])))
    entries = analysis.layers[0].scan.entries
    assert {e.uid for e in entries.values()} == {4242}


def test_gnu_long_names_links_and_base256_numbers(tmp_path):
    long_dir = "d" * 120
    long_name = f"{long_dir}/{'f' * 150}.txt"
    members = [
        folder(long_dir),
        file(long_name, "content", uid=10**9),
        M(f"{long_dir}/link", "symlink", link="/" + "t" * 200),
    ]
    layer = layer_tar(members, fmt=tarfile.GNU_FORMAT)
    analysis = load_analysis(str(write_docker_archive(tmp_path / "i.tar", [layer])))
    entries = analysis.layers[0].scan.entries
    assert entries[long_name].uid == 10**9  # GNU writes this uid in base-256
    assert entries[f"{long_dir}/link"].link == "/" + "t" * 200
    assert entries[long_name].size == 7


def test_hard_links_share_their_target_content_and_weigh_nothing(tmp_path):
    busybox = [file("bin/busybox", b"\x7fELF" * 100), M("bin/ls", "hardlink", link="bin/busybox")]
    analysis = _analyse(tmp_path, [busybox])
    entries = analysis.layers[0].scan.entries
    assert entries["bin/ls"].kind == "h" and entries["bin/ls"].size == 0
    assert entries["bin/ls"].hash == entries["bin/busybox"].hash != 0
    assert analysis.size_bytes == 400


def test_same_path_twice_in_one_layer_last_wins(tmp_path):
    analysis = _analyse(tmp_path, [[file("etc/motd", "first version"), file("etc/motd", "second")]])
    assert tree_listing(analysis)["etc/motd"][1] == len("second")
    assert analysis.size_bytes == len("first version") + len("second")  # dive counts both members


def test_implied_folders_dot_slash_and_absolute_names(tmp_path):
    analysis = _analyse(tmp_path, [[file("./a/b/c.txt", "c"), file("/abs/x", "x")]])
    listing = tree_listing(analysis)
    assert listing["a"][0] == "d" and listing["a/b"][0] == "d"
    assert set(listing) == {"a", "a/b", "a/b/c.txt", "abs", "abs/x"}


def test_layer_tar_without_end_blocks_is_read_with_a_warning(tmp_path):
    layer = layer_tar([file("a", "1"), file("b", "22")], terminate=False)
    analysis = load_analysis(str(write_docker_archive(tmp_path / "i.tar", [layer])))
    assert set(tree_listing(analysis)) == {"a", "b"}
    assert any("end-of-archive" in w for w in analysis.warnings)


LOWER = [folder("d"), file("d/x", b"x" * 100), file("d/y", b"y" * 50), folder("d/sub"), file("d/sub/z", b"z" * 30)]


def test_whiteout_of_a_folder_weighs_its_subtree(tmp_path):
    # /d was no leaf below (it had files), so dive sees one visit of /d weighing 180: no waste.
    analysis = _analyse(tmp_path, [LOWER, [whiteout("d")]])
    assert "d" not in tree_listing(analysis)
    assert analysis.inefficiencies == () and analysis.efficiency == 1.0
    assert analysis.walk().reclaimable_bytes == 180  # what dive misses, squashing would save

    # An empty folder below is a leaf: deleting it is a second visit weighing its (0) bytes.
    analysis = _analyse(tmp_path, [[folder("e"), file("f", b"f" * 10)], [whiteout("e"), file("f", b"g" * 10)]])
    assert [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies] == [("/f", 2, 20), ("/e", 2, 0)]


def test_whiteout_of_a_file_weighs_nothing(tmp_path):
    analysis = _analyse(tmp_path, [LOWER, [whiteout("d/x")]])
    assert "d/x" not in tree_listing(analysis)
    assert analysis.wasted_bytes == 100  # dive: the first copy (100) + the whiteout (0)


def test_opaque_folder_hides_lower_entries_and_counts_like_their_whiteouts(tmp_path):
    analysis = _analyse(tmp_path, [LOWER, [folder("d"), opaque("d"), file("d/y", b"Y" * 10)]])
    listing = tree_listing(analysis)
    assert {p for p in listing if p.startswith("d")} == {"d", "d/y"}
    assert listing["d/y"][1] == 10
    found = {i.path: (i.count, i.cumulative_bytes) for i in analysis.inefficiencies}
    # d/x: whiteout of a file (0); d/sub: one visit (no leaf below), weighing 30; d/y rewritten: 50 + 10
    assert found == {"/d/x": (2, 100), "/d/y": (2, 60)}
    # minimum per path: d/x 0 (its whiteout), d/y 10, d/sub/z 30, d/sub 30
    assert analysis.efficiency == (0 + 10 + 30 + 30) / (100 + 60 + 30 + 30)


def test_opaque_marker_at_the_root_empties_everything_below(tmp_path):
    analysis = _analyse(tmp_path, [LOWER, [opaque(""), file("new", "n")]])
    assert set(tree_listing(analysis)) == {"new"}


def test_whiteout_of_a_missing_path_weighs_zero_and_does_not_stop_the_layer(tmp_path):
    """dive leaks -1 into its sums and skips the rest of the layer; we count 0 and go on."""
    analysis = _analyse(tmp_path, [[file("a.txt", b"a" * 100)], [whiteout("nothere"), file("a.txt", b"b" * 100)]])
    assert [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies] == [("/a.txt", 2, 200)]
    assert analysis.efficiency == 100 / 200
    assert any("do not exist below" in w for w in analysis.warnings)


def test_file_replacing_a_folder_removes_its_contents(tmp_path):
    analysis = _analyse(tmp_path, [LOWER, [file("d", "now a file")]])
    listing = tree_listing(analysis)
    assert listing["d"][0] == "f"
    assert not any(p.startswith("d/") for p in listing)
    node = analysis.tree.get("d/x")
    assert node.state(0) is not None and node.state(1) is None


def test_folder_replacing_a_file(tmp_path):
    analysis = _analyse(tmp_path, [[file("p", "file")], [whiteout("p"), folder("p"), file("p/q", "q")]])
    listing = tree_listing(analysis)
    assert listing["p"][0] == "d" and "p/q" in listing


def test_layer_diff_states_across_layers(tmp_path):
    analysis = _analyse(tmp_path, [LOWER, [file("d/x", b"X" * 100), whiteout("d/y"), file("d/new", "n")]])
    tree = analysis.tree
    assert 1 in tree.get("d/x").flat[0::2] and not tree.get("d/x").state(1).same_as(tree.get("d/x").state(0))
    assert tree.get("d/y").state(0) is not None and tree.get("d/y").state(1) is None
    assert tree.get("d/new").state(0) is None and tree.get("d/new").state(1) is not None
    assert 1 not in tree.get("d/sub/z").flat[0::2]  # layer 1 wrote nothing there
    assert analysis.walk().layer_shadowed_bytes == (150, 0)


def test_chmod_only_change_is_a_modification(tmp_path):
    analysis = _analyse(tmp_path, [[file("s.sh", "echo", mode=0o644)], [file("s.sh", "echo", mode=0o755)]])
    node = analysis.tree.get("s.sh")
    assert node.state(0).hash == node.state(1).hash and not node.state(1).same_as(node.state(0))


def test_symlinked_layer_member_is_followed_not_read_as_empty(tmp_path):
    layer = layer_tar([file("etc/hostname", "box")])
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [
        "sha256:" + __import__("hashlib").sha256(layer).hexdigest()] * 2},
        "history": [{"created_by": "a"}, {"created_by": "b"}]}).encode()  # fmt: skip
    path = tmp_path / "linked.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in [("real/layer.tar", layer), ("cfg.json", config)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("second/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../real/layer.tar"
        tar.addfile(link)
        manifest = json.dumps([{"Config": "cfg.json", "Layers": ["real/layer.tar", "second/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    analysis = load_analysis(str(path))
    assert [len(layer.scan.entries) for layer in analysis.layers] == [1, 1]
    assert analysis.wasted_bytes == 6


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_oci_archive_and_folder_give_the_docker_archive_analysis(tmp_path, compression):
    layers = [layer_tar(LOWER), layer_tar([whiteout("d/sub"), file("d/x", b"X" * 100)])]
    docker = load_analysis(str(write_docker_archive(tmp_path / "d.tar", layers)))
    oci = load_analysis(str(write_oci_archive(tmp_path / "o.tar", layers, compression=compression)))
    (tmp_path / "layout").mkdir()
    folder_ = load_analysis(f"oci://{write_oci_folder(tmp_path / 'layout', layers, compression=compression)}")
    for other in (oci, folder_):
        assert other.efficiency == docker.efficiency
        assert other.wasted_bytes == docker.wasted_bytes
        assert tree_listing(other) == tree_listing(docker)


def test_several_images_need_a_tag(tmp_path):
    layer = layer_tar([file("a", "1")])
    path = write_docker_archive(tmp_path / "one.tar", [layer], tags=["one:1"])
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.name != "manifest.json"]
    manifest.append({**manifest[0], "RepoTags": ["two:2"]})
    manifest.append({**manifest[0], "Config": _copy_config(members, tmp_path), "RepoTags": ["three:3"]})
    both = tmp_path / "both.tar"
    with tarfile.open(both, "w") as tar:
        for m, data in members:
            tar.addfile(m, io.BytesIO(data))
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ImageSelectionError, match="holds 2 images.*one:1, two:2; three:3"):
        load_image(str(both))  # one:1 and two:2 are the same image (the same config): one choice, two names
    assert load_image(str(both), LoadOptions(tag="three:3")).tags == ["three:3"]
    assert load_image(f"{both}:one:1").tags == ["one:1"]
    assert load_image(f"{both}:two:2").tags == ["two:2"]


def _copy_config(members: list, tmp_path) -> str:  # noqa: ANN001
    """Adds a second config (the same JSON plus a label) to the member list; returns its name."""
    config_member, data = next((m, d) for m, d in members if m.name.endswith(".json") and m.name != "manifest.json")
    other = json.loads(data)
    other.setdefault("config", {})["Labels"] = {"copy": "yes"}
    blob = json.dumps(other).encode()
    info = tarfile.TarInfo("other-config.json")
    info.size = len(blob)
    members.append((info, blob))
    return info.name


def test_history_pairs_with_layers_skipping_empty_entries(tmp_path):
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:abc in /"},
        {"created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": True},
        {"created_by": "/bin/sh -c make", "author": "me", "comment": "built"},
    ]
    analysis = _analyse(tmp_path, [[file("a", "1")], [file("b", "2")]], history=history)
    assert [layer.command for layer in analysis.layers] == ["#(nop) ADD file:abc in /", "make"]
    assert analysis.layers[1].author == "me"


def test_history_shorter_than_layers_shows_missing_commands(tmp_path):
    analysis = _analyse(tmp_path, [[file("a", "1")], [file("b", "2")]], history=[{"created_by": "only one"}])
    assert [layer.command for layer in analysis.layers] == ["only one", "(missing)"]
    assert any("history" in w for w in analysis.warnings)


def test_multi_platform_index_needs_a_platform(tmp_path):
    from tests.fixtures.images import oci_blobs

    amd_blobs, amd_index = oci_blobs([layer_tar([file("arch", "amd64")])])
    arm_blobs, arm_index = oci_blobs([layer_tar([file("arch", "arm64-v8")])])
    amd, arm = amd_index["manifests"][0], arm_index["manifests"][0]
    amd["platform"] = {"os": "linux", "architecture": "amd64"}
    arm["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    root = tmp_path / "layout"
    (root / "blobs" / "sha256").mkdir(parents=True)
    for name, data in {**amd_blobs, **arm_blobs}.items():
        (root / name).write_bytes(data)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [amd, arm]}))
    if default_platform() not in ("linux/amd64", "linux/arm64"):
        with pytest.raises(ImageSelectionError, match="linux/amd64.*linux/arm64/v8"):
            load_image(str(root))
    else:  # this machine's platform is one of them: taken as docker pull takes it
        here = load_image(str(root)).layers[0].scan.entries["arch"].size
        assert here == len("amd64" if default_platform() == "linux/amd64" else "arm64-v8")
    image = load_image(str(root), LoadOptions(platform="linux/arm64"))
    assert image.layers[0].scan.entries["arch"].size == len("arm64-v8")
    with pytest.raises(ImageSelectionError, match="s390x"):
        load_image(str(root), LoadOptions(platform="linux/s390x"))
