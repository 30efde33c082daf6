"""Provides the line between container images and the artifacts stored beside them.

Registries and layouts hold more than images: OCI 1.1 referrers (SBOMs, signatures, attestations, with an
``artifactType`` and a ``subject``), cosign signatures, buildx attestation manifests (platform
``unknown/unknown``, ``vnd.docker.reference.type: attestation-manifest``), Helm charts, WASM modules.
None of these is a file system to explore: they are never counted when an image is chosen, and asked
for directly they are named as what they are.
"""

from __future__ import annotations

from typing import Any

IMAGE_CONFIG_TYPES = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}
"""Config media types of runnable images (an artifact's config is empty or its own type)."""

LAYER_TYPE_PREFIXES = (
    "application/vnd.oci.image.layer.",
    "application/vnd.docker.image.rootfs.",
)
"""Media types of tar layers (plain, gzip, zstd; non-distributable and foreign ones included)."""

REFERENCE_TYPE = "vnd.docker.reference.type"
"""buildx's annotation on attestation manifests in an image index."""


def descriptor_artifact_type(descriptor: dict[str, Any]) -> str | None:
    """What an index entry says it is when it says it is no image, else None (the manifest may still say so)."""
    annotations = descriptor.get("annotations")
    if isinstance(annotations, dict) and isinstance(stated := annotations.get(REFERENCE_TYPE), str):
        return stated
    if isinstance(stated := descriptor.get("artifactType"), str):
        return stated
    platform = descriptor.get("platform")
    if isinstance(platform, dict) and platform.get("os") == "unknown" and platform.get("architecture") == "unknown":
        return "attestation (platform unknown/unknown)"
    media_type = descriptor.get("mediaType")
    if isinstance(media_type, str) and media_type.endswith("artifact.manifest.v1+json"):
        return media_type
    return None


def artifact_type(manifest: dict[str, Any]) -> str | None:
    """The type of artifact a manifest describes, or None when it describes a container image.

    An image has an image config and tar layers only; anything else (an ``artifactType``, an empty or
    foreign config, a signature or SBOM layer) is an artifact, named by the most specific type it states.
    """
    if isinstance(stated := manifest.get("artifactType"), str):
        return stated
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if isinstance(config_type, str) and config_type not in IMAGE_CONFIG_TYPES:
        return config_type
    layers = manifest.get("layers")
    for layer in layers if isinstance(layers, list) else []:
        layer_type = layer.get("mediaType") if isinstance(layer, dict) else None
        if isinstance(layer_type, str) and not layer_type.startswith(LAYER_TYPE_PREFIXES):
            return layer_type
    return None
