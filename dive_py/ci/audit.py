"""Provides ``divepy audit``'s domain: one image audited into a plain row, and the rows ranked and summed up.

:func:`audit_image` is the unit of work handed to worker processes or Dask workers (:mod:`dive_py.ci.fanout`):
its arguments and its row are plain data (picklable, the same whichever process runs it), and every
failure of the image becomes the row's ``error``, so one unreadable image never stops an audit. Layers
go through the layer-scan cache keyed by digest, local and shared (:mod:`dive_py.cache.remote`): a base
layer shared by many images is read and scanned once.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dive_py.errors import DivepyError

if TYPE_CHECKING:  # at run time the functions below import the analysis where they use it
    from dive_py.analysis.analyze import Analysis

TOP_BASES = 5
"""Shared layers listed under the table."""


@dataclass(frozen=True)
class AuditSettings:
    """How every image of an audit is read and judged (sent as is to each worker)."""

    rules: dict[str, str] = field(default_factory=dict)
    """CI rule thresholds by key, as written (the rules file and flags, resolved once)."""
    platform: str | None = None
    username: str | None = None
    insecure: bool = False
    use_cache: bool = True
    cache_dir: str | None = None
    cache_url: str | None = None
    """The shared cache (``s3://…``); each worker process sets it up for itself."""
    hint_min_bytes: int | None = None


def audit_image(ref: str, settings: AuditSettings) -> dict[str, Any]:
    """Loads, analyses and judges one image; returns its row (``error`` set when it could not be read).

    Runs in whatever process the fan-out chose: the shared cache is configured here, from the settings.
    """
    from dive_py.analysis.from_reference import (
        load_analysis,  # here: a worker pays for the import once, the CLI not at all
    )
    from dive_py.cache import remote
    from dive_py.load.options import LoadOptions

    row: dict[str, Any] = {"ref": ref, "error": None, "warnings": []}
    try:
        wanted = settings.cache_url if settings.use_cache else None
        if os.environ.get(remote.URL_ENV, "") != (wanted or ""):
            remote.configure_remote(wanted)  # a Dask worker's own DIVEPY_CACHE_URL never overrides the audit's
        options = LoadOptions(
            platform=settings.platform,
            username=settings.username,
            insecure=settings.insecure,
            use_cache=settings.use_cache,
            cache_dir=settings.cache_dir,
            workers=1,  # the images are the parallel work: no processes inside one
        )
        analysis = load_analysis(ref, options, hint_min_bytes=settings.hint_min_bytes)
        row.update(_figures(analysis, settings.rules))
    except DivepyError as exc:
        row["error"] = " ".join(str(exc).split())
    except (OSError, ValueError, MemoryError) as exc:  # a broken image, not a broken audit
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["warnings"] = remote.take_warnings()
    return row


def _figures(analysis: Analysis, rules: dict[str, str]) -> dict[str, Any]:
    from dive_py.ci.config import CiConfig
    from dive_py.ci.rules import RuleStatus, build_rules, evaluate

    report = evaluate(build_rules(CiConfig(rules=dict(rules))), analysis)
    hints = analysis.hints()
    top = hints.hints[0] if hints.hints else None
    return {
        "name": analysis.image.name,
        "size_bytes": analysis.size_bytes,
        "efficiency": analysis.efficiency,
        "wasted_bytes": analysis.wasted_bytes,
        "fixable_bytes": hints.fixable_bytes,
        "top_hint": None if top is None else {"kind": top.kind, "bytes": top.bytes, "fix": top.fix},
        "passed": report.passed,
        "failed_rules": [r.key for r in report.results if r.status == RuleStatus.FAIL],
        "layers": [
            {"id": layer.diff_id or layer.digest, "size_bytes": layer.size_bytes, "command": layer.short_command}
            for layer in analysis.layers
        ],
    }


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Images with the most wasted bytes first (then by name); images that could not be read last."""
    good = sorted((r for r in rows if not r["error"]), key=lambda r: (-r["wasted_bytes"], r["ref"]))
    return good + sorted((r for r in rows if r["error"]), key=lambda r: r["ref"])


def shared_layers(rows: list[dict[str, Any]], limit: int = TOP_BASES) -> list[dict[str, Any]]:
    """The layers found in most images (at least two), biggest first among equals: the shared bases."""
    counts: Counter[str] = Counter()
    about: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["error"]:
            continue
        for layer in {layer["id"]: layer for layer in row["layers"]}.values():
            counts[layer["id"]] += 1
            about.setdefault(layer["id"], layer)
    shared = [(n, layer_id) for layer_id, n in counts.items() if n >= 2]
    shared.sort(key=lambda item: (-item[0], -about[item[1]]["size_bytes"], item[1]))
    return [{**about[layer_id], "images": n} for n, layer_id in shared[:limit]]


def failing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of images that fail a CI rule."""
    return [r for r in rows if not r["error"] and not r["passed"]]
