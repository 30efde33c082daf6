"""Provides the choice of one image among several in a layout: by tag, digest or platform.

Every name an ambiguity message offers is one that ``IMAGE:tag`` and ``--tag`` accept: a tag, or (where
tags do not tell entries apart) the manifest digest, whole or as a 12-digit prefix. Artifacts are never
counted; asked for directly, one is named as what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dive_py.errors import ImageSelectionError
from dive_py.sources.platforms import default_platform, platform_matches

DIGEST_PREFIX = 12
"""Hex digits of a digest that name an entry in messages (and the fewest ``--tag sha256:…`` accepts)."""


@dataclass
class Candidate:
    """One manifest a layout lists: maybe an image, maybe an artifact."""

    digest: str
    """The manifest's digest (``sha256:…``); for a docker-archive entry, its config's."""
    names: list[str]
    """Tags naming it: its own and those of the indexes that lead to it (outermost first)."""
    platform: str | None
    artifact: str | None = None
    """What it is when it is no image (e.g. ``application/spdx+json``), else None."""
    payload: object = None
    """What the layout needs to plan it (a descriptor, a manifest entry)."""

    def labels(self, pool: list[Candidate]) -> list[str]:
        """The names to offer: each of its tags (an outer index's and its own) that picks it out of ``pool``
        (with the platform shown), else its digest prefix."""
        shown = f" [{self.platform}]" if self.platform else ""
        found = []
        for name in self.names:
            same = [c for c in pool if name in c.names and c.digest != self.digest]
            if not same or (self.platform and all(c.platform and c.platform != self.platform for c in same)):
                found.append(name + shown)
        return found or [self.digest[: len("sha256:") + DIGEST_PREFIX] + shown]


def choose(
    candidates: list[Candidate],
    what: str,
    tag: str | None,
    platform: str | None,
    config_platform: Callable[[Candidate], str | None] | None = None,
) -> Candidate:
    """The one image ``tag`` and ``platform`` pick among ``candidates``.

    With no platform asked for and several platforms of one image left, this machine's is taken (as
    ``docker pull`` does). With one asked for, a candidate its index entry gives no platform is matched
    by the platform ``config_platform`` reads from its config.

    Raises:
        ImageSelectionError: nothing or several images fit (the message offers names that work), or
            what the tag names is an artifact.
    """
    pool = candidates
    if tag is not None:
        pool = [c for c in pool if _names_it(c, tag)]
        if not pool:
            offered = _labels_by_image(_images(candidates))
            raise ImageSelectionError(f"{what}: no image tagged {tag!r} (choices: {'; '.join(offered) or 'none'})")
    images = _images(pool)
    if not images:
        kinds = sorted({c.artifact or "" for c in pool})
        subject = f"{what}:{tag}" if tag is not None else what
        raise ImageSelectionError(f"{subject} is not a container image (artifact type {', '.join(kinds)})")
    if platform is not None:
        _fill_platforms(images, config_platform)
        matching = [c for c in images if c.platform and platform_matches(c.platform, platform)]
        if not matching:
            plats = sorted({c.platform or "unspecified" for c in images})
            raise ImageSelectionError(f"{what}: no image for platform {platform} (choices: {', '.join(plats)})")
        images = matching
    images = _this_platform_of_one_image(images, platform)
    if len({c.digest for c in images}) > 1:
        labels = _labels_by_image(images)
        raise ImageSelectionError(
            f"{what}: holds {len(labels)} images; pick one with IMAGE:tag, --tag or --platform ({'; '.join(labels)})"
        )
    return images[0]


def _labels_by_image(images: list[Candidate]) -> list[str]:
    """One entry per distinct image: the names that pick it (an image listed under several tags shows each)."""
    names: dict[tuple[str, str | None], list[str]] = {}
    for candidate in images:
        found = names.setdefault((candidate.digest, candidate.platform), [])
        found.extend(label for label in candidate.labels(images) if label not in found)
    return sorted(", ".join(found) for found in names.values())


def _fill_platforms(images: list[Candidate], config_platform: Callable[[Candidate], str | None] | None) -> None:
    """Gives each image its index entry names no platform for the one its config states (when it does)."""
    if config_platform is None:
        return
    for candidate in images:
        if candidate.platform is None:
            candidate.platform = config_platform(candidate)


def _images(candidates: list[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.artifact is None]


def _this_platform_of_one_image(images: list[Candidate], platform: str | None) -> list[Candidate]:
    """Narrows several platforms of one image (the same tags) to this machine's, when it is one of them."""
    if platform is not None or len({c.digest for c in images}) < 2:
        return images
    if len({tuple(c.names) for c in images}) != 1 or not all(c.platform for c in images):
        return images
    here = [c for c in images if platform_matches(c.platform or "", default_platform())]
    return here if len({c.digest for c in here}) == 1 else images


def _names_it(candidate: Candidate, wanted: str) -> bool:
    """Whether ``wanted`` (a tag, ``name:tag``, or a digest or its prefix) names the candidate."""
    if wanted.startswith("sha256:"):
        hexpart = wanted[len("sha256:") :]
        return len(hexpart) >= DIGEST_PREFIX and candidate.digest.startswith(wanted)
    return any(ref_matches(name, wanted) for name in candidate.names)


def ref_matches(ref_name: str, wanted: str) -> bool:
    """Whether a stored name is the wanted one: equal, equal but for registry prefixes, or (OCI ref names
    are often just the tag, ``1.0``) the tag of a wanted ``name:1.0``."""
    if ref_name == wanted or tag_matches(ref_name, wanted):
        return True
    return ":" in wanted and ref_name == wanted.rsplit(":", 1)[1]


def tag_matches(candidate: str, wanted: str) -> bool:
    """Whether a stored tag is the wanted one, allowing the registry and library prefixes to differ."""

    def norm(text: str) -> str:
        for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        return text if ":" in text.rsplit("/", 1)[-1] or "@" in text else text + ":latest"

    return candidate == wanted or norm(candidate) == norm(wanted)
