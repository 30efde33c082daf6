"""Provides image references: which source a reference names, and how to read from it.

A reference is an archive path (``docker-archive://``, ``oci-archive://``, ``oci://`` or a bare
path, handled by the loader), ``-`` for an archive on stdin, or the name of an image in a store:
``docker://NAME[:TAG|@DIGEST]``, ``podman://NAME`` or ``registry://HOST/REPO[:TAG|@DIGEST]``; or a
container, ``container://NAME_OR_ID`` (``docker-container://``, ``podman-container://``).
A bare name that is not an existing path goes to the default source (docker), and the error
then says which sources were tried.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dive_py.errors import DivepyError

ARCHIVE_SOURCES = ("docker-archive", "oci-archive", "oci-dir", "archive")
"""Sources that read a file or folder; ``archive`` sniffs which layout it holds."""

STORE_SOURCES = ("docker", "podman", "containerd", "registry")
"""Sources that read an image by name rather than from a file."""

CONTAINER_SOURCES = ("container", "docker-container", "podman-container")
"""Sources that read a container: its image plus its writable layer, not committed."""

SOURCE_CHOICES = (*ARCHIVE_SOURCES, *STORE_SOURCES, *CONTAINER_SOURCES)
"""What ``--source`` accepts."""

_ARCHIVE_PREFIXES = {
    "docker-archive://": "docker-archive",
    "docker-archive:": "docker-archive",
    "oci-archive://": "oci-archive",
    "oci-archive:": "oci-archive",
    "oci://": "oci-dir",
    "oci:": "oci-dir",
}

STDIN_SOURCE = "stdin"

DEFAULT_SOURCE = "docker"
"""Where a bare name goes first when it is not a path (dive's ``--source`` default); ``DIVEPY_SOURCE`` overrides."""

FALLBACK_SOURCES = ("docker", "podman", "containerd")
"""The local stores a bare name is looked for in, in order, when ``DIVEPY_SOURCE`` names none."""

_STORE_PREFIXES = {
    "docker://": "docker",
    "podman://": "podman",
    "containerd://": "containerd",
    "registry://": "registry",
    "container://": "container",
    "docker-container://": "docker-container",
    "podman-container://": "podman-container",
}

DOCKER_HUB = "docker.io"
"""The registry a name without a host refers to."""

DOCKER_HUB_API = "registry-1.docker.io"
"""Where Docker Hub's distribution API answers."""

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Reference:
    """Where a reference is read from: a source and the name within it."""

    source: str
    """One of :data:`ARCHIVE_SOURCES`, :data:`STORE_SOURCES` or ``stdin``."""
    name: str
    """The path of an archive or folder, the image name as a store knows it (no ``docker://``), or ``-``."""
    tag: str | None = None
    """The image an ``ARCHIVE:TAG`` suffix picks in an archive of several."""
    fallback: bool = False
    """True when a bare name was sent to the default source because no such path exists."""


def parse_reference(ref: str, source: str | None = None) -> Reference:
    """The one parser of what the user typed: prefixes, ``--source``, ``ARCHIVE:TAG``, ``-``, bare names.

    Args:
        ref: a path, optionally prefixed (``docker-archive://``, ``oci-archive://``, ``oci://``) and
            suffixed with ``:TAG``; ``-`` for stdin; ``docker://NAME``, ``podman://NAME`` or
            ``registry://HOST/REPO[:TAG|@DIGEST]``; a bare name that is no path goes to the default store.
        source: the ``--source`` flag, if given.

    Raises:
        DivepyError: a prefix and ``--source`` disagree, the source is unknown, or a name is empty.
    """
    routed = route_reference(ref, source)
    if routed is not None:
        return routed
    kind, path, tag = split_reference(ref, source)
    if kind not in ARCHIVE_SOURCES:
        raise DivepyError(f"{ref}: unknown source {kind!r}")
    return Reference(kind, path, tag)


def split_reference(ref: str, source: str | None = None) -> tuple[str, str, str | None]:
    """Splits ``[PREFIX]PATH[:TAG]`` into (source, path, tag).

    A ``:tag`` suffix is taken only when the whole text is not itself an existing path.
    """
    for prefix, name in _ARCHIVE_PREFIXES.items():
        if ref.startswith(prefix):
            if source is not None and source != name:
                raise DivepyError(f"{ref}: prefix says {name} but --source says {source}")
            source, ref = name, ref[len(prefix) :]
            break
    path, tag = split_tag(ref)
    return source or "archive", path, tag


def split_tag(ref: str) -> tuple[str, str | None]:
    """Splits ``PATH:TAG`` at the longest prefix that exists on disk (tags hold ``:`` and ``/``:
    ``ghcr.io/org/app:1``), or ``PATH@sha256:…`` (a manifest digest picks an image too); the whole
    text when it exists itself or no prefix does.
    """
    if os.path.exists(ref) or ":" not in ref:
        return ref, None
    path, at, digest = ref.rpartition("@")
    if at and digest.startswith("sha256:") and os.path.exists(path):
        return path, digest
    for i in range(len(ref) - 1, 0, -1):
        if ref[i] == ":" and os.path.exists(ref[:i]):
            return ref[:i], ref[i + 1 :] or None
    return ref, None


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


def fallback_sources() -> tuple[str, ...]:
    """The stores a bare name is looked for in: ``DIVEPY_SOURCE`` alone when set, else :data:`FALLBACK_SOURCES`."""
    if os.environ.get("DIVEPY_SOURCE", "").strip():
        return (default_source(),)
    return FALLBACK_SOURCES


def default_source() -> str:
    """The source a bare name goes to: ``DIVEPY_SOURCE`` or docker."""
    value = os.environ.get("DIVEPY_SOURCE", "").strip() or DEFAULT_SOURCE
    if value not in STORE_SOURCES:
        raise DivepyError(f"DIVEPY_SOURCE={value!r}: not one of {', '.join(STORE_SOURCES)}")
    return value


def route_reference(ref: str, source: str | None) -> Reference | None:
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
        return Reference(STDIN_SOURCE, "-")
    for prefix, name in _STORE_PREFIXES.items():
        if ref.startswith(prefix):
            if source is not None and source != name:
                raise DivepyError(f"{ref}: prefix says {name} but --source says {source}")
            rest = ref[len(prefix) :]
            if not rest:
                raise DivepyError(f"{ref}: no image name after {prefix}")
            return Reference(name, rest)
    if source in STORE_SOURCES or source in CONTAINER_SOURCES:
        return Reference(source, ref)
    if source is None and not _has_archive_prefix(ref) and not _exists_as_path(ref) and _looks_like_name(ref):
        return Reference(default_source(), ref, fallback=True)
    return None


def _has_archive_prefix(ref: str) -> bool:
    return ref.startswith(("docker-archive:", "oci-archive:", "oci:", "archive:"))


def _exists_as_path(ref: str) -> bool:
    # ``path/to/image.tar:tag`` picks a tag inside an archive.
    return os.path.exists(split_tag(ref)[0])


_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".gz", ".zst", ".oci")


def _looks_like_name(ref: str) -> bool:
    """Whether a missing path could be an image name (so the error can say so, not "no such file").

    A path it is when it starts like one, ends like an archive, lives in a folder that exists
    (``examples/tomcat02.tr``: ``bitnami/nginx`` stays a name while no ``bitnami`` folder is here), or,
    with a dot in it, is one typo away from a file here (``tomcat02.tr`` beside ``tomcat02.tar``).
    """
    if ref.startswith(("/", "./", "../", "~")) or ref.lower().endswith(_ARCHIVE_SUFFIXES):
        return False
    folder = os.path.dirname(ref)
    if folder and os.path.isdir(folder):
        return False
    if not folder and "." in ref and near_miss(ref) is not None:
        return False
    try:
        parse_image_name(ref)
    except DivepyError:
        return False
    return True


def near_miss(path: str) -> str | None:
    """The entry of ``path``'s folder whose name is closest to its own (a typo's likely target), or None."""
    import difflib

    folder, name = os.path.split(path)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return None
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return os.path.join(folder, match[0]) if match else None


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
