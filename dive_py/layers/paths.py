"""Provides :func:`clean_member_path`: a tar member's name as a clean relative path, or refused.

Shared by the layer scanner (:mod:`dive_py.layers.scan`) and the sources that read tars of their own
(image archives, streams), which must not import the scanner.
"""

from __future__ import annotations

import posixpath

from dive_py.errors import UnsafePathError


def clean_member_path(raw: bytes, what: str) -> str | None:
    """Turns a member name into a clean relative path, or None for the root itself.

    Raises:
        UnsafePathError: the name escapes the root, holds NUL or is not UTF-8.
    """
    if b"\0" in raw:
        raise UnsafePathError(f"{what}: member name contains a NUL byte: {raw[:80]!r}")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafePathError(f"{what}: member name is not valid UTF-8: {raw[:80]!r}") from None
    # Absolute names are legal in layer tars and mean the same as relative ones.
    path = name.lstrip("/")
    fast = path[2:] if path.startswith("./") else path
    if fast and "//" not in fast and "/." not in fast and fast[0] not in "./":
        # Already normal (no empty, "." or ".." part): what normpath would return, ~1 µs sooner.
        return fast[:-1] if fast[-1] == "/" else fast
    path = posixpath.normpath(path)
    if path == ".":
        return None
    if path == ".." or path.startswith("../"):
        raise UnsafePathError(f"{what}: member name escapes the image root: {name[:200]!r}")
    return path
