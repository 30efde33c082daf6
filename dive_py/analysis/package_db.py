"""Provides the parsers of package databases: dpkg status, apk installed, the sqlite rpmdb, Python and npm metadata.

Each parser takes the bytes of one database file (and its path) and returns the packages it lists as
``{(manager, location, name): Package}``; a file it cannot read gives no packages (never an exception).
"""

from __future__ import annotations

import json
import os
import posixpath
import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from typing import Any

PackageKey = tuple[str, str, str]
"""(manager, where it is installed, name): the same name in two virtualenvs is two packages."""


DPKG_ON_DISK = frozenset(
    {"installed", "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
)
"""dpkg states in which a package's files are on disk (``not-installed`` and ``config-files`` leave at most
its conffiles): a RUN that stopped half-way, or a ``dpkg --unpack``, leaves the files without ``installed``."""


@dataclass(frozen=True)
class Package:
    """One installed package: its name, version, package manager, size and (dpkg) state."""

    name: str
    version: str
    manager: str
    size_bytes: int
    state: str = ""
    """The database's state when it is not simply installed (dpkg's ``unpacked``, ``half-configured``, ...)."""

    def to_dict(self) -> dict[str, str | int]:
        """The package as JSON (``state`` only when there is one)."""
        out: dict[str, str | int] = {
            "name": self.name,
            "version": self.version,
            "manager": self.manager,
            "sizeBytes": self.size_bytes,
        }
        return {**out, "state": self.state} if self.state else out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Package:
        """The package :meth:`to_dict` wrote."""
        fields = (str(data["name"]), str(data["version"]), str(data["manager"]), int(data["sizeBytes"]))
        return cls(*fields, str(data.get("state", "")))


def _stanzas(text: str) -> list[dict[str, str]]:
    """RFC 822-like paragraphs (dpkg, apk): field -> value, continuation lines dropped."""
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current = {}
        elif line[0] not in " \t" and ":" in line:
            name, _, value = line.partition(":")
            current.setdefault(name.strip(), value.strip())
    if current:
        out.append(current)
    return out


def parse_dpkg(data: bytes, path: str) -> dict[PackageKey, Package]:
    """``/var/lib/dpkg/status`` (or a ``status.d`` file): the packages whose files are on disk, Installed-Size
    in KiB; those not simply ``installed`` carry their state (``Status: want flag STATE``)."""
    found = {}
    for stanza in _stanzas(data.decode("utf-8", "replace")):
        name = stanza.get("Package")
        state = (stanza.get("Status", "install ok installed").split() or [""])[-1]
        if not name or state not in DPKG_ON_DISK:
            continue
        arch = stanza.get("Architecture", "")
        size = _int(stanza.get("Installed-Size", "0")) * 1024
        package = Package(name, stanza.get("Version", ""), "dpkg", size, "" if state == "installed" else state)
        found["dpkg", "/var/lib/dpkg", f"{name}:{arch}"] = package
    return found


def parse_apk(data: bytes, path: str) -> dict[PackageKey, Package]:
    """``/lib/apk/db/installed``: ``P:`` name, ``V:`` version, ``I:`` installed bytes."""
    found = {}
    for stanza in _stanzas(data.decode("utf-8", "replace")):
        name = stanza.get("P")
        if name:
            found["apk", "/lib/apk/db", name] = Package(name, stanza.get("V", ""), "apk", _int(stanza.get("I", "0")))
    return found


def parse_python(data: bytes, path: str) -> dict[PackageKey, Package]:
    """A ``*.dist-info/RECORD`` (name and version from the folder, size the sum of RECORD's sizes) or an
    ``*.egg-info/PKG-INFO`` (name and version from its fields)."""
    folder = posixpath.dirname(path)
    site = "/" + posixpath.dirname(folder)
    text = data.decode("utf-8", "replace")
    if path.endswith("/RECORD"):
        name, _, version = posixpath.basename(folder)[: -len(".dist-info")].rpartition("-")
        size = sum(_int(line.rsplit(",", 1)[-1]) for line in text.splitlines() if line.count(",") >= 2)
    else:
        fields = _stanzas(text)[:1] or [{}]
        name, version, size = fields[0].get("Name", ""), fields[0].get("Version", ""), 0
    if not name:
        return {}
    return {("python", site, _python_name(name)): Package(name, version, "python", size)}


def _python_name(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def parse_npm(data: bytes, path: str) -> dict[PackageKey, Package]:
    """``node_modules/NAME/package.json``; the size is filled in from the tree by the caller."""
    try:
        meta = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return {}
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return {}
    folder = posixpath.dirname(path)
    modules = "/" + folder[: folder.rindex("node_modules") + len("node_modules")]
    return {("npm", modules, meta["name"]): Package(meta["name"], str(meta.get("version", "")), "npm", 0)}


def parse_rpm_sqlite(data: bytes, path: str) -> dict[PackageKey, Package]:
    """The sqlite rpmdb (``rpmdb.sqlite``): each row of ``Packages`` is an rpm header blob."""
    found = {}
    handle, name = tempfile.mkstemp(prefix="divepy-rpmdb-", suffix=".sqlite")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        connection = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT blob FROM Packages").fetchall()
        finally:
            connection.close()
    except (sqlite3.Error, OSError):
        return {}
    finally:
        os.unlink(name)
    for (blob,) in rows:
        package = _rpm_header(bytes(blob))
        if package is not None:
            arch_name = package.name
            found["rpm", "/" + posixpath.dirname(path), arch_name] = package
    return found


_RPM_NAME, _RPM_VERSION, _RPM_RELEASE, _RPM_EPOCH, _RPM_SIZE, _RPM_ARCH = 1000, 1001, 1002, 1003, 1009, 1022


def _rpm_header(blob: bytes) -> Package | None:
    """Name, epoch:version-release and size from an rpm header blob (index count, data length, index, data)."""
    try:
        count, length = struct.unpack(">II", blob[:8])
        data = blob[8 + 16 * count : 8 + 16 * count + length]
        values: dict[int, str | int] = {}
        for i in range(count):
            tag, kind, offset, _n = struct.unpack(">iIiI", blob[8 + 16 * i : 24 + 16 * i])
            if kind == 6 or kind == 9:  # STRING, I18NSTRING
                values[tag] = data[offset : data.index(b"\0", offset)].decode("utf-8", "replace")
            elif kind == 4:  # INT32
                values[tag] = struct.unpack(">I", data[offset : offset + 4])[0]
            elif kind == 5:  # INT64
                values[tag] = struct.unpack(">Q", data[offset : offset + 8])[0]
    except (struct.error, ValueError):
        return None
    name = values.get(_RPM_NAME)
    if not isinstance(name, str) or name == "gpg-pubkey":
        return None
    version = f"{values.get(_RPM_VERSION, '')}-{values.get(_RPM_RELEASE, '')}"
    if values.get(_RPM_EPOCH):
        version = f"{values[_RPM_EPOCH]}:{version}"
    size = values.get(_RPM_SIZE, 0)
    return Package(name, version, "rpm", size if isinstance(size, int) else 0)


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0
