"""Provides :func:`list_registry`: every image of a registry (``registry://HOST``), from its catalog and tags.

``GET /v2/_catalog`` names the repositories and ``GET /v2/<name>/tags/list`` their tags, both followed
through their ``Link`` pages. Which tags an audit takes: ``latest`` (the ``latest`` tag, else the
highest tag), ``all``, or a number N (the N highest, in version order: ``1.10`` above ``1.9``).
"""

from __future__ import annotations

import json
import re
import urllib.parse

from dive_py.errors import ConfigError, SourceError
from dive_py.sources.registry.client import RegistryClient
from dive_py.sources.registry.credentials import find_credentials

PAGE = 1000
"""Names asked for a page (registries may send fewer, with a ``Link`` to the next page)."""

MAX_PAGES = 1000


def parse_tags_mode(text: str) -> str | int:
    """``latest``, ``all`` or a positive number.

    Raises:
        ConfigError: anything else.
    """
    if text in ("latest", "all"):
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ConfigError(f"--tags {text!r}: expected latest, all or a positive number")


def version_key(tag: str) -> tuple[tuple[int, int, str], ...]:
    """Sorts tags as versions: numbers by value (``1.10`` after ``1.9``), then text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", tag) if part)


def pick_tags(tags: list[str], mode: str | int) -> list[str]:
    """The tags an audit takes of one repository."""
    ordered = sorted(set(tags), key=version_key)
    if mode == "all":
        return ordered
    if mode == "latest":
        return ["latest"] if "latest" in ordered else ordered[-1:]
    return ordered[-int(mode) :]


def list_registry(
    host: str, mode: str | int, *, username: str | None = None, password: str | None = None, insecure: bool = False
) -> list[str]:
    """``registry://HOST/REPO:TAG`` of every image to audit in the registry at ``host``.

    Raises:
        SourceError: the registry cannot be reached or refuses its catalog.
    """
    client = RegistryClient(host, find_credentials(host, username, password), insecure=insecure)
    refs: list[str] = []
    for repository in sorted(_pages(client, f"/v2/_catalog?n={PAGE}", "", "repositories")):
        tags = _pages(client, f"/v2/{repository}/tags/list?n={PAGE}", repository, "tags")
        refs.extend(f"registry://{host}/{repository}:{tag}" for tag in pick_tags(tags, mode))
    return refs


def _pages(client: RegistryClient, path: str, repository: str, field: str) -> list[str]:
    names: list[str] = []
    for _page in range(MAX_PAGES):
        response = client.get(path, repository)
        link = response.getheader("Link", "")
        body = response.read(16 << 20)
        response.close()
        try:
            found = json.loads(body).get(field) or []
        except (ValueError, AttributeError):
            raise SourceError(f"registry {client.host}: {path.split('?')[0]} is not the JSON the API sends") from None
        names.extend(str(name) for name in found if isinstance(name, str))
        match = re.match(r"\s*<([^>]+)>", link)
        if not match:
            break
        following = urllib.parse.urlsplit(match.group(1))
        path = following.path + (f"?{following.query}" if following.query else "")
    return names
