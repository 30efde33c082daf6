"""Provides :class:`ImagePlan`: what a layout says about the chosen image (config, layer blobs in manifest
order, tags) before any layer is read, and the helpers every layout reads it with."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from dive_py.errors import ImageFormatError
from dive_py.sources.base import ImageFiles

_DIGEST_NAME = re.compile(r"(?:^|/)(?:sha256[:/])?([0-9a-f]{64})(?:\.tar(?:\.gz|\.zst)?|\.tgz|\.json)?$")
"""Blob names that state their own sha256 (``blobs/sha256/HEX``, ``HEX.tar``, ``sha256:HEX``, ``HEX.json``)."""


@dataclass
class LayerRef:
    """Where one layer's blob is and what it must hash to."""

    blob: str
    id: str
    digest: str
    diff_id: str
    expected_digest: str | None
    expected_diff_id: str | None
    label: str = ""
    """What to call the layer where its command alone does not say what it is: a container's writable
    layer is ``container NAME (not committed)`` (it becomes :attr:`dive_py.model.Layer.label`)."""


@dataclass
class ImagePlan:
    """What the layout says about the chosen image, before any layer is read."""

    source: str
    config: dict[str, Any]
    config_digest: str
    layers: list[LayerRef]
    tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    platform: str | None = None
    """The platform the index entry that chose the image states (None: no index stated one; the config's
    is then the image's, :func:`dive_py.sources.platforms.plan_platform`)."""
    provenance: dict[str, Any] | None = None
    """The SLSA provenance predicate of a BuildKit attestation beside the image in its index, when there is one."""


def load_json(files: ImageFiles, name: str, kind: type) -> Any:
    """Reads a JSON member and checks its top-level type."""
    raw = files.read_bytes(name)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ImageFormatError(f"{files.what}: {name} is not valid JSON") from None
    except RecursionError:
        raise ImageFormatError(f"{files.what}: {name} is not valid JSON (nested too deep)") from None
    if not isinstance(value, kind):
        raise ImageFormatError(f"{files.what}: {name} should hold a JSON {kind.__name__}")
    return value


def diff_ids_of(files: ImageFiles, config: dict[str, Any], count: int) -> list[str]:
    """The config's ``rootfs.diff_ids``, checked to be ``count`` strings."""
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageFormatError(f"{files.what}: image config has no rootfs.diff_ids list")
    if len(diff_ids) != count:
        raise ImageFormatError(
            f"{files.what}: the config lists {len(diff_ids)} layer diff_ids but the manifest {count} layers"
        )
    return list(diff_ids)


def digest_from_name(name: str) -> str | None:
    """The sha256 digest a blob's file name carries, or None."""
    match = _DIGEST_NAME.search(name)
    return f"sha256:{match.group(1)}" if match else None


def text(value: Any) -> str | None:
    """``value`` when it is a string, else None (JSON from an archive may hold any type anywhere)."""
    return value if isinstance(value, str) else None
