"""Provides the shared cache: the local cache's stores mirrored in an S3-compatible object store.

``--cache-url s3://bucket/prefix`` (or ``$DIVEPY_CACHE_URL``) keeps layer scans, verified blobs and figures
records under ``prefix/`` with the local folder's names (``layers-v<N>/…``, ``blobs/sha256/<hex>``,
``figures-v<N>/…``), so runners on other machines (CI jobs, Dask workers) find what one of them made.
The local cache stays in front: a remote object is fetched once, checked and written to the local cache.

Safe beside concurrent runners: an S3 PUT (single or multipart, once completed) makes an object visible
whole or not at all, so a runner killed mid-upload leaves nothing; keys are content-addressed, so two
writers of one key write the same bytes. Every object carries the sha256 of its body (``x-amz-meta-
divepy-sha256``; a blob's key is its digest) and is checked on read: a corrupt or foreign object is
ignored with one warning. A store that cannot be reached (or a bucket deleted meanwhile) is warned
about once and left alone for the rest of the run: the analysis goes on with the local cache.

The client is boto3 (the ``scale`` extra): credentials from the usual AWS variables and files, the
endpoint from ``AWS_ENDPOINT_URL`` or the URL's ``?endpoint=`` query.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import urllib.parse
from typing import Any, Protocol

from dive_py.errors import ConfigError

URL_ENV = "DIVEPY_CACHE_URL"
"""The shared cache's URL; ``--cache-url`` sets it for this process and the ones it starts."""

CHECKSUM_META = "divepy-sha256"
"""The object metadata holding the sha256 of the body (the header ``x-amz-meta-divepy-sha256``)."""

INSTALL_HINT = "the shared cache needs the scale extra: pip install 'divepy[scale]'"

_state: dict[str, Any] = {"url": None, "store": None}  # url, store (RemoteStore | None)
_warnings: list[str] = []
"""Warnings of this process not yet printed (kept, not printed, in worker processes)."""


def client_available() -> bool:
    """Whether the object store client (boto3) is installed."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return False
    return True


def configure_remote(url: str | None) -> None:
    """Sets (or with None clears) the shared cache of this process and of the processes it starts.

    Raises:
        ConfigError: not an ``s3://bucket[/prefix]`` URL, or boto3 is not installed.
    """
    if url:
        parse_url(url)
        if not client_available():
            raise ConfigError(INSTALL_HINT)
        os.environ[URL_ENV] = url
    else:
        os.environ.pop(URL_ENV, None)
    _state["url"] = None
    _state["store"] = None


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``s3://bucket/prefix?endpoint=…&region=…`` as (bucket, prefix, query).

    Raises:
        ConfigError: another scheme, or no bucket.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"--cache-url {url!r}: expected s3://BUCKET[/PREFIX]")
    query = dict(urllib.parse.parse_qsl(parts.query))
    return parts.netloc, parts.path.strip("/"), query


class Sink(Protocol):
    """Where :meth:`RemoteStore.get_blob` writes: a file, or :class:`dive_py.files.AtomicWriter`."""

    def write(self, data: bytes, /) -> object:
        """Writes ``data`` (what it returns is not read)."""
        ...


def remote_store() -> RemoteStore | None:
    """The shared cache ``$DIVEPY_CACHE_URL`` names, made once a process; None without one (or boto3)."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    if _state["url"] != url:
        _state["url"] = url
        try:
            bucket, prefix, query = parse_url(url)
        except ConfigError as exc:
            _state["store"] = None
            warn(f"{exc}: not used")
            return None
        _state["store"] = RemoteStore(url, bucket, prefix, query) if client_available() else None
        if _state["store"] is None:
            warn(f"{URL_ENV} is set but {INSTALL_HINT}")
    store = _state["store"]
    return store if store is not None and store.broken is None else None


def warn(message: str) -> None:
    """One warning line, once a process; worker processes keep it for their parent (:func:`take_warnings`)."""
    line = f"divepy: warning: cache store: {message}"
    if line in _warnings or line in _PRINTED:
        return
    if multiprocessing.parent_process() is not None:
        _warnings.append(line)
        return
    _PRINTED.add(line)
    print(line, file=sys.stderr)


_PRINTED: set[str] = set()


def unique_warnings(lines: list[str]) -> list[str]:
    """Warnings gathered from several processes, each once; a store that failed is named once, whatever
    each process met first (one a missing bucket, another a failed upload)."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = line.partition(" cannot be used (")[0] if " cannot be used (" in line else line
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept


def take_warnings() -> list[str]:
    """The warnings kept so far, emptied."""
    taken = list(_warnings)
    _warnings.clear()
    return taken


class RemoteStore:
    """Objects under ``s3://bucket/prefix/``: every failure reads as a miss; the first unreachable error
    turns the store off for the rest of the run (:attr:`broken`)."""

    def __init__(self, url: str, bucket: str, prefix: str, query: dict[str, str]) -> None:
        import boto3
        from botocore.config import Config

        self.url = url
        self.bucket = bucket
        self.prefix = prefix
        self.broken: str | None = None
        config = Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 2})
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=query.get("endpoint") or None, region_name=query.get("region") or None, config=config
        )

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def get_bytes(self, name: str) -> bytes | None:
        """The object ``name`` (a path as in the local cache) whose body matches its checksum, or None."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            data: bytes = answer["Body"].read()
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; all read as a miss
            self._failed(exc)
            return None
        expected = (answer.get("Metadata") or {}).get(CHECKSUM_META)
        if expected != hashlib.sha256(data).hexdigest():
            self.foreign(name)
            return None
        return data

    def get_blob(self, name: str, digest: str, sink: Sink) -> bool:
        """Streams the blob ``name`` into ``sink``; True only when its bytes hash to ``digest``."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
            hasher = hashlib.sha256()
            while chunk := body.read(1 << 20):
                hasher.update(chunk)
                sink.write(chunk)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return False
        if "sha256:" + hasher.hexdigest() != digest:
            self.foreign(name)
            return False
        return True

    def put_bytes(self, name: str, data: bytes) -> bool:
        """Stores ``data`` under ``name`` with its checksum (one PUT: visible whole or not at all)."""
        meta = {CHECKSUM_META: hashlib.sha256(data).hexdigest()}
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, Metadata=meta)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return False
        return True

    def put_file(self, name: str, path: str, sha256_hex: str) -> bool:
        """Uploads a file (multipart when large: the object appears only once the upload completes)."""
        try:
            if self.exists(name):
                return True  # content-addressed: another runner put the same bytes
            self._client.upload_file(
                path, self.bucket, self._key(name), ExtraArgs={"Metadata": {CHECKSUM_META: sha256_hex}}
            )
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return False
        return True

    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored (a HEAD); raises what the client raises, except for a plain miss."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def check(self) -> bool:
        """Whether the bucket answers (one request); warns and turns the store off when it does not."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc, missing_is_miss=False)
            return False
        return True

    def foreign(self, name: str) -> None:
        """Warns (once) that an object is corrupt or not divepy's: it is ignored."""
        warn(f"{self.url}: {name!r} is corrupt or not divepy's (checksum): ignored")

    def _failed(self, exc: Exception, *, missing_is_miss: bool = True) -> None:
        from botocore.exceptions import ClientError

        if missing_is_miss and isinstance(exc, ClientError) and _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return  # a plain miss
        error = getattr(exc, "response", {}).get("Error", {})
        # The same words whichever call met it: worker processes' warnings are printed once each.
        self.broken = (
            f"{error.get('Code')}: {error.get('Message')}" if error else f"{type(exc).__name__}: {str(exc)[:200]}"
        )
        warn(f"{self.url} cannot be used ({self.broken}): going on with the local cache")


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
