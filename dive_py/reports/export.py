"""Provides the ``--json`` export: dive's schema, plus the figures and fields dive lacks."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from dive_py.analysis.analyze import Analysis
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.files import write_text_atomic
from dive_py.model import KIND_TYPEFLAG, REGULAR, WHITEOUT_PREFIX, FileEntry, Layer

JSON_MAX = sys.float_info.max
"""What ``--json`` writes for an infinite ratio: JSON has no Infinity, and this largest finite double
(1.7976931348623157e308) parses as a number everywhere (Python, JavaScript, Go) and exceeds any threshold."""

_NO_ATTRIBUTES = (0, 0, 0)
"""Mode, uid and gid of a whiteout whose member's header is unknown (a scan made in code)."""


def json_number(value: float) -> float:
    """``value`` as JSON can carry it: ±inf as ±:data:`JSON_MAX` (NaN is never a figure here)."""
    if math.isinf(value):
        return JSON_MAX if value > 0 else -JSON_MAX
    return value


def analysis_to_dict(analysis: Analysis, lines: DockerfileLines = NO_LINES) -> dict[str, Any]:
    """dive's export shape (``layer[]``, ``image``) with divepy's extra keys in ``image``, and the hints; each
    layer and hint with its ``dockerfile`` place (``{path, line, endLine, instruction, stage}`` or null) and
    each layer with its ``origin`` (how a layer no instruction made was made, e.g. ``docker commit``, or null)."""
    hints = analysis.hints()
    packages = analysis.packages().layers
    return {
        "layer": [
            {
                **_layer_dict(analysis, layer),
                "packages": packages[layer.index].to_dict(),
                "dockerfile": lines.to_dict(layer.index),
                "origin": lines.note_of(layer.index),
            }
            for layer in analysis.layers
        ],
        "image": {
            "sizeBytes": analysis.size_bytes,
            "inefficientBytes": analysis.wasted_bytes,
            "efficiencyScore": analysis.efficiency,
            "fileReference": [
                {"count": item.count, "sizeBytes": item.cumulative_bytes, "file": item.path}
                for item in analysis.inefficiencies
            ],
            "userSizeBytes": analysis.user_size_bytes,
            "userWastedPercent": json_number(analysis.user_wasted_ratio),
            "reclaimableBytes": analysis.walk().reclaimable_bytes,
            "duplicateContentBytes": analysis.walk().duplicate_content_bytes,
            "finalSizeBytes": analysis.walk().final_size_bytes,
            "name": analysis.image.name,
            "tags": analysis.image.tags,
            "source": analysis.image.source,
            "platform": analysis.image.platform,
            "warnings": [*analysis.warnings, *analysis.packages().warnings, *lines.warnings],
            "dockerfile": lines.path,
            "dockerfileSource": lines.source,
            "fixableBytes": hints.fixable_bytes,
            "fixablePercent": hints.fixable_ratio,
            "hintMinBytes": hints.min_bytes,
        },
        "hints": [{**hint.to_dict(), "dockerfile": lines.to_dict(hint.layer)} for hint in hints.hints],
        "fixableBytes": hints.fixable_bytes,
    }


def _layer_dict(analysis: Analysis, layer: Layer) -> dict[str, Any]:
    return {
        "index": layer.index,
        "id": layer.id,
        "digestId": layer.diff_id,
        "digest": layer.digest,
        "sizeBytes": layer.size_bytes,
        "shadowedBytes": analysis.walk().layer_shadowed_bytes[layer.index],
        "command": layer.command,
        "fileList": _file_list(analysis, layer),
    }


def _file_list(analysis: Analysis, layer: Layer) -> list[dict[str, Any]]:
    """The layer's own members, children before their folder (dive's visiting order)."""
    items: dict[str, dict[str, Any]] = {}
    for path, entry in layer.scan.entries.items():
        items[path.replace("/", "\0")] = _file_dict(entry, _diff_type(analysis, layer.index, entry))
    attributes = layer.scan.whiteout_attributes
    for path in layer.scan.whiteouts:
        parent, _, name = path.rpartition("/")
        shown = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else WHITEOUT_PREFIX + name
        mode, uid, gid = attributes.get(path, _NO_ATTRIBUTES)
        member = FileEntry(shown, REGULAR, 0, mode, uid, gid)  # the .wh. member as its tar header has it
        items[shown.replace("/", "\0")] = {**_file_dict(member, "removed"), "hash": None}
    return [items[key] for key in _children_first(sorted(items))]


def _children_first(keys: list[str]) -> list[str]:
    """Turns a sorted (parents-first) key list into post-order."""
    out: list[str] = []
    stack: list[str] = []
    for key in keys:
        while stack and not key.startswith(stack[-1] + "\0"):
            out.append(stack.pop())
        stack.append(key)
    out.extend(reversed(stack))
    return out


def _diff_type(analysis: Analysis, index: int, entry: FileEntry) -> str:
    if index == 0:
        return "added"
    node = analysis.tree.get(entry.path)
    before = node.state(index - 1) if node is not None else None
    if before is None:
        return "added"
    return "unmodified" if before.same_as(entry) else "modified"


def _file_dict(entry: FileEntry, diff_type: str) -> dict[str, Any]:
    return {
        "path": entry.path,
        "typeFlag": KIND_TYPEFLAG[entry.kind],
        "linkName": entry.link,
        "size": entry.size,
        "fileMode": entry.go_file_mode(),
        "uid": entry.uid,
        "gid": entry.gid,
        "isDir": entry.is_dir,
        "diffType": diff_type,
        "hash": f"{entry.hash:016x}" if entry.kind == REGULAR else None,
    }


def write_json(analysis: Analysis, path: str, lines: DockerfileLines = NO_LINES) -> None:
    """Writes :func:`analysis_to_dict` as indented JSON to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, json.dumps(analysis_to_dict(analysis, lines), indent=2, allow_nan=False) + "\n")
