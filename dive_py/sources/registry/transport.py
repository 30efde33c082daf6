"""Provides the registry client's HTTP rules: an overall deadline per request, which redirects are followed and
where credentials may go, and bounded reads of answers nobody needs whole.

Every byte a registry answers is hostile: a server that sends a byte every few seconds defeats a per-read
timeout, so each request also gets a deadline after which its socket is shut (a timer thread does it, so a
trickle of headers, TLS records or body bytes is cut alike).
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import urllib.parse

from dive_py.errors import ConfigError, SourceError

DEADLINE_ENV = "DIVEPY_REGISTRY_DEADLINE"
"""Environment variable: seconds each registry request may take in all (answer and body)."""

DEFAULT_DEADLINE = 300.0
"""Seconds a request may take when :data:`DEADLINE_ENV` is not set."""

BLOB_RATE = 256 << 10
"""Bytes a second a layer download must average: its deadline grows by its declared size over this rate."""

DISCARD_LIMIT = 64 << 10
"""Most bytes read of an answer that is dropped (a redirect, a 401, an error): an 800 MB body stays unread."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def request_deadline() -> float:
    """The deadline of one request in seconds, from :data:`DEADLINE_ENV` (default :data:`DEFAULT_DEADLINE`).

    Raises:
        ConfigError: the variable is set to something that is not a positive number of seconds.
    """
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if not text:
        return DEFAULT_DEADLINE
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e9:
        raise ConfigError(f"{DEADLINE_ENV}={text[:40]!r} is not a positive number of seconds")
    return seconds


def split_url(registry: str, url: str) -> urllib.parse.SplitResult:
    """A URL's parts, its port checked (a registry's Location or realm may be anything).

    Raises:
        SourceError: the URL does not parse, or its port is not a number from 0 to 65535.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise SourceError(f"registry {registry}: malformed URL {url[:100]!r}") from None
    return parts


def join_url(registry: str, base: str, location: str) -> str:
    """``location`` (a redirect's) resolved against ``base``, checked as :func:`split_url` checks."""
    try:
        target = urllib.parse.urljoin(base, location)
    except ValueError:
        target = location
    split_url(registry, target)
    return target


def endpoint(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in from the scheme: what credentials are bound to."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(parts.scheme.lower())


def check_redirect(registry: str, current: str, target: str) -> None:
    """Refuses a redirect that would leave TLS (from https to anything else).

    Raises:
        SourceError: the redirect goes from https to plain http (or another scheme).
    """
    before, after = endpoint(current)[0], endpoint(target)[0]
    if before == "https" and after != "https":
        raise SourceError(f"registry {registry}: will not follow a redirect from https to {after or 'a relative'} URL")


def discard(response: http.client.HTTPResponse) -> None:
    """Reads at most :data:`DISCARD_LIMIT` bytes of an answer that is not used, and closes it."""
    try:
        response.read(DISCARD_LIMIT)
    except (OSError, http.client.HTTPException):
        pass  # the answer is dropped anyway
    response.close()


class Watchdog:
    """Shuts a connection's socket once a request's deadline passes (reads then end, and say why)."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._connection = connection
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def cancel(self) -> None:
        """Stops the timer and closes the connection (each request has its own)."""
        self._timer.cancel()
        self._connection.close()


class DeadlineResponse(http.client.HTTPResponse):
    """An answer whose reads fail with a clear error once its request's deadline passed."""

    watchdog: Watchdog | None = None
    registry = ""

    def read(self, amt: int | None = None) -> bytes:
        """Reads up to ``amt`` bytes, an expired deadline raised as the registry's error."""
        try:
            data = super().read(amt)
        except (OSError, http.client.HTTPException):
            self._check_deadline()
            raise
        self._check_deadline()  # a read the shut socket cut short returns what came: not an answer
        return data

    def _check_deadline(self) -> None:
        watchdog = self.watchdog
        if watchdog is not None and watchdog.expired:
            raise deadline_error(self.registry, watchdog.seconds)

    def close(self) -> None:
        """Closes the answer and cancels its deadline."""
        super().close()
        if self.watchdog is not None:
            self.watchdog.cancel()  # and the connection: an unread rest of the answer is dropped, not buffered


def deadline_error(registry: str, seconds: float) -> SourceError:
    """The error of a request that outlived its deadline."""
    return SourceError(
        f"registry {registry}: the request took longer than {seconds:g} s",
        hint=f"set {DEADLINE_ENV} to allow more seconds per request",
    )
