"""Provides the treemap of an analysis, from its figures record when the record keeps one: no stacking on a warm run.

The treemap reads the final file system's folder sums (:func:`~dive_py.reports.treemap.final_boxes`), which need the
union tree: stacking the layers again costs a warm ``--ci --html`` ten times its ``--ci``. So after the first
drawing, the boxes the drawing read are kept in the figures record (field ``treemap``, beside the hints and
packages, :mod:`dive_py.analysis.extras`): each folder whose content was listed, its entries big enough to be drawn
in any view, and the rest of them as one box (their bytes, files and bytes per layer; always an "N files" cell).
A few thousand boxes whatever the image's size; the page drawn from them is the page drawn from the tree. The
drawing is kept too, for the same outlined paths: it is used only when it is the drawer's markup (a record may come
from a shared cache).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from dive_py.analysis.analyze import Analysis
from dive_py.reports.treemap import HEIGHT, MIN_CELL, WIDTH, Box, TreemapViews, final_boxes, render_treemap

FIELD = "treemap"
"""The figures record's field: ``{"version", "boxes": JSON text, "drawn": {"outlined", "views", "anchors",
"cells"}}``. The boxes are JSON text inside the record, so that a ``--ci`` reading the record without drawing
does not parse thousands of small lists (a long string costs the decoder next to nothing)."""
VERSION = 1
"""Bump when the drawing (:mod:`dive_py.reports.treemap`) changes: a kept treemap of another version is not read."""
MAX_BOXES = 100_000
"""A treemap of more boxes is not kept (far beyond what a drawing of :data:`CELL_BUDGET` cells reads)."""


def image_treemap(analysis: Analysis, hinted: set[str]) -> TreemapViews:
    """The treemap views of ``analysis`` with the paths in ``hinted`` outlined (see :func:`render_treemap`).

    Kept in the image's figures record: the drawing itself when it outlined the same paths, else the boxes it
    read (drawn again without the tree); otherwise drawn from the tree, and both kept for the next time.
    """
    kept = analysis.kept_extra(FIELD)
    kept = kept if isinstance(kept, dict) and kept.get("version") == VERSION else {}
    outlined = hashlib.sha256(json.dumps(sorted(hinted)).encode()).hexdigest()  # ASCII: any path, one way
    views = _drawn(kept.get("drawn"), outlined)
    if views is not None:
        return views
    root = _from_text(kept.get("boxes"))
    boxes = kept.get("boxes") if root is not None else None
    if root is None:
        root = final_boxes(analysis.tree)
    views = render_treemap(root, hinted.__contains__)
    if not analysis.keeps_extras():
        return views  # --no-cache: no record to keep them in
    boxes = boxes or to_text(root)
    if boxes is not None:
        drawn = {"outlined": outlined, "views": views.views, "anchors": views.anchors, "cells": views.cells}
        analysis.keep_extra(FIELD, {"version": VERSION, "boxes": boxes, "drawn": drawn})
    return views


def _drawn(data: object, outlined: str) -> TreemapViews | None:
    """The kept drawing, when it outlined the same paths (and is whole)."""
    if not isinstance(data, dict) or data.get("outlined") != outlined:
        return None
    views, anchors, cells = data.get("views"), data.get("anchors"), data.get("cells")
    if not (isinstance(views, list) and all(isinstance(v, str) for v in views) and isinstance(cells, int)):
        return None
    if not (isinstance(anchors, dict) and all(isinstance(v, str) for v in anchors.values())):
        return None
    if not all(_DRAWING.fullmatch(view) for view in views):
        return None  # not what render_treemap writes: a record is data, never markup the page would trust
    return TreemapViews(views=views, anchors=anchors, cells=cells)


_TAGS = "section|nav|a|svg|title|rect|text|g"
_ATTRIBUTES = (
    r' (?:class|id|x|y|width|height|fill|fill-opacity|data-l|viewBox|role|aria-label|font-weight)="[^"<>]*+"'
    r'| href="#tm-\d++"'
)
_DRAWING = re.compile(rf"(?:<(?:{_TAGS})(?:{_ATTRIBUTES})*+/?>|</(?:{_TAGS})>|[^<>]++)*+")
"""Every view :func:`render_treemap` writes: its elements and attributes only, values and text escaped, links only
to other views. A kept drawing is markup put in the page as is; one from a shared cache that anyone with write
access to the bucket could have made must not be able to carry a script, a style or a link out of the page."""


def to_text(root: Box) -> str | None:
    """What a drawing read of the boxes under ``root`` (call after :func:`render_treemap`) as JSON text; None when
    more than :data:`MAX_BOXES`."""
    count = [0]
    order = {id(box): i for i, box in enumerate((root._index or {}).values())}
    tree = _folder(root, _paths_to_listed(root), count, order)
    return None if count[0] > MAX_BOXES else json.dumps(tree, ensure_ascii=False, separators=(",", ":"))


def _paths_to_listed(root: Box) -> dict[int, list[Box]]:
    """By folder (id), its folders that are listed or lead to one: the path from the root to every folder whose
    content a drawing listed (those ranked for a view among them: the restored boxes must rank them alike)."""
    below: dict[int, list[Box]] = {}
    seen = {id(root)}
    for box in (root._index or {}).values():
        if box._children is None:
            continue
        while box.parent is not None and id(box) not in seen:
            seen.add(id(box))
            below.setdefault(id(box.parent), []).append(box)
            box = box.parent
    return below


def _folder(box: Box, below: dict[int, list[Box]], count: list[int], order: dict[int, int]) -> list[Any]:
    """``[name, size, files, by_layer, rank, entries]``: the entries a view may draw and one box for the rest; for a
    folder never listed only those on the way to a listed one (None when there are none). ``rank`` is the folder's
    place among all folders: equal folders are picked for views in that order."""
    count[0] += 1
    head = [box.name, box.size, box.files, sorted((box.by_layer or {}).items()), order[id(box)]]
    leads = below.get(id(box), [])
    if box._children is None:
        return [*head, [_folder(k, below, count, order) for k in leads] if leads else None]
    kids = box._children
    scale = float(WIDTH) * float(HEIGHT) / box.size if box.size else 0.0  # the largest: the folder's own view
    cut = next((i for i, kid in enumerate(kids) if kid.size * scale < MIN_CELL), len(kids))
    tail = kids[cut:]
    if len(tail) > 1:  # always "N files" (two or more): the folders on a way to a listed one, and one box
        lead_ids = {id(k) for k in leads}
        kept = kids[:cut] + [k for k in tail if id(k) in lead_ids]
        rest = [k for k in tail if id(k) not in lead_ids]
    else:
        kept, rest = kids, []
    out = [_folder(k, below, count, order) if k.is_dir else _file(k, count) for k in kept]
    if rest:
        out.append(_rest(rest, count))
    return [*head, out]


def _file(box: Box, count: list[int]) -> list[Any]:
    count[0] += 1
    return [box.name, box.size, box.layer]


def _rest(boxes: list[Box], count: list[int]) -> list[Any]:
    """``[size, files, by_layer, entries]`` of entries no view draws but as part of an "N files" cell."""
    count[0] += 1
    by_layer: dict[int, int] = {}
    for box in boxes:
        for layer, size in box.by_layer.items() if box.by_layer is not None else [(box.layer, box.size)]:
            by_layer[layer] = by_layer.get(layer, 0) + size
    return [sum(b.size for b in boxes), sum(b.files for b in boxes), sorted(by_layer.items()), len(boxes)]


def _from_text(text: object) -> Box | None:
    """The root box of kept boxes, or None when there are none (or they are damaged)."""
    if not isinstance(text, str):
        return None
    index: dict[int, Box] = {}
    try:
        root = _restore(json.loads(text), None, index)
    except (TypeError, ValueError, KeyError, IndexError, RecursionError):
        return None
    ranked = sorted(index.items())  # the tree's order (index is shared by every box: refilled in place)
    index.clear()
    index.update(ranked)
    return root if root.is_dir else None


def _restore(item: list[Any], parent: Box | None, index: dict[int, Box]) -> Box:
    if len(item) == 3:
        name, size, layer = item
        return Box(str(name), parent, int(size), int(layer))
    if len(item) == 4:
        size, files, by_layer, entries = item
        box = _dir_box("", parent, index, int(size), int(files), by_layer)
        box.entries = int(entries)
        return box
    name, size, files, by_layer, rank, kids = item
    box = _dir_box(str(name), parent, index, int(size), int(files), by_layer)
    index[int(rank)] = box
    if kids is not None:
        box._children = [_restore(kid, box, index) for kid in kids]
    return box


def _dir_box(name: str, parent: Box | None, index: dict[int, Box], size: int, files: int, by_layer: list[Any]) -> Box:
    box = Box(name, parent, size, index=index)
    box._dir, box.files, box._layer = True, files, None
    box.by_layer = {int(layer): int(part) for layer, part in by_layer}
    return box
