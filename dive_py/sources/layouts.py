"""Provides :func:`plan_image`: which layout a saved image has, and the plan of the image chosen in it.

``docker save`` (legacy and Docker 25+), containers/image ``docker-archive``, kaniko and Jib tarballs all
carry a ``manifest.json`` (:mod:`dive_py.sources.docker_layout`); OCI archives and folders carry
``index.json``, maybe with nested indexes and artifacts beside the images (:mod:`dive_py.sources.oci_layout`).
Both give a config and the layer blobs, oldest first.
"""

from __future__ import annotations

from dive_py.errors import ImageFormatError
from dive_py.sources.base import ImageFiles
from dive_py.sources.docker_layout import plan_docker
from dive_py.sources.oci_layout import plan_oci
from dive_py.sources.plan import ImagePlan, LayerRef

__all__ = ["ImagePlan", "LayerRef", "plan_image"]


def plan_image(files: ImageFiles, *, tag: str | None = None, platform: str | None = None) -> ImagePlan:
    """Finds the chosen image's config and layer blobs in a saved image.

    Raises:
        ImageFormatError: no known layout, or its JSON is broken or names missing blobs.
        ImageSelectionError: several images or platforms and ``tag``/``platform`` pick none.
    """
    if files.has("manifest.json"):
        return plan_docker(files, tag, platform)
    if files.has("index.json"):
        return plan_oci(files, tag, platform)
    raise ImageFormatError(
        f"{files.what}: not an image archive (no manifest.json or index.json)",
        hint="expected `docker save`, `podman save`, an OCI archive or an OCI layout folder",
    )
