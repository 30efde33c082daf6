"""Provides ``registry://``: images read over the OCI distribution API, layers cached by digest.

Manifest lists and OCI indexes are resolved to one platform (``--platform``, default this
machine's). Authentication follows the registry's ``WWW-Authenticate`` challenge: anonymous or
credentialed bearer tokens, or basic auth, with credentials from ``--username`` plus
``DIVEPY_PASSWORD`` or from ``~/.docker/config.json`` (``auths``, ``credHelpers``, ``credsStore``).
Plain http is used for loopback registries or with ``--insecure``. Each layer blob is streamed
into the layer scanner while it is written to the cache, and enters the cache (by ``os.replace``)
only once its digest checked out, so a second look downloads no layer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import ipaddress
import json
import os
import platform as platform_module
import re
import shutil
import ssl
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from dive_py.cache.scans import default_cache_dir, prune_cache
from dive_py.errors import DigestMismatchError, ImageFormatError, ImageSelectionError, SourceError
from dive_py.layers.scan import scan_layer
from dive_py.load.image import LoadOptions, build_image
from dive_py.model import Image, LayerScan
from dive_py.sources.archive import ImageFiles
from dive_py.sources.engine import docker_config_dir
from dive_py.sources.layouts import ImagePlan, LayerRef
from dive_py.sources.reference import DOCKER_HUB, DOCKER_HUB_API, ImageName, parse_image_name

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
"""Manifest types divepy reads; schema 1 manifests are refused (no registry serves only those now)."""

TIMEOUT = 60.0
"""Seconds to wait for a registry to answer or send more bytes."""

MANIFEST_LIMIT = 4 << 20
"""Largest manifest or config accepted (the distribution spec suggests 4 MiB for manifests)."""

MAX_REDIRECTS = 5
"""Blob downloads are often redirected to storage; more hops than this is a loop."""

PASSWORD_ENV = "DIVEPY_PASSWORD"
"""Environment variable holding the password for ``--username`` (never a flag: it would show in ps)."""

_ARCH_NAMES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm/v7",
    "armv6l": "arm/v6",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def _dict(value: Any) -> dict:
    """The value when it is a JSON object, else an empty one (foreign JSON is never trusted)."""
    return value if isinstance(value, dict) else {}


def default_platform() -> str:
    """This machine's platform in OCI terms, e.g. ``linux/amd64``."""
    machine = platform_module.machine().lower()
    return f"linux/{_ARCH_NAMES.get(machine, machine)}"


def is_loopback(hostname: str) -> bool:
    """Whether a host name is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


# -- credentials -------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or identity token) for one registry."""

    username: str
    password: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def find_credentials(host: str, username: str | None = None, password: str | None = None) -> Credentials | None:
    """Credentials for ``host``: ``--username`` with the password from ``DIVEPY_PASSWORD``, else docker's config.

    Raises:
        SourceError: ``--username`` without a password, or a credential helper that fails.
    """
    if username:
        password = password if password is not None else os.environ.get(PASSWORD_ENV)
        if password is None:
            raise SourceError(f"registry: --username {username} given but {PASSWORD_ENV} is not set")
        return Credentials(username, password)
    return _docker_config_credentials(host)


def _docker_config_credentials(host: str) -> Credentials | None:
    try:
        with open(os.path.join(docker_config_dir(), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(config, dict):
        return None
    keys = _config_keys(host)
    helpers = _dict(config.get("credHelpers"))
    for key in keys:
        if isinstance(helpers.get(key), str):
            return _from_helper(helpers[key], key)
    auths = _dict(config.get("auths"))
    for name, entry in auths.items():
        if _normalise_config_key(name) in keys and isinstance(entry, dict):
            found = _from_auth_entry(entry)
            if found is not None:
                return found
    if isinstance(config.get("credsStore"), str):
        return _from_helper(config["credsStore"], keys[0], missing_ok=True)
    return None


def _config_keys(host: str) -> list[str]:
    if host in (DOCKER_HUB, DOCKER_HUB_API, "index.docker.io"):
        return ["https://index.docker.io/v1/", "index.docker.io", DOCKER_HUB, DOCKER_HUB_API]
    return [host]


def _normalise_config_key(name: str) -> str:
    """``https://host/v1/`` and ``host`` name the same registry in ``auths``."""
    if name == "https://index.docker.io/v1/":
        return name
    return re.sub(r"^https?://", "", name).split("/", 1)[0]


def _from_auth_entry(entry: dict) -> Credentials | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, _, secret = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, secret)
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"])
    if isinstance(entry.get("identitytoken"), str):
        return Credentials("<token>", entry["identitytoken"])
    return None


def _from_helper(helper: str, key: str, *, missing_ok: bool = False) -> Credentials | None:
    program = f"docker-credential-{helper}"
    if shutil.which(program) is None:
        if missing_ok:
            return None
        raise SourceError(f"registry: docker config names credential helper {program}, which is not installed")
    result = subprocess.run([program, "get"], input=key.encode(), capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        if missing_ok or b"credentials not found" in result.stdout + result.stderr:
            return None
        raise SourceError(f"registry: {program} failed for {key}: {result.stderr.decode(errors='replace').strip()}")
    try:
        value = json.loads(result.stdout)
        return Credentials(str(value["Username"]), str(value["Secret"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        raise SourceError(f"registry: {program} gave an answer that is not credentials") from None


# -- HTTP ----------------------------------------------------------------------


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Splits ``Bearer realm="...",service="...",scope="..."`` into the scheme and its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}
    for key, value in re.findall(r'(\w+)=([^",\s]+)', rest):
        params.setdefault(key.lower(), value)
    return scheme.lower(), params


@dataclass
class RegistryClient:
    """Talks the distribution API to one registry host, keeping the token it was given."""

    host: str
    """``host[:port]`` as named in the reference."""
    credentials: Credentials | None = None
    insecure: bool = False
    timeout: float = TIMEOUT
    downloaded_bytes: int = 0
    """Blob bytes fetched over the network (manifests excluded): tests check the cache with it."""
    _authorization: str | None = None
    _scheme: str | None = None
    _tried_basic: bool = False
    _token_scopes: set[str] = field(default_factory=set)

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def lenient(self) -> bool:
        """Loopback registries and ``--insecure`` may speak plain http or TLS without a trusted certificate."""
        hostname = urllib.parse.urlsplit(f"//{self.api_host}").hostname or ""
        return self.insecure or is_loopback(hostname)

    @property
    def scheme(self) -> str:
        if self._scheme is None:
            self._scheme = self._probe_scheme() if self.lenient else "https"
        return self._scheme

    def _probe_scheme(self) -> str:
        """http, unless the registry answers a plain request the way a TLS server does (HTTP 400)."""
        try:
            response = self._open(f"http://{self.api_host}/v2/", {})
        except SourceError:
            return "https"
        response.read(65536)
        response.close()
        # Go's TLS servers answer plain http with "400 Client sent an HTTP request to an HTTPS server".
        return "https" if response.status == 400 else "http"

    def _open(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if self.lenient:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.netloc, timeout=self.timeout, context=context
            )
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        else:
            raise SourceError(f"registry {self.host}: will not follow a redirect to {url[:100]}")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", path or "/", headers={"User-Agent": "divepy", **headers})
            return connection.getresponse()
        except ssl.SSLError as exc:
            connection.close()
            raise SourceError(
                f"registry {self.host}: TLS failed ({exc.reason or exc})",
                hint="for a registry without a trusted certificate, use --insecure",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise SourceError(f"registry {self.host}: cannot connect to {parts.netloc}: {reason}") from None

    def get(self, path: str, repository: str, accept: str | None = None) -> http.client.HTTPResponse:
        """``GET /v2/...`` with authentication and redirects handled; returns a 2xx response or raises.

        Raises:
            SourceError: unreachable, authentication refused, not found, or another HTTP error.
        """
        url = f"{self.scheme}://{self.api_host}{path}"
        headers = {"Accept": accept} if accept else {}
        for _attempt in range(3):
            response = self._follow(url, headers)
            if response.status != 401:
                break
            challenge = response.getheader("WWW-Authenticate", "")
            response.read()
            response.close()
            if not self._answer_challenge(challenge, repository):
                raise SourceError(
                    f"registry {self.host}: authentication refused for {repository}",
                    hint=self._auth_hint(),
                )
        if response.status == 401:
            raise SourceError(f"registry {self.host}: authentication refused for {repository}", hint=self._auth_hint())
        if response.status >= 300:
            body = response.read(65536)
            response.close()
            raise self._http_error(response.status, body, repository, path)
        return response

    def _follow(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        origin = urllib.parse.urlsplit(url).netloc
        for _hop in range(MAX_REDIRECTS):
            sent = dict(headers)
            if self._authorization and urllib.parse.urlsplit(url).netloc == origin:
                sent["Authorization"] = self._authorization
            response = self._open(url, sent)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.getheader("Location", "")
            response.read()
            response.close()
            url = urllib.parse.urljoin(url, location)
        raise SourceError(f"registry {self.host}: too many redirects")

    def _answer_challenge(self, challenge: str, repository: str) -> bool:
        """Gets a token or sets basic auth; False when there is nothing new to try."""
        scheme, params = _parse_challenge(challenge)
        if scheme == "bearer" and params.get("realm"):
            scope = params.get("scope") or f"repository:{repository}:pull"
            key = f"{params['realm']} {scope}"
            if key in self._token_scopes:
                return False
            self._token_scopes.add(key)
            self._authorization = "Bearer " + self._fetch_token(params["realm"], params.get("service"), scope)
            return True
        if scheme == "basic":
            if self.credentials is None or self._tried_basic:
                return False
            self._tried_basic = True
            self._authorization = self.credentials.basic()
            return True
        return False

    def _fetch_token(self, realm: str, service: str | None, scope: str) -> str:
        query = {"scope": scope}
        if service:
            query["service"] = service
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        realm_host = urllib.parse.urlsplit(realm).hostname or ""
        if urllib.parse.urlsplit(realm).scheme != "https" and not (self.insecure or is_loopback(realm_host)):
            raise SourceError(f"registry {self.host}: refusing to send credentials to a plain-http token server")
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        response = self._open(url, headers)
        body = response.read(MANIFEST_LIMIT)
        response.close()
        if response.status in (401, 403):
            refused = "the credentials" if self.credentials else "anonymous access"
            raise SourceError(
                f"registry {self.host}: the token server refused {refused} for {scope}",
                hint=self._auth_hint(),
            )
        if response.status != 200:
            raise SourceError(f"registry {self.host}: the token server answered HTTP {response.status}")
        try:
            value = json.loads(body)
            token = value.get("token") or value.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            raise SourceError(f"registry {self.host}: the token server's answer holds no token")
        return token

    def _auth_hint(self) -> str:
        if self.credentials is None:
            return f"log in with `docker login {self.host}`, or pass --username with {PASSWORD_ENV} set"
        return f"check the user name and password for {self.host}"

    def _http_error(self, status: int, body: bytes, repository: str, path: str) -> SourceError:
        code, message = "", ""
        try:
            errors = json.loads(body).get("errors") or []
            if errors and isinstance(errors[0], dict):
                code, message = str(errors[0].get("code", "")), str(errors[0].get("message", ""))
        except (ValueError, AttributeError, RecursionError):
            pass
        if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            what = "blob" if "/blobs/" in path else "image"
            ref = path.rsplit("/", 1)[-1]
            return SourceError(f"registry {self.host}: {what} {repository}:{ref} not found ({code or 'HTTP 404'})")
        if status == 403 or code == "DENIED":
            return SourceError(f"registry {self.host}: access to {repository} denied", hint=self._auth_hint())
        detail = f"{code} {message}".strip() or body[:200].decode("utf-8", "replace").strip()
        return SourceError(f"registry {self.host}: HTTP {status} for {path}: {detail}".rstrip(": "))

    def read_small(self, path: str, repository: str, accept: str | None = None) -> tuple[bytes, str]:
        """Fetches a manifest or config whole; returns its bytes and content type."""
        response = self.get(path, repository, accept)
        body = response.read(MANIFEST_LIMIT + 1)
        response.close()
        if len(body) > MANIFEST_LIMIT:
            raise ImageFormatError(f"registry {self.host}: {path} is larger than {MANIFEST_LIMIT} bytes")
        return body, (response.getheader("Content-Type") or "").split(";")[0].strip()


# -- cache -----------------------------------------------------------------------


class BlobCache:
    """Verified blobs by digest on disk; safe for concurrent runs (temp file + ``os.replace``)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root or default_cache_dir()  # blobs go under blobs/, beside the layer scans

    def path(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if not re.fullmatch(r"[0-9a-f]{64}", hexpart) or algorithm != "sha256":
            raise ImageFormatError(f"unsupported digest {digest[:80]!r} (divepy checks sha256 only)")
        return os.path.join(self.root, "blobs", algorithm, hexpart)

    def open(self, digest: str, size: int | None = None):  # noqa: ANN201 - BinaryIO | None
        """The cached blob, or None (a file of the wrong size is treated as missing)."""
        path = self.path(digest)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError:
            return None
        if size is not None and size >= 0 and os.fstat(f.fileno()).st_size != size:
            f.close()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last (cache.prune_cache)
        return f

    def writer(self, digest: str) -> _CacheWriter | None:
        """A temp file beside the final one, or None when the cache folder cannot be written."""
        folder = os.path.dirname(self.path(digest))
        try:
            os.makedirs(folder, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".part-", dir=folder)
        except OSError:
            return None
        return _CacheWriter(os.fdopen(fd, "wb"), temp, self.path(digest))

    def read_small(self, digest: str) -> bytes | None:
        f = self.open(digest)
        if f is None:
            return None
        with f:
            data = f.read(MANIFEST_LIMIT + 1)
        if len(data) > MANIFEST_LIMIT or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None
        return data

    def store_small(self, digest: str, data: bytes) -> None:
        writer = self.writer(digest)
        if writer is not None:
            writer.write(data)
            writer.commit()


@dataclass
class _CacheWriter:
    file: Any
    temp: str
    final: str
    failed: bool = False

    def write(self, data: bytes) -> None:
        if self.failed:
            return
        try:
            self.file.write(data)
        except OSError:
            self.failed = True  # a full disk costs the cache, not the analysis

    def commit(self) -> None:
        try:
            self.file.close()
            if not self.failed:
                os.replace(self.temp, self.final)
                return
        except OSError:
            pass
        self.discard()

    def discard(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass
        try:
            os.unlink(self.temp)
        except OSError:
            pass


# -- the image -----------------------------------------------------------------


class RegistryImage(ImageFiles):
    """The blobs of one image in a registry, read through the cache."""

    def __init__(self, client: RegistryClient, name: ImageName, cache: BlobCache, sizes: dict[str, int]) -> None:
        self.client = client
        self.image_name = name
        self.cache = cache
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
        cached = self.cache.open(digest, self._sizes.get(name))
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

    def _download(self, digest: str, what: str, expected_diff_id: str | None, progress) -> LayerScan:  # noqa: ANN001
        repository = self.image_name.repository
        response = self.client.get(f"/v2/{repository}/blobs/{digest}", repository)
        writer = self.cache.writer(digest)
        client = self.client

        def read(n: int = -1) -> bytes:
            try:
                data = response.read(n)
            except (OSError, http.client.HTTPException) as exc:
                raise SourceError(f"{what}: download broke off: {exc}") from None
            client.downloaded_bytes += len(data)
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


def load_from_registry(reference: str, options: LoadOptions) -> Image:
    """Reads ``registry://HOST/REPO[:TAG|@DIGEST]``: resolves the manifest, then scans each layer.

    Raises:
        SourceError: unreachable registry, refused credentials, unknown image.
        ImageFormatError: a manifest, config or layer that is broken or fails its digest.
        ImageSelectionError: the index has no image for the wanted platform.
    """
    name = parse_image_name(reference)
    credentials = find_credentials(name.host, options.username, options.password)
    client = RegistryClient(name.host, credentials, insecure=options.insecure)
    return load_with_client(client, name, options)


def load_with_client(
    client: RegistryClient, name: ImageName, options: LoadOptions, cache: BlobCache | None = None
) -> Image:
    """Like :func:`load_from_registry`, with a given client and cache (tests read their counters)."""
    cache = cache or BlobCache()
    manifest, manifest_digest = resolve_manifest(client, name, options.platform, cache)
    plan, sizes = _plan(client, name, manifest, cache)
    files = RegistryImage(client, name, cache, sizes)
    image = build_image(files, plan, f"registry://{name}", options)
    image.source = f"registry ({manifest.get('mediaType') or 'manifest'} {manifest_digest[:19]})"
    if client.downloaded_bytes:
        prune_cache(cache.root)  # blobs were added: keep the cache within its limit
    return image


def resolve_manifest(
    client: RegistryClient, name: ImageName, platform: str | None, cache: BlobCache
) -> tuple[dict, str]:
    """Fetches the manifest for the reference, descending through an index to one platform."""
    data, digest = _fetch_manifest(client, name, name.reference, cache)
    for _depth in range(4):
        manifest = _json_object(data, f"registry://{name}: manifest")
        media_type = manifest.get("mediaType")
        if media_type not in (OCI_INDEX, DOCKER_LIST) and not ("manifests" in manifest and "layers" not in manifest):
            if manifest.get("schemaVersion") == 1:
                raise ImageFormatError(f"registry://{name}: schema 1 manifests are not supported")
            return manifest, digest
        chosen = choose_platform(manifest, platform or default_platform(), f"registry://{name}")
        data, digest = _fetch_manifest(client, name, chosen, cache)
    raise ImageFormatError(f"registry://{name}: indexes nest too deep")


def choose_platform(index: dict, wanted: str, what: str) -> str:
    """The digest of the index entry for ``wanted`` (``os/arch[/variant]``).

    Raises:
        ImageSelectionError: no entry fits; the message lists the platforms there are.
    """
    entries = [m for m in index.get("manifests") or [] if isinstance(m, dict) and isinstance(m.get("digest"), str)]
    want = wanted.split("/")
    offered = []
    for entry in entries:
        plat = _dict(entry.get("platform"))
        have = [str(plat.get("os", "")), str(plat.get("architecture", ""))]
        if plat.get("variant"):
            have.append(str(plat["variant"]))
        offered.append("/".join(have))
        if have[: len(want)] == want or (len(want) == 3 and have == want[:2]):
            return entry["digest"]
    choices = ", ".join(p for p in offered if not p.startswith("unknown")) or "none"
    raise ImageSelectionError(f"{what}: no image for platform {wanted} (choices: {choices})", hint="use --platform")


def _fetch_manifest(client: RegistryClient, name: ImageName, reference: str, cache: BlobCache) -> tuple[bytes, str]:
    by_digest = reference.startswith("sha256:")
    if by_digest:
        cached = cache.read_small(reference)
        if cached is not None:
            return cached, reference
    repository = name.repository
    data, _ = client.read_small(f"/v2/{repository}/manifests/{reference}", repository, MANIFEST_ACCEPT)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if by_digest and digest != reference:
        raise DigestMismatchError(f"registry://{name}: manifest does not match its digest {reference[:19]}…")
    if by_digest:
        cache.store_small(digest, data)
    return data, digest


def _json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ImageFormatError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ImageFormatError(f"{what} is not a JSON object")
    return value


def _plan(client: RegistryClient, name: ImageName, manifest: dict, cache: BlobCache) -> tuple[ImagePlan, dict]:
    what = f"registry://{name}"
    config_descriptor = manifest.get("config")
    if not isinstance(config_descriptor, dict) or not isinstance(config_descriptor.get("digest"), str):
        raise ImageFormatError(f"{what}: manifest has no config")
    config_digest = config_descriptor["digest"]
    config = _json_object(_fetch_blob_small(client, name, config_digest, cache), f"{what}: image config")
    descriptors = manifest.get("layers")
    if not isinstance(descriptors, list):
        raise ImageFormatError(f"{what}: manifest has no layers list")
    rootfs = _dict(config.get("rootfs"))
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != len(descriptors):
        raise ImageFormatError(f"{what}: the config's rootfs.diff_ids do not match the manifest's layers")
    layers, sizes = [], {}
    for index, descriptor in enumerate(descriptors):
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise ImageFormatError(f"{what}: layer {index + 1} has no sha256 digest")
        blob = "blobs/sha256/" + digest[7:]
        sizes[blob] = int(descriptor.get("size") or 0)
        diff_id = diff_ids[index] if isinstance(diff_ids[index], str) else ""
        layers.append(LayerRef(blob, digest[7:], digest, diff_id, digest, diff_id or None))
    tags = [f"{name.host}/{name.repository}:{name.tag}"] if name.tag else []
    return ImagePlan("registry", config, config_digest, layers, tags), sizes


def _fetch_blob_small(client: RegistryClient, name: ImageName, digest: str, cache: BlobCache) -> bytes:
    cached = cache.read_small(digest)
    if cached is not None:
        return cached
    repository = name.repository
    data, _ = client.read_small(f"/v2/{repository}/blobs/{digest}", repository)
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise DigestMismatchError(f"registry://{name}: config does not match its digest {digest[:19]}…")
    cache.store_small(digest, data)
    return data
