"""Provides ``registry://``: an image read over the OCI distribution API, its layer blobs through the cache.

Each layer blob is streamed into the layer scanner while it is written to the blob store, and enters the
store (by ``os.replace``) only once its digest checked out, so a second look downloads no layer, and the
files of a registry image are read back from there. Without a blob store (``--no-cache``) nothing is kept:
a blob whose files are read is downloaded again.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable

from dive_py.cache.blobs import BlobCache
from dive_py.cache.scans import CacheKey, LayerCache, encode_scan
from dive_py.cache.store import layer_lock, prune_cache
from dive_py.errors import ImageFormatError, SourceError
from dive_py.layers.compression import HashingReader
from dive_py.layers.scan import scan_layer
from dive_py.model import LayerScan
from dive_py.sources.base import ImageFiles, closing_reader
from dive_py.sources.plan import ImagePlan
from dive_py.sources.reference import ImageName, parse_image_name
from dive_py.sources.registry.client import RegistryClient
from dive_py.sources.registry.credentials import find_credentials
from dive_py.sources.registry.manifests import attached_provenance, plan_from_manifest, resolve_manifest
from dive_py.sources.registry.transport import BLOB_RATE


class RegistryImage(ImageFiles):
    """The blobs of one image in a registry, read through the cache (when there is one)."""

    def __init__(
        self,
        client: RegistryClient,
        name: ImageName,
        cache: BlobCache | None,
        sizes: dict[str, int],
        scans: LayerCache | None = None,
    ) -> None:
        self.client = client
        self.image_name = name
        self.cache = cache
        self.scans = scans
        """The layer-scan cache: a layer scanned before (here or by a runner sharing the cache) is not read."""
        self.what = f"registry://{name}"
        self._sizes = sizes  # blob name -> size from the manifest

    def names(self) -> set[str]:
        return set(self._sizes)

    def resolve(self, name: str) -> str | None:
        return name if name in self._sizes else None

    def size_of(self, name: str) -> int:
        if name not in self._sizes:
            raise self._missing(name)
        return self._sizes[name]

    def read_bytes(self, name: str) -> bytes:
        raise self._missing(name)

    def scan(self, name, what, *, expected_digest, expected_diff_id, progress=None) -> LayerScan:  # noqa: ANN001
        digest = "sha256:" + name.rsplit("/", 1)[-1]
        if self.scans is None:
            return self._scan_blob(name, digest, what, expected_diff_id, progress)
        # Keyed by the blob's digest, which the registry's blob was verified against when the scan was made.
        key = CacheKey(digest, "digest", self._sizes.get(name, -1))
        root = self.cache.cache_root if self.cache is not None else self.scans.cache_root
        with layer_lock(root, digest):  # concurrent runs of this cache read a shared layer once
            found = self.scans.get(key, what)
            if found is not None and (not expected_diff_id or found.diff_id == expected_diff_id):
                return found
            scan = self._scan_blob(name, digest, what, expected_diff_id, progress)
            self.scans.put(key, encode_scan(scan, what))
            return scan

    def _scan_blob(self, name: str, digest: str, what: str, expected_diff_id: str | None, progress) -> LayerScan:  # noqa: ANN001
        cached = self.cache.open(digest, self._sizes.get(name)) if self.cache is not None else None
        if cached is not None:
            with cached:
                return scan_layer(
                    cached.read,
                    what,
                    expected_digest=digest,
                    expected_diff_id=expected_diff_id,
                    progress=progress,
                )
        return self._download(digest, what, expected_diff_id, progress)

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

    def _download(self, digest: str, what: str, expected_diff_id: str | None, progress) -> LayerScan:  # noqa: ANN001
        response = self._get(digest)
        writer = self.cache.writer(digest) if self.cache is not None else None
        counted = self._counted(response, what, digest)

        def read(n: int = -1) -> bytes:
            data = counted(n)
            if writer is not None:
                writer.write(data)
            return data

        try:
            scan = scan_layer(read, what, expected_digest=digest, expected_diff_id=expected_diff_id, progress=progress)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        finally:
            response.close()
        if writer is not None:
            writer.commit()
        return scan

    def open_blob(self, name: str) -> Callable[[int], bytes]:
        """The layer blob from the blob store, where it was verified into when the image was read; without
        the store (``--no-cache``) or once pruned from it, downloaded again (checked against its digest)."""
        digest = "sha256:" + name.rsplit("/", 1)[-1]
        blob = self.cache.open(digest, self._sizes.get(name)) if self.cache is not None else None
        if blob is not None:
            return closing_reader(blob)
        return _checked_at_end(self._get(digest), self._counted, f"{self.what}: layer blob {digest[:19]}…", digest)

    def close(self) -> None:
        if self.cache is not None and self.client.downloaded_bytes:
            prune_cache(self.cache.root)  # blobs were added: keep the cache within its limit


def _checked_at_end(response, counted, what: str, digest: str) -> Callable[[int], bytes]:  # noqa: ANN001
    """A downloaded blob's ``read(n)`` that closes the response at its end and checks the digest there."""
    hashed = HashingReader(counted(response, what, digest), digest, what)

    def read(n: int = -1) -> bytes:
        try:
            data = hashed.read(n)
        except BaseException:
            response.close()
            raise
        if not data:
            response.close()
            hashed.verify()
        return data

    return read


def registry_client(
    reference: str, *, username: str | None = None, password: str | None = None, insecure: bool = False
) -> tuple[RegistryClient, ImageName]:
    """A client for the registry a ``HOST/REPO[:TAG|@DIGEST]`` reference names, with its credentials."""
    name = parse_image_name(reference)
    credentials = find_credentials(name.host, username, password)
    return RegistryClient(name.host, credentials, insecure=insecure), name


def open_registry_image(
    client: RegistryClient,
    name: ImageName,
    platform: str | None,
    cache: BlobCache | None = None,
    scans: LayerCache | None = None,
) -> tuple[RegistryImage, ImagePlan]:
    """Resolves the manifest (through indexes to ``platform``) and plans the image; layers are read on scan.

    ``cache`` keeps (and serves) the manifests, config and layer blobs; None (``--no-cache``) keeps nothing.

    Raises:
        SourceError: unreachable registry, refused credentials, unknown image.
        ImageFormatError: a manifest or config that is broken or fails its digest.
        ImageSelectionError: the index has no image for the wanted platform.
    """
    indexes: list[dict] = []
    manifest, manifest_digest, stated = resolve_manifest(client, name, platform, cache, indexes)
    plan, sizes = plan_from_manifest(client, name, manifest, cache)
    plan.platform = stated
    plan.provenance = attached_provenance(client, name, indexes, manifest_digest, cache) if indexes else None
    plan.source = f"registry ({manifest.get('mediaType') or 'manifest'} {manifest_digest[:19]})"
    return RegistryImage(client, name, cache, sizes, scans), plan
