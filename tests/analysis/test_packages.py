"""Packages per layer from package databases written in code: dpkg, apk, Python and npm."""

from __future__ import annotations

from dive_py.analysis.extras import package_report
from dive_py.analysis.load import load_analysis
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
    report = package_report(load_analysis(str(path), LoadOptions(use_cache=False)))
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
