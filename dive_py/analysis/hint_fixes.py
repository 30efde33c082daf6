"""Provides the fix each hint names: one sentence, with the layers and paths it involves."""

from __future__ import annotations

import posixpath

from dive_py.analysis.hint_places import Group, Place

CACHE_FIXES = {
    "apt_lists": "run `rm -rf /var/lib/apt/lists/*` in the same RUN as `apt-get update`/`install`",
    "apt_archives": "run `apt-get clean` in the same RUN as `apt-get install` (or use a cache mount)",
    "apk": "use `apk add --no-cache` (or `rm -rf /var/cache/apk/*` in the same RUN)",
    "dnf": "run `dnf clean all` (`yum clean all`) in the same RUN that installs",
    "pip": "use `pip install --no-cache-dir` (or a cache mount for ~/.cache/pip)",
    "npm": "run `npm cache clean --force` in the same RUN (or use a cache mount for ~/.npm)",
    "yarn": "run `yarn cache clean` in the same RUN (or use a cache mount)",
    "go": "build in a separate stage (or `go clean -modcache -cache` in the same RUN, or cache mounts)",
    "maven": "build in a separate stage, or use a cache mount for the repository",
}
"""The usual fix per cache (the names of :data:`dive_py.analysis.tree_walk.CACHES`' groups)."""


def fix_text(group: Group, place: Place) -> str:
    """The fix of one hint: what to change in which layer (layers numbered from 0, as the explorer shows them)."""
    other = _main_related(group)
    layer = group.layer
    kind = group.kind
    if kind == "deleted-later":
        return (
            f"delete them in the same RUN that creates them (layer {layer}) instead of in layer {other}, "
            "or make them in a separate stage of a multi-stage build"
        )
    if kind == "overwritten-later":
        return f"produce the final content in one layer: layer {other} replaces what layer {layer} writes here"
    if kind == "metadata-only":
        return (
            f"set mode and owner where the files are added (`COPY --chmod`/`--chown`, or chmod/chown in layer "
            f"{other}'s RUN) instead of storing them again in layer {layer}"
        )
    if kind == "moved":
        return f"create them at their final path in layer {other} (or move them in that same RUN)"
    if kind == "duplicate-content":
        source = _common_source(group, place)
        return (
            f"use `mv` (or a symlink) instead of copying {source} (from layer {other}), "
            f"or delete {source} in the same RUN that copies it"
        )
    if kind == "package-cache":
        name = str(group.related.most_common(1)[0][0]).partition(":")[0]
        return CACHE_FIXES.get(name, "clean the cache in the same RUN that fills it")
    return f"delete what {'/' + place.place} holds in the same RUN that creates it, or build in a separate stage"


def _main_related(group: Group) -> int:
    """The other layer most of the group's bytes involve (-1 when none)."""
    for related, _size in group.related.most_common():
        if isinstance(related, int):
            return related
    return -1


def _common_source(group: Group, place: Place) -> str:
    """The folder (or file) the place's copies were copied from, as an absolute path."""
    sources = [group.sources[path] for path in place.files if path in group.sources]
    if not sources:
        return "the source"
    common = posixpath.commonpath(sources) if len(sources) > 1 else sources[0]
    return "/" + common if common else "the sources"
