"""Packages per layer from package databases written in code: dpkg, apk, Python and npm."""

from __future__ import annotations

from dive_py.analysis.from_reference import load_analysis
from dive_py.load.options import LoadOptions
from tests.fixtures.images import file, folder, layer_tar, write_docker_archive

DPKG_ONE = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\nInstalled-Size: 12\n\n"
DPKG_TWO = DPKG_ONE.replace("2.36", "2.37") + (
    "Package: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88\nInstalled-Size: 3\n"
)


def _names(packages):  # noqa: ANN001, ANN202
    return [(p.manager, p.name, p.version, p.size_bytes) for p in packages]


def test_packages_added_removed_changed(tmp_path):
    base = layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", DPKG_ONE)])
    apt = layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", DPKG_TWO)])
    pip = layer_tar(
        [
            folder("usr/lib/python3/site-packages/requests-2.31.0.dist-info"),
            file(
                "usr/lib/python3/site-packages/requests-2.31.0.dist-info/RECORD", "requests/__init__.py,sha256=x,500\n"
            ),
            folder("lib/apk/db"),
            file("lib/apk/db/installed", "P:musl\nV:1.2.4\nI:600\n\n"),
            folder("app/node_modules/left-pad"),
            file("app/node_modules/left-pad/package.json", '{"name": "left-pad", "version": "1.3.0"}'),
        ]
    )
    path = write_docker_archive(tmp_path / "image.tar", [base, apt, pip])
    report = load_analysis(str(path), LoadOptions(use_cache=False)).packages()
    assert _names(report.layers[0].added) == [("dpkg", "libc6", "2.36", 12 * 1024)]
    assert _names(report.layers[1].added) == [("dpkg", "curl", "7.88", 3 * 1024)]
    assert _names(report.layers[1].changed) == [("dpkg", "libc6", "2.37", 12 * 1024)]
    added = sorted(_names(report.layers[2].added))
    assert added == [
        ("apk", "musl", "1.2.4", 600),
        ("npm", "left-pad", "1.3.0", 40),
        ("python", "requests", "2.31.0", 500),
    ]
    assert report.layers[2].to_dict()["added"][0].keys() == {"name", "version", "manager", "sizeBytes"}


def _dpkg(name: str, state: str, version: str = "1.0", kib: int = 4) -> str:
    return (
        f"Package: {name}\nStatus: install ok {state}\nArchitecture: amd64\nVersion: {version}\n"
        f"Installed-Size: {kib}\nDescription: {name}\n continued line: not a field\n\n"
    )


def test_dpkg_packages_left_half_way_are_listed_with_their_state(tmp_path):
    """A RUN that stopped half-way (or ``dpkg --unpack``) leaves files on disk under another state than
    ``installed``; packages whose files are gone (``config-files``, ``not-installed``) are not listed."""
    first = "".join(
        [
            _dpkg("libc6", "installed"),
            _dpkg("tzdata", "half-configured", "2024a", 3000),
            _dpkg("openjdk", "unpacked", "17.0", 200_000),
            _dpkg("man-db", "triggers-pending"),
            _dpkg("oldconf", "config-files"),
            _dpkg("gone", "not-installed"),
        ]
    )
    fixed = first.replace("install ok half-configured", "install ok installed")
    layers = [
        layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", first)]),
        layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", fixed)]),  # `dpkg --configure -a`
    ]
    path = write_docker_archive(tmp_path / "image.tar", layers)
    report = load_analysis(str(path), LoadOptions(use_cache=False)).packages()
    added = {(p.name, p.version, p.size_bytes, p.state) for p in report.layers[0].added}
    assert added == {
        ("libc6", "1.0", 4 * 1024, ""),
        ("tzdata", "2024a", 3000 * 1024, "half-configured"),
        ("openjdk", "17.0", 200_000 * 1024, "unpacked"),
        ("man-db", "1.0", 4 * 1024, "triggers-pending"),
    }
    exported = {p["name"]: p for p in report.layers[0].to_dict()["added"]}
    assert exported["openjdk"]["state"] == "unpacked" and "state" not in exported["libc6"]
    assert [(p.name, p.state) for p in report.layers[1].changed] == [("tzdata", "")]  # now installed
    assert report.layers[1].added == report.layers[1].removed == []


def test_the_state_reaches_json_and_the_layer_details(tmp_path):
    from dive_py.reports.export import analysis_to_dict
    from dive_py.ui.hints_screen import layer_extras_text

    status = _dpkg("libc6", "installed") + _dpkg("openjdk", "unpacked", "17.0", 8)
    path = write_docker_archive(
        tmp_path / "image.tar", [layer_tar([folder("var/lib/dpkg"), file("var/lib/dpkg/status", status)])]
    )
    analysis = load_analysis(str(path), LoadOptions(use_cache=False))
    added = analysis_to_dict(analysis)["layer"][0]["packages"]["added"]
    assert [(p["name"], p.get("state")) for p in added] == [("libc6", None), ("openjdk", "unpacked")]
    shown = layer_extras_text([], analysis.packages().layers[0]).plain
    assert "+ openjdk 17.0 (dpkg, 8.2 kB, unpacked)" in shown and "+ libc6 1.0 (dpkg, 4.1 kB)" in shown
