"""Provides the layouts of saved images: which blob is which layer, in manifest order.

``docker save`` (legacy and Docker 25+), containers/image ``docker-archive``, kaniko
tarballs all carry a ``manifest.json``; OCI archives and folders carry ``index.json``
(maybe nested indexes). Both give a config and the layer blobs, oldest first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from dive_py.errors import ImageFormatError, ImageSelectionError
from dive_py.sources.archive import ImageFiles

_DIGEST_NAME = re.compile(r"(?:^|/)(?:sha256[:/])?([0-9a-f]{64})(?:\.tar(?:\.gz|\.zst)?|\.tgz)?$")
"""Blob names that state their own sha256 (``blobs/sha256/HEX``, ``HEX.tar``, ``sha256:HEX``)."""

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class LayerRef:
    """Where one layer's blob is and what it must hash to."""

    blob: str
    id: str
    digest: str
    diff_id: str
    expected_digest: str | None
    expected_diff_id: str | None


@dataclass
class ImagePlan:
    """What the layout says about the chosen image, before any layer is read."""

    source: str
    config: dict[str, Any]
    config_digest: str
    layers: list[LayerRef]
    tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_json(files: ImageFiles, name: str, kind: type) -> Any:
    """Reads a JSON member and checks its top-level type."""
    raw = files.read_bytes(name)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ImageFormatError(f"{files.what}: {name} is not valid JSON") from None
    except RecursionError:
        raise ImageFormatError(f"{files.what}: {name} is not valid JSON (nested too deep)") from None
    if not isinstance(value, kind):
        raise ImageFormatError(f"{files.what}: {name} should hold a JSON {kind.__name__}")
    return value


def plan_image(files: ImageFiles, *, tag: str | None = None, platform: str | None = None) -> ImagePlan:
    """Finds the chosen image's config and layer blobs in a saved image.

    Raises:
        ImageFormatError: no known layout, or its JSON is broken or names missing blobs.
        ImageSelectionError: several images or platforms and ``tag``/``platform`` pick none.
    """
    if files.has("manifest.json"):
        return _plan_docker(files, tag)
    if files.has("index.json"):
        return _plan_oci(files, tag, platform)
    raise ImageFormatError(
        f"{files.what}: not an image archive (no manifest.json or index.json)",
        hint="expected `docker save`, `podman save`, an OCI archive or an OCI layout folder",
    )


# -- docker-archive ----------------------------------------------------------


def _plan_docker(files: ImageFiles, tag: str | None) -> ImagePlan:
    manifest = load_json(files, "manifest.json", list)
    entries = [e for e in manifest if isinstance(e, dict)]
    if not entries:
        raise ImageFormatError(f"{files.what}: manifest.json lists no image")
    entry = _choose_docker_entry(files, entries, tag)
    config_name = entry.get("Config")
    layer_names = entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list):
        raise ImageFormatError(f"{files.what}: manifest.json entry lacks Config or Layers")
    if not all(isinstance(n, str) for n in layer_names):
        raise ImageFormatError(f"{files.what}: manifest.json Layers must be names")
    config = load_json(files, config_name, dict)
    diff_ids = _diff_ids(files, config, len(layer_names))
    layers = []
    for index, name in enumerate(layer_names):
        resolved = files.resolve(name)
        if resolved is None:
            raise ImageFormatError(f"{files.what}: manifest.json names layer {name!r}, which the archive does not hold")
        named = _digest_from_name(resolved) or _digest_from_name(name)
        # dive's id is the first part of the layer's name (``<id>/layer.tar``, ``<hex>.tar.gz``);
        # for Docker 25+ ``blobs/sha256/<hex>`` that would be "blobs", so take the hex.
        first = name.split("/")[0]
        layer_id = first if first != "blobs" else (named or name)[7:]
        layers.append(
            LayerRef(
                blob=name,
                id=layer_id,
                digest=named or diff_ids[index],
                diff_id=diff_ids[index],
                expected_digest=named,
                expected_diff_id=diff_ids[index] or None,
            )
        )
    tags = _repo_tags(entry)
    source = "docker-archive"
    if files.has("index.json") and files.has("oci-layout"):
        source = "docker-archive (Docker 25+)"
    return ImagePlan(source, config, _digest_from_name(config_name) or "", layers, tags)


def _choose_docker_entry(files: ImageFiles, entries: list[dict], tag: str | None) -> dict:
    if tag is None:
        if len(entries) == 1:
            return entries[0]
        choices = ", ".join(", ".join(_repo_tags(e) or ["<untagged>"]) for e in entries)
        raise ImageSelectionError(
            f"{files.what}: holds {len(entries)} images; pick one with IMAGE:tag or --tag ({choices})"
        )
    matches = [e for e in entries if any(_tag_matches(t, tag) for t in _repo_tags(e))]
    if len(matches) == 1:
        return matches[0]
    choices = ", ".join(t for e in entries for t in _repo_tags(e))
    raise ImageSelectionError(f"{files.what}: no single image tagged {tag!r} (choices: {choices or 'none tagged'})")


def _repo_tags(entry: dict) -> list[str]:
    """An entry's ``RepoTags`` that are strings (the field is untrusted JSON)."""
    tags = entry.get("RepoTags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _text(value: Any) -> str | None:
    """``value`` when it is a string, else None (JSON from an archive may hold any type anywhere)."""
    return value if isinstance(value, str) else None


def _tag_matches(candidate: str, wanted: str) -> bool:
    """Whether a stored tag is the wanted one, allowing the registry and library prefixes to differ."""

    def norm(text: str) -> str:
        for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        return text if ":" in text.rsplit("/", 1)[-1] or "@" in text else text + ":latest"

    return candidate == wanted or norm(candidate) == norm(wanted)


def _diff_ids(files: ImageFiles, config: dict, count: int) -> list[str]:
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageFormatError(f"{files.what}: image config has no rootfs.diff_ids list")
    if len(diff_ids) != count:
        raise ImageFormatError(
            f"{files.what}: the config lists {len(diff_ids)} layer diff_ids but the manifest {count} layers"
        )
    return list(diff_ids)


def _digest_from_name(name: str) -> str | None:
    match = _DIGEST_NAME.search(name)
    return f"sha256:{match.group(1)}" if match else None


# -- OCI ---------------------------------------------------------------------


def _blob_name(files: ImageFiles, descriptor: Any, what: str) -> tuple[str, str]:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise ImageFormatError(f"{files.what}: {what} has no digest")
    digest = descriptor["digest"]
    algo, _, hexpart = digest.partition(":")
    if not re.fullmatch(r"[a-z0-9]+", algo) or not re.fullmatch(r"[0-9a-fA-F]{32,128}", hexpart):
        raise ImageFormatError(f"{files.what}: {what} has a malformed digest {digest[:80]!r}")
    name = f"blobs/{algo}/{hexpart}"
    if not files.has(name):
        raise ImageFormatError(f"{files.what}: could not find {name} ({what}) in the archive")
    return name, digest


@dataclass
class _Candidate:
    descriptor: dict
    ref_names: list[str]
    platform: str | None


def _plan_oci(files: ImageFiles, tag: str | None, platform: str | None) -> ImagePlan:
    index = load_json(files, "index.json", dict)
    candidates = _expand_index(files, index, [], None, depth=0)
    candidates = [c for c in candidates if not (c.platform or "").startswith("unknown")]
    if not candidates:
        raise ImageFormatError(f"{files.what}: index.json lists no image manifest")
    chosen = _choose_candidate(files, candidates, tag, platform)
    manifest_name, _ = _blob_name(files, chosen.descriptor, "image manifest")
    manifest = load_json(files, manifest_name, dict)
    config_name, config_digest = _blob_name(files, manifest.get("config"), "image config")
    config = load_json(files, config_name, dict)
    descriptors = manifest.get("layers")
    if not isinstance(descriptors, list):
        raise ImageFormatError(f"{files.what}: image manifest has no layers list")
    diff_ids = _diff_ids(files, config, len(descriptors))
    layers = []
    for index_, descriptor in enumerate(descriptors):
        blob, digest = _blob_name(files, descriptor, f"layer {index_ + 1}")
        layers.append(
            LayerRef(
                blob=blob,
                id=digest.partition(":")[2],
                digest=digest,
                diff_id=diff_ids[index_],
                expected_digest=digest,
                expected_diff_id=diff_ids[index_] or None,
            )
        )
    return ImagePlan("oci", config, config_digest, layers, chosen.ref_names)


def _expand_index(
    files: ImageFiles, index: dict, names: list[str], platform: str | None, depth: int
) -> list[_Candidate]:
    if depth > 8:
        raise ImageFormatError(f"{files.what}: image indexes nest too deep (a loop?)")
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageFormatError(f"{files.what}: index has no manifests list")
    found: list[_Candidate] = []
    for descriptor in manifests:
        if not isinstance(descriptor, dict):
            raise ImageFormatError(f"{files.what}: index lists a manifest that is not an object")
        annotations = descriptor.get("annotations") if isinstance(descriptor.get("annotations"), dict) else {}
        ref_names = list(names)
        for key in (REF_NAME, "io.containerd.image.name"):
            value = annotations.get(key)
            if isinstance(value, str) and value not in ref_names:
                ref_names.append(value)
        plat = _platform_text(descriptor.get("platform")) or platform
        if _text(descriptor.get("mediaType")) in INDEX_TYPES:
            name, _ = _blob_name(files, descriptor, "nested index")
            nested = load_json(files, name, dict)
            found.extend(_expand_index(files, nested, ref_names, plat, depth + 1))
        else:
            found.append(_Candidate(descriptor, ref_names, plat))
    return found


def _platform_text(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    parts = [str(value.get("os", "")), str(value.get("architecture", ""))]
    if value.get("variant"):
        parts.append(str(value["variant"]))
    return "/".join(parts)


def _choose_candidate(files: ImageFiles, candidates: list[_Candidate], tag: str | None, platform: str | None):
    pool = candidates
    if tag is not None:
        pool = [c for c in pool if any(_ref_matches(n, tag) for n in c.ref_names)]
        if not pool:
            names = sorted({n for c in candidates for n in c.ref_names})
            raise ImageSelectionError(f"{files.what}: no image tagged {tag!r} (choices: {', '.join(names) or 'none'})")
    if platform is not None:
        matching = [c for c in pool if c.platform and _platform_matches(c.platform, platform)]
        if not matching:
            plats = sorted({c.platform or "unspecified" for c in pool})
            raise ImageSelectionError(f"{files.what}: no image for platform {platform} (choices: {', '.join(plats)})")
        pool = matching
    distinct = {_text(c.descriptor.get("digest")) for c in pool}
    if len(distinct) > 1:
        labels = sorted({f"{'/'.join(c.ref_names) or '<untagged>'} [{c.platform or 'any platform'}]" for c in pool})
        raise ImageSelectionError(
            f"{files.what}: holds {len(distinct)} images; pick one with IMAGE:tag, --tag or --platform "
            f"({'; '.join(labels)})"
        )
    return pool[0]


def _ref_matches(ref_name: str, wanted: str) -> bool:
    if ref_name == wanted or _tag_matches(ref_name, wanted):
        return True
    # OCI ref names are often just the tag ("1.0"); accept "name:1.0" for them.
    return ":" in wanted and ref_name == wanted.rsplit(":", 1)[1]


def _platform_matches(have: str, want: str) -> bool:
    have_parts, want_parts = have.split("/"), want.split("/")
    return have_parts[: len(want_parts)] == want_parts
