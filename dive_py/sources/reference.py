"""Provides image references: which source a reference names, and how to read from it.

A reference is an archive path (``docker-archive://``, ``oci-archive://``, ``oci://`` or a bare
path, handled by the loader), ``-`` for an archive on stdin, or the name of an image in a store:
``docker://NAME[:TAG|@DIGEST]``, ``podman://NAME`` or ``registry://HOST/REPO[:TAG|@DIGEST]``.
A bare name that is not an existing path goes to the default source (docker), and the error
then says which sources were tried.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dive_py.errors import DivepyError, SourceError

if TYPE_CHECKING:
    from dive_py.load.image import LoadOptions
    from dive_py.model import Image

STORE_SOURCES = ("docker", "podman", "registry")
"""Sources that read an image by name rather than from a file."""

STDIN_SOURCE = "stdin"

DEFAULT_SOURCE = "docker"
"""Where a bare name goes when it is not a path (dive's ``--source`` default); ``DIVEPY_SOURCE`` overrides."""

_STORE_PREFIXES = {"docker://": "docker", "podman://": "podman", "registry://": "registry"}

DOCKER_HUB = "docker.io"
"""The registry a name without a host refers to."""

DOCKER_HUB_API = "registry-1.docker.io"
"""Where Docker Hub's distribution API answers."""

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Route:
    """Where a reference is read from: a store source and the name within it."""

    source: str
    """``docker``, ``podman``, ``registry`` or ``stdin``."""
    name: str
    """The image name as the source knows it (without the ``docker://``-style prefix)."""
    fallback: bool = False
    """True when a bare name was sent to the default source because no such path exists."""


@dataclass(frozen=True)
class ImageName:
    """A parsed distribution reference: ``[HOST/]REPO[:TAG][@DIGEST]``."""

    host: str
    """Registry host (with port), e.g. ``127.0.0.1:5000`` or ``docker.io``."""
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when given, else the tag (``latest`` by default)."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def default_source() -> str:
    """The source a bare name goes to: ``DIVEPY_SOURCE`` or docker."""
    value = os.environ.get("DIVEPY_SOURCE", "").strip() or DEFAULT_SOURCE
    if value not in STORE_SOURCES:
        raise DivepyError(f"DIVEPY_SOURCE={value!r}: not one of {', '.join(STORE_SOURCES)}")
    return value


def route_reference(ref: str, source: str | None) -> Route | None:
    """Decides whether a reference names a store image or stdin; None leaves it to the archive loader.

    Args:
        ref: what the user typed.
        source: the ``--source`` flag, if given.

    Raises:
        DivepyError: a prefix and ``--source`` disagree, or a store reference is empty.
    """
    if ref == "-":
        if source not in (None, STDIN_SOURCE, "archive", "docker-archive", "oci-archive"):
            raise DivepyError(f"-: stdin holds an archive, but --source says {source}")
        return Route(STDIN_SOURCE, "-")
    for prefix, name in _STORE_PREFIXES.items():
        if ref.startswith(prefix):
            if source is not None and source != name:
                raise DivepyError(f"{ref}: prefix says {name} but --source says {source}")
            rest = ref[len(prefix) :]
            if not rest:
                raise DivepyError(f"{ref}: no image name after {prefix}")
            return Route(name, rest)
    if source in STORE_SOURCES:
        return Route(source, ref)
    if source is None and not _has_archive_prefix(ref) and not _exists_as_path(ref) and _looks_like_name(ref):
        return Route(default_source(), ref, fallback=True)
    return None


def _has_archive_prefix(ref: str) -> bool:
    return ref.startswith(("docker-archive:", "oci-archive:", "oci:", "archive:"))


def _exists_as_path(ref: str) -> bool:
    if os.path.exists(ref):
        return True
    # ``path/to/image.tar:tag`` picks a tag inside an archive.
    path, sep, _tag = ref.rpartition(":")
    return bool(sep) and bool(path) and os.path.exists(path)


def _looks_like_name(ref: str) -> bool:
    """Whether a missing path could be an image name (so the error can say so, not "no such file")."""
    if ref.startswith(("/", "./", "../", "~")) or ref.endswith((".tar", ".tar.gz", ".tgz", ".tar.zst")):
        return False
    try:
        parse_image_name(ref)
    except DivepyError:
        return False
    return True


def parse_image_name(text: str, *, default_host: str = DOCKER_HUB) -> ImageName:
    """Splits ``[HOST/]REPO[:TAG][@DIGEST]`` the way docker does.

    The first component is a host when it holds a ``.`` or ``:`` or is ``localhost``; otherwise the
    name is on Docker Hub, where a one-part name lives under ``library/``.

    Raises:
        DivepyError: the text is not a valid image reference.
    """
    rest, digest = text, None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not _DIGEST.match(digest):
            raise DivepyError(f"{text}: malformed digest {digest!r}")
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, _, tag = rest.rpartition(":")
        if not _TAG.match(tag):
            raise DivepyError(f"{text}: malformed tag {tag!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, remainder
    else:
        host, repository = default_host, rest
    if host == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not repository or not _REPO.match(repository):
        raise DivepyError(f"{text}: not a valid image reference (repository {repository!r})")
    return ImageName(host, repository, tag, digest)


def load_from_route(route: Route, options: LoadOptions) -> Image:
    """Reads the image a route names.

    Raises:
        SourceError: the source cannot give the image; for a default-source fallback the
            message says which sources were tried.
    """
    try:
        return _load(route, options)
    except SourceError as exc:
        if not route.fallback:
            raise
        raise SourceError(
            f"{route.name}: no such file or folder; {exc.message} (tried: archive path, {route.source})",
            hint="prefix the name with docker://, podman:// or registry://, or give a path to a saved image",
        ) from None


def _load(route: Route, options: LoadOptions) -> Image:
    # Imported here: these modules import the loader, which imports this module.
    if route.source == STDIN_SOURCE:
        from dive_py.load.image import load_stream

        return load_stream(sys.stdin.buffer.read, "stdin", options)
    if route.source == "docker":
        from dive_py.sources.engine import load_from_docker

        return load_from_docker(route.name, options)
    if route.source == "podman":
        from dive_py.sources.engine import load_from_podman

        return load_from_podman(route.name, options)
    if route.source == "registry":
        from dive_py.sources.registry.image import load_from_registry

        return load_from_registry(route.name, options)
    raise DivepyError(f"{route.name}: unknown source {route.source!r}")
