"""Provides registry credentials: ``--username`` with ``DIVEPY_PASSWORD``, or the docker CLI's config
(``auths``, ``credHelpers``, ``credsStore`` in ``~/.docker/config.json``)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from dive_py.errors import SourceError
from dive_py.sources.docker_config import docker_config_dir
from dive_py.sources.reference import DOCKER_HUB, DOCKER_HUB_API

PASSWORD_ENV = "DIVEPY_PASSWORD"
"""Environment variable holding the password for ``--username`` (never a flag: it would show in ps)."""


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or identity token) for one registry."""

    username: str
    password: str

    def basic(self) -> str:
        """The HTTP Basic ``Authorization`` value."""
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


def _from_auth_entry(entry: dict[str, Any]) -> Credentials | None:
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


def _dict(value: object) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one (foreign JSON is never trusted)."""
    return value if isinstance(value, dict) else {}
