"""Provides what the figures cache keys and keeps of an analysis.

The key is the chain of the layers' diff_ids (each computed by a full scan when its layer was read, or
proven for a cached scan) and the versions of the scan and figure formats: the same layers give the same
figures whatever the archive. Opening the image again then needs neither the layers' entries nor the
union tree, which is built on first use of :attr:`Analysis.tree`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dive_py.cache.store import CACHE_VERSION
from dive_py.model import Image
from dive_py.trees.efficiency import Inefficiency

FIGURES_VERSION = 5
"""Bump whenever a figure is computed differently: cached figures of older versions are then never read.
(2: records may hold the hints and packages, :mod:`dive_py.analysis.extras`; 3: hint fixes count layers
from 0, dpkg packages left unpacked or half-configured are listed with their state; 4: one hint per layer, kind
and fix; 5: records may hold the HTML report's treemap, :mod:`dive_py.reports.treemap_record`.)"""

_DIFF_ID = re.compile(r"sha256:[0-9a-f]{64}")


def figures_key(image: Image) -> str | None:
    """The figure cache's key for an image, or None when it is not to be cached.

    Only images every layer of which has a computed diff_id (a layer skipped by
    ``--ignore-errors`` has none) have one.
    """
    if not image.layers:
        return None
    chain = [layer.scan.diff_id for layer in image.layers]
    if not all(_DIFF_ID.fullmatch(diff_id) for diff_id in chain):
        return None
    text = f"divepy figures {FIGURES_VERSION} scans {CACHE_VERSION}\n" + "\n".join(chain)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def to_record(image: Image, key: str, figures: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an analysis: the stacked figures (as :func:`from_record` gives them), not what
    derives from the layers."""
    return {
        "key": key,
        "layers": len(image.layers),
        "efficiency": figures["efficiency"],
        "wasted": figures["wasted"],
        "inefficiencies": [[i.path, i.count, i.cumulative_bytes] for i in figures["inefficiencies"]],
        "final": figures["final"],
        "duplicates": figures["duplicates"],
        "shadowed": figures["shadowed"],
        "warnings": figures["warnings"][len(image.warnings) :],  # the image's own come from the load
    }


def from_record(image: Image, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The stacked and walk figures of a cached record (keys as :func:`to_record` takes them), or None when
    it does not fit."""
    try:
        if record["key"] != key or record["layers"] != len(image.layers):
            return None
        shadowed = [int(value) for value in record["shadowed"]]
        if len(shadowed) != len(image.layers):
            return None
        return {
            "efficiency": float(record["efficiency"]),
            "inefficiencies": [
                Inefficiency(str(path), int(count), int(size)) for path, count, size in record["inefficiencies"]
            ],
            "wasted": int(record["wasted"]),
            "final": int(record["final"]),
            "duplicates": int(record["duplicates"]),
            "shadowed": shadowed,
            "warnings": [*image.warnings, *(str(w) for w in record["warnings"])],
        }
    except (ValueError, TypeError, KeyError):
        return None
