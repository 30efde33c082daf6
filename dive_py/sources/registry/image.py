"""Provides ``registry://``: an image read over the OCI distribution API.

The source hands down its blobs as the registry sends them (:meth:`RegistryImage.open_blob`, counted and
bounded by the manifest's sizes). The loader streams each layer blob into the scanner while it writes it
to the blob store, where it enters (by ``os.replace``) only once its digest checked out, so a second look
downloads no layer, and the files of a registry image are read back from there
(:mod:`dive_py.load.blobs`). Without a blob store (``--no-cache``) nothing is kept: a blob whose files
are read is downloaded again.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from dive_py.errors import ImageFormatError, SourceError
from dive_py.sources.base import ImageFiles, SmallBlobStore
from dive_py.sources.plan import ImagePlan
from dive_py.sources.reference import ImageName, parse_image_name
from dive_py.sources.registry.client import RegistryClient
from dive_py.sources.registry.credentials import find_credentials
from dive_py.sources.registry.manifests import attached_provenance, plan_from_manifest, resolve_manifest
from dive_py.sources.registry.transport import BLOB_RATE


class RegistryImage(ImageFiles):
    """The blobs of one image in a registry, downloaded when opened."""

    remote = True

    def __init__(self, client: RegistryClient, name: ImageName, sizes: dict[str, int]) -> None:
        self.client = client
        self.image_name = name
        self.what = f"registry://{name}"
        self._sizes = sizes  # blob name -> size from the manifest

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        return set(self._sizes)

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        return name if name in self._sizes else None

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        if name not in self._sizes:
            raise self._missing(name)
        return self._sizes[name]

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        raise self._missing(name)

    def _get(self, digest: str) -> http.client.HTTPResponse:
        repository = self.image_name.repository
        client = self.client
        # A big layer may take longer than one request's deadline, at a fair rate (BLOB_RATE) for its size.
        declared = self._declared(digest)
        return client.get(
            f"/v2/{repository}/blobs/{digest}", repository, deadline=client.deadline + declared / BLOB_RATE
        )

    def _declared(self, digest: str) -> int:
        return self._sizes.get("blobs/sha256/" + digest[7:], 0)

    def _counted(self, response: http.client.HTTPResponse, what: str, digest: str) -> Callable[[int], bytes]:
        """``response.read``, counted in the client's downloaded bytes and bounded by the manifest's size;
        a broken download is one line."""
        client = self.client
        declared = self._declared(digest)
        received = 0

        def read(n: int = -1) -> bytes:
            nonlocal received
            # Never more than the manifest declares (+1 to notice a longer blob): a registry streaming
            # endless bytes for a small descriptor would fill the disk before the digest check.
            want = declared + 1 - received if n is None or n < 0 else min(n, declared + 1 - received)
            try:
                data = response.read(max(want, 0))
            except (OSError, http.client.HTTPException) as exc:
                raise SourceError(f"{what}: download broke off: {exc}") from None
            received += len(data)
            if received > declared:
                raise ImageFormatError(
                    f"{what}: the registry sent more than the {declared} bytes the manifest declares"
                )
            client.downloaded_bytes += len(data)
            return data

        return read

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """The blob as the registry sends it, unchecked (the loader checks it against its digest)."""
        if name not in self._sizes:
            raise self._missing(name)
        digest = "sha256:" + name.rsplit("/", 1)[-1]
        response = self._get(digest)
        what = what or f"{self.what}: layer blob {digest[:19]}…"
        return _closing_at_end(response, self._counted(response, what, digest))


def _closing_at_end(response: http.client.HTTPResponse, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """``read`` that closes the response at its end, or when it fails."""

    def reading(n: int = -1) -> bytes:
        try:
            data = read(n)
        except BaseException:
            response.close()
            raise
        if not data:
            response.close()
        return data

    return reading


def registry_client(
    reference: str, *, username: str | None = None, password: str | None = None, insecure: bool = False
) -> tuple[RegistryClient, ImageName]:
    """A client for the registry a ``HOST/REPO[:TAG|@DIGEST]`` reference names, with its credentials."""
    name = parse_image_name(reference)
    credentials = find_credentials(name.host, username, password)
    return RegistryClient(name.host, credentials, insecure=insecure), name


def open_registry_image(
    client: RegistryClient, name: ImageName, platform: str | None, cache: SmallBlobStore | None = None
) -> tuple[RegistryImage, ImagePlan]:
    """Resolves the manifest (through indexes to ``platform``) and plans the image; layers are read on scan.

    ``cache`` keeps (and serves) the manifests and config; None (``--no-cache``) keeps nothing. The layer
    blobs are the loader's to keep.

    Raises:
        SourceError: unreachable registry, refused credentials, unknown image.
        ImageFormatError: a manifest or config that is broken or fails its digest.
        ImageSelectionError: the index has no image for the wanted platform.
    """
    indexes: list[dict[str, Any]] = []
    manifest, manifest_digest, stated = resolve_manifest(client, name, platform, cache, indexes)
    plan, sizes = plan_from_manifest(client, name, manifest, cache)
    plan.platform = stated
    plan.provenance = attached_provenance(client, name, indexes, manifest_digest, cache) if indexes else None
    plan.source = f"registry ({manifest.get('mediaType') or 'manifest'} {manifest_digest[:19]})"
    return RegistryImage(client, name, sizes), plan
