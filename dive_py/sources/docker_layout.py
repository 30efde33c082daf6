"""Provides the plan of a ``manifest.json`` layout: ``docker save`` (legacy and Docker 25+), containers/image
``docker-archive``, kaniko and Jib tarballs.

Keys are read as Go reads them (``encoding/json`` matches field names regardless of case, preferring an
exact match), which is why Docker's loader, skopeo and dive read Jib < 2.3's lower-case ``config``,
``repoTags`` and ``layers``; so does divepy.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dive_py.errors import ImageFormatError
from dive_py.sources.base import ImageFiles
from dive_py.sources.choice import Candidate, choose
from dive_py.sources.plan import ImagePlan, LayerRef, diff_ids_of, digest_from_name, load_json
from dive_py.sources.platforms import config_platform


def plan_docker(files: ImageFiles, tag: str | None, platform: str | None = None) -> ImagePlan:
    """The plan of the image ``tag`` (and ``platform``, read from each config) picks in ``manifest.json`` (the
    only one when it lists one).

    Raises:
        ImageFormatError: the manifest or config is broken or names blobs the archive lacks.
        ImageSelectionError: several images and ``tag`` picks none.
    """
    manifest = load_json(files, "manifest.json", list)
    entries = [e for e in manifest if isinstance(e, dict)]
    if not entries:
        raise ImageFormatError(f"{files.what}: manifest.json lists no image")
    entry = _choose_entry(files, entries, tag, platform)
    config_name = field(entry, "Config")
    layer_names = field(entry, "Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list):
        raise ImageFormatError(f"{files.what}: manifest.json entry lacks Config or Layers")
    if not all(isinstance(n, str) for n in layer_names):
        raise ImageFormatError(f"{files.what}: manifest.json Layers must be names")
    config = load_json(files, config_name, dict)
    diff_ids = diff_ids_of(files, config, len(layer_names))
    layers = [_layer_ref(files, name, diff_ids[index]) for index, name in enumerate(layer_names)]
    source = "docker-archive"
    if files.has("index.json") and files.has("oci-layout"):
        source = "docker-archive (Docker 25+)"
    return ImagePlan(source, config, _config_digest(files, config_name), layers, repo_tags(entry))


def _layer_ref(files: ImageFiles, name: str, diff_id: str) -> LayerRef:
    resolved = files.resolve(name)
    if resolved is None:
        raise ImageFormatError(f"{files.what}: manifest.json names layer {name!r}, which the archive does not hold")
    named = digest_from_name(resolved) or digest_from_name(name)
    # dive's id is the first part of the layer's name (``<id>/layer.tar``, ``<hex>.tar.gz``);
    # for Docker 25+ ``blobs/sha256/<hex>`` that would be "blobs", so take the hex.
    first = name.split("/")[0]
    layer_id = first if first != "blobs" else (named or name)[7:]
    return LayerRef(
        blob=name,
        id=layer_id,
        digest=named or diff_id,
        diff_id=diff_id,
        expected_digest=named,
        expected_diff_id=diff_id or None,
    )


def field(entry: dict[str, Any], key: str) -> Any:
    """``entry[key]`` as Go's ``encoding/json`` finds it: the exact key, else one equal but for case."""
    if key in entry:
        return entry[key]
    folded = key.casefold()
    for name, value in entry.items():
        if isinstance(name, str) and name.casefold() == folded:
            return value
    return None


def repo_tags(entry: dict[str, Any]) -> list[str]:
    """An entry's ``RepoTags`` that are strings (the field is untrusted JSON)."""
    tags = field(entry, "RepoTags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _config_digest(files: ImageFiles, config_name: str) -> str:
    """The config's digest: stated by its name (``<hex>.json``, ``blobs/sha256/<hex>``) or computed."""
    named = digest_from_name(config_name)
    if named is not None:
        return named
    try:
        return "sha256:" + hashlib.sha256(files.read_bytes(config_name)).hexdigest()
    except ImageFormatError:
        return ""


def _choose_entry(
    files: ImageFiles, entries: list[dict[str, Any]], tag: str | None, platform: str | None
) -> dict[str, Any]:
    if tag is None and len(entries) == 1:
        return entries[0]
    candidates = []
    for entry in entries:
        config_name = field(entry, "Config")
        digest = _config_digest(files, config_name) if isinstance(config_name, str) else ""
        candidates.append(Candidate(digest, repo_tags(entry), None, payload=entry))
    chosen = choose(candidates, files.what, tag, platform, lambda c: _entry_platform(files, c.payload))
    assert isinstance(chosen.payload, dict)
    return chosen.payload


def _entry_platform(files: ImageFiles, entry: Any) -> str | None:
    """The platform an entry's config states (None when it states none or cannot be read)."""
    config_name = field(entry, "Config") if isinstance(entry, dict) else None
    if not isinstance(config_name, str):
        return None
    try:
        return config_platform(load_json(files, config_name, dict))
    except ImageFormatError:
        return None
