"""Provides the plan of an OCI layout (``index.json``, in a folder or an archive; maybe nested indexes).

Every manifest the index leads to is a candidate; the ones that describe artifacts (referrers, signatures,
attestations, SBOMs, charts: :mod:`dive_py.sources.artifacts`) are told apart by their descriptor or, when
it says nothing, by their manifest, and never counted when the image is chosen.
"""

from __future__ import annotations

import re
from typing import Any

from dive_py.errors import ImageFormatError
from dive_py.sources.artifacts import artifact_type, descriptor_artifact_type
from dive_py.sources.base import ImageFiles
from dive_py.sources.choice import Candidate, choose
from dive_py.sources.plan import ImagePlan, LayerRef, diff_ids_of, load_json, text
from dive_py.sources.platforms import config_platform, platform_text

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
"""Media types of indexes, which list manifests (or more indexes) rather than describe an image."""

REF_NAMES = ("org.opencontainers.image.ref.name", "io.containerd.image.name")
"""Annotations that tag an index entry (OCI's, and containerd's full image name)."""

ATTESTATION_TYPE = "vnd.docker.reference.type"
ATTESTATION_REFERS = "vnd.docker.reference.digest"
"""BuildKit's annotations on an attestation manifest's descriptor: its kind, and the image manifest it is about."""

MAX_DEPTH = 8
"""Indexes nested deeper than this are a loop or hostile."""


def plan_oci(files: ImageFiles, tag: str | None, platform: str | None) -> ImagePlan:
    """The plan of the image ``tag`` and ``platform`` pick among those ``index.json`` leads to.

    Raises:
        ImageFormatError: the index, manifest or config is broken or names missing blobs.
        ImageSelectionError: no single image fits, or what fits is an artifact.
    """
    index = load_json(files, "index.json", dict)
    candidates = _expand_index(files, index, [], None, depth=0)
    if not candidates:
        raise ImageFormatError(f"{files.what}: index.json lists no image manifest")
    chosen = choose(candidates, files.what, tag, platform, lambda c: _config_platform(files, c.payload))
    descriptor = chosen.payload
    manifest_name, _ = blob_name(files, descriptor, "image manifest")
    manifest = load_json(files, manifest_name, dict)
    config_name, config_digest = blob_name(files, manifest.get("config"), "image config")
    config = load_json(files, config_name, dict)
    descriptors = manifest.get("layers")
    if not isinstance(descriptors, list):
        raise ImageFormatError(f"{files.what}: image manifest has no layers list")
    diff_ids = diff_ids_of(files, config, len(descriptors))
    layers = []
    for position, layer in enumerate(descriptors):
        blob, digest = blob_name(files, layer, f"layer {position}")
        layers.append(
            LayerRef(
                blob=blob,
                id=digest.partition(":")[2],
                digest=digest,
                diff_id=diff_ids[position],
                expected_digest=digest,
                expected_diff_id=diff_ids[position] or None,
            )
        )
    plan = ImagePlan("oci", config, config_digest, layers, chosen.names, platform=chosen.platform)
    plan.provenance = _provenance(files, candidates, chosen.digest)
    return plan


def _provenance(files: ImageFiles, candidates: list[Candidate], digest: str) -> dict[str, Any] | None:
    """The SLSA provenance predicate BuildKit attached to the image ``digest`` (an attestation manifest in the
    same index that refers to it), or None; an attestation that cannot be read is as none (it is optional)."""
    for candidate in candidates:
        annotations = candidate.payload.get("annotations") if isinstance(candidate.payload, dict) else None
        if not isinstance(annotations, dict) or annotations.get(ATTESTATION_REFERS) != digest:
            continue
        if annotations.get(ATTESTATION_TYPE) != "attestation-manifest":
            continue
        try:
            name, _ = blob_name(files, candidate.payload, "attestation manifest")
            layers = load_json(files, name, dict).get("layers")
            for layer in layers if isinstance(layers, list) else []:
                kind = (
                    layer.get("annotations", {}).get("in-toto.io/predicate-type", "") if isinstance(layer, dict) else ""
                )
                if isinstance(kind, str) and kind.startswith("https://slsa.dev/provenance/"):
                    statement = load_json(files, blob_name(files, layer, "provenance")[0], dict)
                    predicate = statement.get("predicate")
                    return predicate if isinstance(predicate, dict) else None
        except (ImageFormatError, AttributeError):
            return None
    return None


def blob_name(files: ImageFiles, descriptor: Any, what: str) -> tuple[str, str]:
    """The archive name of the blob a descriptor points to, and its digest.

    Raises:
        ImageFormatError: no digest, a malformed one, or a blob the layout lacks.
    """
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


def _expand_index(
    files: ImageFiles, index: dict[str, Any], names: list[str], platform: str | None, depth: int
) -> list[Candidate]:
    """Every manifest an index leads to (through nested indexes), as candidates."""
    if depth > MAX_DEPTH:
        raise ImageFormatError(f"{files.what}: image indexes nest too deep (a loop?)")
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageFormatError(f"{files.what}: index has no manifests list")
    found: list[Candidate] = []
    for descriptor in manifests:
        if not isinstance(descriptor, dict):
            raise ImageFormatError(f"{files.what}: index lists a manifest that is not an object")
        ref_names = [*names, *(n for n in _ref_names(descriptor) if n not in names)]
        plat = platform_text(descriptor.get("platform")) or platform
        if text(descriptor.get("mediaType")) in INDEX_TYPES and descriptor_artifact_type(descriptor) is None:
            name, _ = blob_name(files, descriptor, "nested index")
            nested = load_json(files, name, dict)
            found.extend(_expand_index(files, nested, ref_names, plat, depth + 1))
        else:
            digest = text(descriptor.get("digest")) or ""
            found.append(Candidate(digest, ref_names, plat, _artifact(files, descriptor), descriptor))
    return found


def _config_platform(files: ImageFiles, descriptor: Any) -> str | None:
    """The platform the config of a manifest states (for index entries that name none); None when it
    states none or cannot be read (then choosing it reports what is wrong)."""
    try:
        manifest_name, _ = blob_name(files, descriptor, "image manifest")
        config_name, _ = blob_name(files, load_json(files, manifest_name, dict).get("config"), "image config")
        return config_platform(load_json(files, config_name, dict))
    except ImageFormatError:
        return None


def _ref_names(descriptor: dict[str, Any]) -> list[str]:
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return []
    return [value for key in REF_NAMES if isinstance(value := annotations.get(key), str)]


def _artifact(files: ImageFiles, descriptor: dict[str, Any]) -> str | None:
    """What a manifest is when it is no image; None for an image, or when its manifest cannot be read
    (then choosing it reports what is wrong)."""
    stated = descriptor_artifact_type(descriptor)
    if stated is not None:
        return stated
    try:
        name, _ = blob_name(files, descriptor, "manifest")
        return artifact_type(load_json(files, name, dict))
    except ImageFormatError:
        return None
