"""Provides :class:`LoadOptions`: how to pick and read an image, whatever its source."""

from __future__ import annotations

from dataclasses import dataclass

from dive_py.model import ProgressCallback

STACK_WHILE_SCANNING = True
"""Stack each layer into the union tree as soon as it and those below are scanned, while worker processes
scan the rest. The tree then grows while workers live; that costs no more than the final tree alone since
workers send columns (not entry objects) and exit as soon as their share is done (bench/README.md)."""


@dataclass
class LoadOptions:
    """How to pick and read an image."""

    tag: str | None = None
    platform: str | None = None
    source: str | None = None
    ignore_errors: bool = False
    """Analyse the layers that can be read; record what was skipped as warnings."""
    progress: ProgressCallback | None = None
    username: str | None = None
    """Registry user (``--username``); the password comes from ``DIVEPY_PASSWORD``."""
    password: str | None = None
    namespace: str | None = None
    """containerd namespace (``--namespace``); default ``CONTAINERD_NAMESPACE`` or ``default``."""
    insecure: bool = False
    """Talk plain http (and skip TLS checks) to any registry, not only to localhost."""
    use_cache: bool = True
    """Read and write the cache in the user cache folder: layer scans, figures, blobs (``--no-cache`` turns all
    three off)."""
    cache_dir: str | None = None
    """The cache folder; default ``$XDG_CACHE_HOME/divepy`` or ``~/.cache/divepy``."""
    workers: int | None = None
    """Processes that scan layers at once; None picks up to 2, 1 scans in this process."""
    stack_while_scanning: bool | None = None
    """Stack layers while the others are scanned; None: :data:`STACK_WHILE_SCANNING` (on)."""
