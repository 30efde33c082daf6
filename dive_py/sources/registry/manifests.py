"""Provides registry manifests: resolving a reference through indexes to one platform's manifest, and the
image's plan (config and layer blobs) from it; manifests and configs fetched by digest are verified and cached."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dive_py.errors import DigestMismatchError, ImageFormatError, ImageSelectionError, SourceError
from dive_py.sources.artifacts import artifact_type, descriptor_artifact_type
from dive_py.sources.base import SmallBlobStore
from dive_py.sources.plan import ImagePlan, LayerRef
from dive_py.sources.platforms import default_platform, platform_matches, platform_text
from dive_py.sources.reference import ImageName
from dive_py.sources.registry.client import RegistryClient

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
"""Manifest types divepy reads; schema 1 manifests are refused (no registry serves only those now)."""


def resolve_manifest(
    client: RegistryClient,
    name: ImageName,
    platform: str | None,
    cache: SmallBlobStore | None,
    indexes: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], str, str | None]:
    """Fetches the manifest for the reference, descending through an index to one platform; with it, its
    digest and the platform the index entry states (None when no index led to it). Each index passed is
    appended to ``indexes``, when given."""
    data, digest = _fetch_manifest(client, name, name.reference, cache)
    stated = None
    for _depth in range(4):
        manifest = _json_object(data, f"registry://{name}: manifest")
        media_type = manifest.get("mediaType")
        if media_type not in (OCI_INDEX, DOCKER_LIST) and not ("manifests" in manifest and "layers" not in manifest):
            if manifest.get("schemaVersion") == 1:
                raise ImageFormatError(f"registry://{name}: schema 1 manifests are not supported")
            kind = artifact_type(manifest)
            if kind is not None:
                raise ImageSelectionError(f"registry://{name} is not a container image (artifact type {kind})")
            return manifest, digest, stated
        chosen = choose_platform(manifest, platform or default_platform(), f"registry://{name}")
        entries = [m for m in manifest["manifests"] if isinstance(m, dict) and m.get("digest") == chosen]
        stated = platform_text(entries[0].get("platform"))
        if indexes is not None:
            indexes.append(manifest)
        data, digest = _fetch_manifest(client, name, chosen, cache)
    raise ImageFormatError(f"registry://{name}: indexes nest too deep")


def choose_platform(index: dict[str, Any], wanted: str, what: str) -> str:
    """The digest of the index entry for ``wanted`` (``os/arch[/variant]``).

    Raises:
        ImageSelectionError: no entry fits; the message lists the platforms there are.
    """
    entries = [m for m in index.get("manifests") or [] if isinstance(m, dict) and isinstance(m.get("digest"), str)]
    images = [entry for entry in entries if descriptor_artifact_type(entry) is None]  # never an attestation
    offered = []
    for entry in images:
        have = platform_text(entry.get("platform")) or ""
        offered.append(have)
        if have and platform_matches(have, wanted):
            digest: str = entry["digest"]  # a str: ``entries`` keeps only those
            return digest
    choices = ", ".join(p for p in offered if p) or "none"
    raise ImageSelectionError(f"{what}: no image for platform {wanted} (choices: {choices})", hint="use --platform")


def _fetch_manifest(
    client: RegistryClient, name: ImageName, reference: str, cache: SmallBlobStore | None
) -> tuple[bytes, str]:
    by_digest = reference.startswith("sha256:")
    if by_digest and cache is not None:
        cached = cache.read_small(reference)
        if cached is not None:
            return cached, reference
    repository = name.repository
    data, _ = client.read_small(f"/v2/{repository}/manifests/{reference}", repository, MANIFEST_ACCEPT)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if by_digest and digest != reference:
        raise DigestMismatchError(f"registry://{name}: manifest does not match its digest {reference[:19]}…")
    if by_digest and cache is not None:
        cache.store_small(digest, data)
    return data, digest


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ImageFormatError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ImageFormatError(f"{what} is not a JSON object")
    return value


def plan_from_manifest(
    client: RegistryClient, name: ImageName, manifest: dict[str, Any], cache: SmallBlobStore | None
) -> tuple[ImagePlan, dict[str, Any]]:
    """The plan of an image manifest: its config fetched and checked, its layers in order."""
    what = f"registry://{name}"
    config_descriptor = manifest.get("config")
    if not isinstance(config_descriptor, dict) or not isinstance(config_descriptor.get("digest"), str):
        raise ImageFormatError(f"{what}: manifest has no config")
    config_digest = config_descriptor["digest"]
    config = _json_object(_fetch_blob_small(client, name, config_digest, cache), f"{what}: image config")
    descriptors = manifest.get("layers")
    if not isinstance(descriptors, list):
        raise ImageFormatError(f"{what}: manifest has no layers list")
    rootfs = found if isinstance(found := config.get("rootfs"), dict) else {}
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != len(descriptors):
        raise ImageFormatError(f"{what}: the config's rootfs.diff_ids do not match the manifest's layers")
    layers, sizes = [], {}
    for index, descriptor in enumerate(descriptors):
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise ImageFormatError(f"{what}: layer {index} has no sha256 digest")
        blob = "blobs/sha256/" + digest[7:]
        sizes[blob] = _descriptor_size(descriptor, f"{what}: layer {index}")
        diff_id = diff_ids[index] if isinstance(diff_ids[index], str) else ""
        layers.append(LayerRef(blob, digest[7:], digest, diff_id, digest, diff_id or None))
    tags = [f"{name.host}/{name.repository}:{name.tag}"] if name.tag else []
    return ImagePlan("registry", config, config_digest, layers, tags), sizes


def _descriptor_size(descriptor: dict[str, Any], what: str) -> int:
    """A descriptor's ``size``: a whole number of bytes, which a download may never exceed."""
    size = descriptor.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 63:
        raise ImageFormatError(f"{what}: the manifest's size {str(size)[:40]!r} is not a number of bytes")
    return size


def attached_provenance(
    client: RegistryClient, name: ImageName, indexes: list[dict[str, Any]], digest: str, cache: SmallBlobStore | None
) -> dict[str, Any] | None:
    """The SLSA provenance predicate of the BuildKit attestation manifest that an index lists for the image
    manifest ``digest``, or None; one that cannot be read is as none (it is optional)."""
    for index in reversed(indexes):
        for entry in index.get("manifests") or []:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            if not isinstance(annotations, dict) or annotations.get("vnd.docker.reference.digest") != digest:
                continue
            if annotations.get("vnd.docker.reference.type") != "attestation-manifest":
                continue
            try:
                return _predicate(client, name, entry, cache)
            except (ImageFormatError, DigestMismatchError, SourceError, AttributeError):
                return None
    return None


def _predicate(
    client: RegistryClient, name: ImageName, entry: dict[str, Any], cache: SmallBlobStore | None
) -> dict[str, Any] | None:
    data, _ = _fetch_manifest(client, name, str(entry.get("digest")), cache)
    layers = _json_object(data, f"registry://{name}: attestation").get("layers")
    for layer in layers if isinstance(layers, list) else []:
        kind = layer.get("annotations", {}).get("in-toto.io/predicate-type", "") if isinstance(layer, dict) else ""
        if isinstance(kind, str) and kind.startswith("https://slsa.dev/provenance/"):
            statement = _json_object(_fetch_blob_small(client, name, str(layer.get("digest")), cache), "provenance")
            predicate = statement.get("predicate")
            return predicate if isinstance(predicate, dict) else None
    return None


def _fetch_blob_small(client: RegistryClient, name: ImageName, digest: str, cache: SmallBlobStore | None) -> bytes:
    cached = cache.read_small(digest) if cache is not None else None
    if cached is not None:
        return cached
    repository = name.repository
    data, _ = client.read_small(f"/v2/{repository}/blobs/{digest}", repository)
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise DigestMismatchError(f"registry://{name}: config does not match its digest {digest[:19]}…")
    if cache is not None:
        cache.store_small(digest, data)
    return data
