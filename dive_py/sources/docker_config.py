"""Provides where the Docker engine is: ``DOCKER_HOST``, the docker CLI's current context, or the default
socket, with TLS as the CLI sets it up; and the docker CLI's config folder (contexts, registry logins)."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
from dataclasses import dataclass

from dive_py.errors import SourceError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
"""Where the Docker CLI looks when neither DOCKER_HOST nor a context says otherwise."""


@dataclass(frozen=True)
class EngineHost:
    """Where an engine's API listens."""

    url: str
    """``unix:///path`` or ``tcp://host:port`` as configured."""
    tls: ssl.SSLContext | None = None
    origin: str = "default"
    """What chose it: ``DOCKER_HOST``, ``context NAME``, ``CONTAINER_HOST`` or ``default``."""


def docker_config_dir() -> str:
    """The docker CLI's config folder: ``DOCKER_CONFIG`` or ``~/.docker``."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def resolve_docker_host() -> EngineHost:
    """Finds the Docker engine the way the docker CLI does: DOCKER_HOST, then the current context.

    Raises:
        SourceError: the configured context does not exist or has no docker endpoint.
    """
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return EngineHost(host, _tls_from_env(host), "DOCKER_HOST")
    context = os.environ.get("DOCKER_CONTEXT", "").strip() or _current_context()
    if context and context != "default":
        return _context_host(context)
    return EngineHost(DEFAULT_DOCKER_HOST)


def _current_context() -> str:
    try:
        with open(os.path.join(docker_config_dir(), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, RecursionError):
        return ""
    value = config.get("currentContext") if isinstance(config, dict) else None
    return value if isinstance(value, str) else ""


def _context_host(name: str) -> EngineHost:
    """Reads ``contexts/meta/<sha256(name)>/meta.json``, where the docker CLI stores a context."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_path = os.path.join(docker_config_dir(), "contexts", "meta", digest, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        endpoint = meta["Endpoints"]["docker"]
        host = endpoint["Host"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise SourceError(f"docker context {name!r} not found or has no docker endpoint ({meta_path})") from None
    tls = None
    tls_dir = os.path.join(docker_config_dir(), "contexts", "tls", digest, "docker")
    if os.path.isdir(tls_dir):
        tls = _tls_context(tls_dir, verify=not endpoint.get("SkipTLSVerify", False))
    return EngineHost(host, tls, f"context {name}")


def _tls_from_env(host: str) -> ssl.SSLContext | None:
    if not host.startswith("tcp://"):
        return None
    verify = os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = os.environ.get("DOCKER_CERT_PATH", "")
    if not verify and not cert_path:
        return None
    return _tls_context(cert_path or docker_config_dir(), verify=verify)


def _tls_context(folder: str, *, verify: bool) -> ssl.SSLContext:
    ca = os.path.join(folder, "ca.pem")
    context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        context.load_cert_chain(cert, key)
    return context
