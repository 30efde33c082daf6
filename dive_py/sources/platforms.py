"""Provides platforms in OCI terms (``os/arch[/variant]``): this machine's, a descriptor's, and matching."""

from __future__ import annotations

import platform as platform_module
from typing import Any

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
"""``uname -m`` names to OCI architectures (with the arm variant where the name says it)."""


def default_platform() -> str:
    """This machine's platform in OCI terms, e.g. ``linux/amd64``."""
    machine = platform_module.machine().lower()
    return f"linux/{_ARCH_NAMES.get(machine, machine)}"


def platform_text(value: Any) -> str | None:
    """``os/arch[/variant]`` of a descriptor's ``platform`` object, or None when it has none."""
    if not isinstance(value, dict):
        return None
    parts = [str(value.get("os", "")), str(value.get("architecture", ""))]
    if value.get("variant"):
        parts.append(str(value["variant"]))
    return "/".join(parts)


def platform_matches(have: str, want: str) -> bool:
    """Whether ``have`` is the wanted platform (``linux/arm`` matches every arm variant)."""
    have_parts, want_parts = have.split("/"), want.split("/")
    return have_parts[: len(want_parts)] == want_parts or (len(want_parts) == 3 and have_parts == want_parts[:2])
