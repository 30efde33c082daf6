"""Provides :class:`RegistryClient`: the distribution API over HTTP(S) to one registry host.

Authentication follows the registry's ``WWW-Authenticate`` challenge: anonymous or credentialed bearer
tokens, or basic auth. Plain http is used for loopback registries or with ``--insecure``.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import ssl
import urllib.parse
from dataclasses import dataclass, field
from typing import cast

from dive_py.errors import ImageFormatError, SourceError
from dive_py.sources.reference import DOCKER_HUB, DOCKER_HUB_API
from dive_py.sources.registry.credentials import PASSWORD_ENV, Credentials
from dive_py.sources.registry.transport import (
    DISCARD_LIMIT,
    DeadlineResponse,
    Watchdog,
    check_redirect,
    deadline_error,
    discard,
    endpoint,
    join_url,
    request_deadline,
    split_url,
)

TIMEOUT = 60.0
"""Seconds to wait for a registry to answer or send more bytes."""

MANIFEST_LIMIT = 4 << 20
"""Largest manifest or config accepted (the distribution spec suggests 4 MiB for manifests)."""

MAX_REDIRECTS = 5
"""Blob downloads are often redirected to storage; more hops than this is a loop."""


def is_loopback(hostname: str) -> bool:
    """Whether a host name is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


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
    deadline: float = field(default_factory=request_deadline)
    """Seconds one request may take in all (``DIVEPY_REGISTRY_DEADLINE``); a blob gets more by its size."""
    downloaded_bytes: int = 0
    """Blob bytes fetched over the network (manifests excluded): tests check the cache with it."""
    _authorization: str | None = None
    _scheme: str | None = None
    _tried_basic: bool = False
    _token_scopes: set[str] = field(default_factory=set)

    @property
    def api_host(self) -> str:
        """The host the API is asked at (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def lenient(self) -> bool:
        """Loopback registries and ``--insecure`` may speak plain http or TLS without a trusted certificate."""
        hostname = urllib.parse.urlsplit(f"//{self.api_host}").hostname or ""
        return self.insecure or is_loopback(hostname)

    @property
    def scheme(self) -> str:
        """``https``, or ``http`` where a lenient registry answers only that (probed once)."""
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

    def _open(self, url: str, headers: dict[str, str], deadline: float | None = None) -> http.client.HTTPResponse:
        """One GET with an overall deadline (default :attr:`deadline`); the answer's reads enforce it."""
        parts = split_url(self.host, url)
        connection = self._connection(parts, url)
        watchdog = Watchdog(connection, deadline or self.deadline)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", path or "/", headers={"User-Agent": "divepy", **headers})
            response = connection.getresponse()
        except (ValueError, OSError, http.client.HTTPException) as exc:
            watchdog.cancel()  # and closes the connection
            raise self._open_error(exc, parts.netloc, watchdog) from None
        # getresponse() is typed as the base class; the connection's response_class makes it a DeadlineResponse
        answer = cast(DeadlineResponse, response)
        answer.watchdog, answer.registry = watchdog, self.host
        return answer

    def _connection(self, parts: urllib.parse.SplitResult, url: str) -> http.client.HTTPConnection:
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
        connection.response_class = DeadlineResponse
        return connection

    def _open_error(self, exc: Exception, netloc: str, watchdog: Watchdog) -> SourceError:
        """What a failed request says: the deadline passed, a malformed request, TLS, or the connection."""
        if watchdog.expired:  # a trickle of TLS records or headers past the deadline
            return deadline_error(self.host, watchdog.seconds)
        if isinstance(exc, ValueError):  # a URL or header value with control characters (from a hostile answer)
            return SourceError(f"registry {self.host}: refusing a malformed request to {netloc}: {exc}")
        if isinstance(exc, ssl.SSLError):
            return SourceError(
                f"registry {self.host}: TLS failed ({exc.reason or exc})",
                hint="for a registry without a trusted certificate, use --insecure",
            )
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return SourceError(f"registry {self.host}: cannot connect to {netloc}: {reason}")

    def get(
        self, path: str, repository: str, accept: str | None = None, *, deadline: float | None = None
    ) -> http.client.HTTPResponse:
        """``GET /v2/...`` with authentication and redirects handled; returns a 2xx response or raises.

        ``deadline`` (seconds, default :attr:`deadline`) bounds each request made, the answer's body included.

        Raises:
            SourceError: unreachable, authentication refused, not found, or another HTTP error.
        """
        url = f"{self.scheme}://{self.api_host}{path}"
        headers = {"Accept": accept} if accept else {}
        for _attempt in range(3):
            response = self._follow(url, headers, deadline)
            if response.status != 401:
                break
            challenge = response.getheader("WWW-Authenticate", "")
            discard(response)
            if not self._answer_challenge(challenge, repository):
                raise SourceError(
                    f"registry {self.host}: authentication refused for {repository}",
                    hint=self._auth_hint(),
                )
        if response.status == 401:
            raise SourceError(f"registry {self.host}: authentication refused for {repository}", hint=self._auth_hint())
        if response.status >= 300:
            body = response.read(DISCARD_LIMIT)
            response.close()
            raise self._http_error(response.status, body, repository, path)
        return response

    def _follow(self, url: str, headers: dict[str, str], deadline: float | None) -> http.client.HTTPResponse:
        """GET with redirects followed; never from https to http, credentials only to the same scheme, host, port."""
        origin = endpoint(url)
        for _hop in range(MAX_REDIRECTS):
            sent = dict(headers)
            if self._authorization and endpoint(url) == origin:
                sent["Authorization"] = self._authorization
            response = self._open(url, sent, deadline)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.getheader("Location", "")
            discard(response)
            target = join_url(self.host, url, location)
            check_redirect(self.host, url, target)
            url = target
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
        realm_parts = split_url(self.host, realm)
        realm_host = realm_parts.hostname or ""
        if realm_parts.scheme != "https" and not (self.insecure or is_loopback(realm_host)):
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
        if not token.isascii() or not token.isprintable():  # CR/LF would split the Authorization header
            raise SourceError(f"registry {self.host}: the token server's token holds control characters")
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
