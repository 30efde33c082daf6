"""Provides :func:`find_packages`: which packages each layer added, removed or changed.

The scan keeps no file contents, so the package databases' bytes are read again from the blobs of the
layers that wrote them (one pass a layer, through ``Image.blobs``, stopping once every database file of
the layer has been read); the other layers are not read. Which files are databases comes from the union
tree (a name test a node); each version of a database file lists the packages from its layer on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dive_py.analysis.package_db import (
    Package,
    PackageKey,
    parse_apk,
    parse_dpkg,
    parse_npm,
    parse_python,
    parse_rpm_sqlite,
)
from dive_py.errors import DivepyError
from dive_py.layers.compression import decompressing_reader
from dive_py.layers.paths import clean_member_path
from dive_py.layers.tarscan import TarReader
from dive_py.model import DIRECTORY, REGULAR, Image
from dive_py.trees.tree import FileTree, Node

DATABASE_LIMIT = 256 << 20
"""Largest database file read (an rpmdb of a big distribution is ~10-100 MB)."""

Parser = Callable[[bytes, str], dict[PackageKey, Package]]


@dataclass
class LayerPackages:
    """What one layer did to the packages installed below it."""

    added: list[Package] = field(default_factory=list)
    removed: list[Package] = field(default_factory=list)
    changed: list[Package] = field(default_factory=list)
    """The new version of each package whose version or size changed."""

    def to_dict(self) -> dict[str, list[dict[str, str | int]]]:
        """The layer's package changes as JSON."""
        return {name: [p.to_dict() for p in getattr(self, name)] for name in ("added", "removed", "changed")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerPackages:
        """The changes :meth:`to_dict` wrote."""
        return cls(*([Package.from_dict(p) for p in data[name]] for name in ("added", "removed", "changed")))

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class PackageReport:
    """The packages each layer added, removed and changed, and what could not be read."""

    layers: list[LayerPackages]
    warnings: list[str] = field(default_factory=list)


def database_parser(node: Node) -> Parser | None:
    """The parser of a node's file when it is a package database (by name first: that is ~50 ns a node)."""
    name, parent = node.name, node.parent
    parent_name = parent.name if parent is not None else ""
    if name == "status":
        return parse_dpkg if node.path == "var/lib/dpkg/status" else None
    if parent_name == "status.d" and parent is not None and parent.path == "var/lib/dpkg/status.d":
        return None if name.endswith(".md5sums") else parse_dpkg
    if name == "installed":
        return parse_apk if node.path == "lib/apk/db/installed" else None
    if name == "rpmdb.sqlite":
        return parse_rpm_sqlite
    if name == "RECORD":
        return parse_python if parent_name.endswith(".dist-info") else None
    if name == "PKG-INFO":
        return parse_python if parent_name.endswith(".egg-info") else None
    if name == "package.json" and parent is not None and parent.parent is not None:
        above = parent.parent
        if above.name == "node_modules" or (above.name.startswith("@") and _named(above.parent, "node_modules")):
            return parse_npm
    return None


_NAMES = frozenset({"status", "installed", "rpmdb.sqlite", "RECORD", "PKG-INFO", "package.json"})


def _named(node: Node | None, name: str) -> bool:
    return node is not None and node.name == name


def find_packages(image: Image, tree: FileTree) -> PackageReport:
    """Per layer, the packages it added, removed or changed (empty for a layer that touched none)."""
    report = PackageReport([LayerPackages() for _ in image.layers])
    names = _NAMES
    found = [node for node in tree.nodes if node.name in names]
    status_d = tree.get("var/lib/dpkg/status.d")
    found += list((status_d.children or {}).values()) if status_d is not None else []
    databases = [(node, parser) for node in found if (parser := database_parser(node)) is not None]
    if _named(tree.get("var/lib/rpm/Packages"), "Packages"):
        report.warnings.append("packages: the Berkeley DB rpm database (/var/lib/rpm/Packages) cannot be read")
    if not databases:
        return report
    versions = _read_versions(image, databases, report.warnings)
    state: dict[str, dict[PackageKey, Package]] = {}
    for index in range(len(image.layers)):
        before: dict[PackageKey, Package] = {}
        after: dict[PackageKey, Package] = {}
        for path, packages in versions.get(index, {}).items():
            before.update(state.get(path, {}))
            after.update(packages)
            state[path] = packages
        report.layers[index] = _changes(before, after)
    return report


def _read_versions(
    image: Image, databases: list[tuple[Node, Parser]], warnings: list[str]
) -> dict[int, dict[str, dict[PackageKey, Package]]]:
    """layer -> database path -> its packages there (empty where the layer deleted it)."""
    wanted: dict[int, dict[str, tuple[Node, Parser]]] = defaultdict(dict)
    versions: dict[int, dict[str, dict[PackageKey, Package]]] = defaultdict(dict)
    for node, parser in databases:
        flat = node.flat
        for i in range(0, len(flat), 2):
            entry = flat[i + 1]
            if entry is None or entry.kind != REGULAR:
                versions[flat[i]][node.path] = {}
            else:
                wanted[flat[i]][node.path] = (node, parser)
    for index, files in sorted(wanted.items()):
        try:
            contents = _read_members(image, index, set(files))
        except DivepyError as exc:
            warnings.append(f"packages: layer {index} could not be read again ({exc})")
            contents = {}
        for path, (node, parser) in files.items():
            packages = parser(contents[path], path) if path in contents else {}
            if parser is parse_npm:
                packages = {key: _sized(package, node.parent, index) for key, package in packages.items()}
            versions[index][path] = packages
    return versions


def _read_members(image: Image, index: int, paths: set[str]) -> dict[str, bytes]:
    """The bytes of the wanted regular members of one layer's tar, in one pass that stops when all are read."""
    if image.blobs is None:
        raise DivepyError("no reader of the image's layers")
    what = f"layer {index}"
    read, _kind = decompressing_reader(image.blobs.open_layer(index), what)
    out: dict[str, bytes] = {}
    reader = TarReader(read, what)
    for header in reader:
        path = clean_member_path(header.name, what)
        if path in paths and header.type in (b"0", b"\0", b"7", b"") and header.size <= DATABASE_LIMIT:
            out[path] = reader.read_content(header.size, DATABASE_LIMIT)
            if len(out) == len(paths):
                break
    return out


def _sized(package: Package, folder: Node | None, layer: int) -> Package:
    """An npm package with the bytes of its folder at ``layer`` (nested ``node_modules`` left to their own)."""
    total, stack = 0, [folder] if folder is not None else []
    while stack:
        node = stack.pop()
        for name, child in (node.children or {}).items():
            entry = child.state(layer)
            if entry is None or name == "node_modules":
                continue
            total += entry.size if entry.kind != DIRECTORY else 0
            if child.children:
                stack.append(child)
    return Package(package.name, package.version, package.manager, total)


def _changes(before: dict[PackageKey, Package], after: dict[PackageKey, Package]) -> LayerPackages:
    changes = LayerPackages()
    for key, package in sorted(after.items()):
        old = before.get(key)
        if old is None:
            changes.added.append(package)
        elif old != package:
            changes.changed.append(package)
    changes.removed = [package for key, package in sorted(before.items()) if key not in after]
    return changes


def installed(report: PackageReport) -> dict[tuple[str, str], Package]:
    """The packages of the final image by (manager, name): every layer's changes replayed."""
    packages: dict[tuple[str, str], Package] = {}
    for layer in report.layers:
        for package in layer.removed:
            packages.pop((package.manager, package.name), None)
        for package in (*layer.added, *layer.changed):
            packages[package.manager, package.name] = package
    return packages
