"""Provides platforms in OCI terms (``os/arch[/variant]``): this machine's, a descriptor's, and matching."""

from __future__ import annotations

import platform as platform_module
import re
from typing import Any

from dive_py.errors import ImageSelectionError

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

_PART = re.compile(r"[A-Za-z0-9._+-]{1,64}")
"""What one part of a platform may be: the config is untrusted text, shown in reports and messages."""


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


def config_platform(config: Any) -> str | None:
    """``os/arch[/variant]`` an image config states, or None when it names no os and architecture.

    A part that is not a plain word (the config is untrusted) is shown as ``?``.
    """
    if not isinstance(config, dict):
        return None
    os_name, architecture, variant = config.get("os"), config.get("architecture"), config.get("variant")
    if not (isinstance(os_name, str) and os_name and isinstance(architecture, str) and architecture):
        return None
    parts = [os_name, architecture]
    if isinstance(variant, str) and variant:
        parts.append(variant)
    return "/".join(part if _PART.fullmatch(part) else "?" for part in parts)


def plan_platform(plan: Any) -> str | None:
    """The platform of a planned image: what the index entry that chose it states, else its config's."""
    return plan.platform or config_platform(plan.config)


def require_platform(plan: Any, wanted: str | None, what: str) -> None:
    """Refuses an image (an :class:`~dive_py.sources.plan.ImagePlan`) for another platform than ``--platform``.

    A single-platform image has nothing to choose among, so nothing else would notice the mismatch. An index
    entry's platform is trusted over the config's, as ``docker pull`` trusts it.

    Raises:
        ImageSelectionError: the image's platform is known and it is not the wanted one.
    """
    have = plan_platform(plan)
    if wanted is None or have is None or platform_matches(have, wanted):
        return
    raise ImageSelectionError(f"{what}: the image is for {have}; --platform asks for {wanted}")
