"""Provides the ``--json`` export: dive's schema, plus the figures and fields dive lacks."""

from __future__ import annotations

import json
from typing import Any

from dive_py.analysis.analyze import Analysis
from dive_py.files import write_text_atomic
from dive_py.model import KIND_TYPEFLAG, REGULAR, WHITEOUT_PREFIX, FileEntry, Layer


def analysis_to_dict(analysis: Analysis) -> dict[str, Any]:
    """dive's export shape (``layer[]``, ``image``) with divepy's extra keys in ``image``."""
    return {
        "layer": [_layer_dict(analysis, layer) for layer in analysis.layers],
        "image": {
            "sizeBytes": analysis.size_bytes,
            "inefficientBytes": analysis.wasted_bytes,
            "efficiencyScore": analysis.efficiency,
            "fileReference": [
                {"count": item.count, "sizeBytes": item.cumulative_bytes, "file": item.path}
                for item in analysis.inefficiencies
            ],
            "userSizeBytes": analysis.user_size_bytes,
            "userWastedPercent": analysis.user_wasted_ratio,
            "reclaimableBytes": analysis.reclaimable_bytes,
            "duplicateContentBytes": analysis.duplicate_content_bytes,
            "finalSizeBytes": analysis.final_size_bytes,
            "name": analysis.image.name,
            "tags": analysis.image.tags,
            "source": analysis.image.source,
            "warnings": analysis.warnings,
        },
    }


def _layer_dict(analysis: Analysis, layer: Layer) -> dict[str, Any]:
    return {
        "index": layer.index,
        "id": layer.id,
        "digestId": layer.diff_id,
        "digest": layer.digest,
        "sizeBytes": layer.size_bytes,
        "shadowedBytes": analysis.layer_shadowed_bytes[layer.index],
        "command": layer.command,
        "fileList": _file_list(analysis, layer),
    }


def _file_list(analysis: Analysis, layer: Layer) -> list[dict[str, Any]]:
    """The layer's own members, children before their folder (dive's visiting order)."""
    items: dict[str, dict[str, Any]] = {}
    for path, entry in layer.scan.entries.items():
        items[path.replace("/", "\0")] = _file_dict(entry, _diff_type(analysis, layer.index, entry))
    for path in layer.scan.whiteouts:
        parent, _, name = path.rpartition("/")
        shown = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else WHITEOUT_PREFIX + name
        items[shown.replace("/", "\0")] = {
            "path": shown, "typeFlag": KIND_TYPEFLAG[REGULAR], "linkName": "", "size": 0, "fileMode": 0,
            "uid": 0, "gid": 0, "isDir": False, "diffType": "removed", "hash": None,
        }  # fmt: skip
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


def write_json(analysis: Analysis, path: str) -> None:
    """Writes :func:`analysis_to_dict` as indented JSON to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, json.dumps(analysis_to_dict(analysis), indent=2) + "\n")
