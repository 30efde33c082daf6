"""Provides ``divepy diff --html FILE``: one self-contained page of what changed from one image to the other.

Both images' figures, the layers of each (shared ones marked), what grew and shrank by folder, the biggest
changes with copies and moves named, the hints that appeared or disappeared and the packages' changes. Figures
come from :mod:`dive_py.reports.diff_summary`; every change has its ``+ - ~ >`` mark beside its colour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.compare import Change, FileChange, ImageComparison
from dive_py.reports.diff_summary import (
    CHANGE_MARKS,
    DiffSummary,
    biggest_first,
    hint_changes,
    package_changes,
    summarize,
)
from dive_py.reports.html_page import CHANGE_COLOURS, esc, layer_colour, page, table, td

CHANGE_ROWS = 300
"""Rows of the biggest-changes table (``divepy diff --json`` has them all)."""
FOLDER_DEPTH = 5
"""Folders summed down to this depth (``/usr/local/tomcat/webapps/docs``)."""
FOLDER_ROWS = 40

_CLASS = {"+": "add", "-": "del", "~": "mod", ">": "mod"}


def html_diff(comparison: ImageComparison, new_labels: Sequence[str | None] | None = None) -> str:
    """The page of ``comparison`` (base to new).

    Args:
        comparison: what changed.
        new_labels: per layer of the new image, a text such as ``Dockerfile:12 RUN …`` shown with its command.
    """
    summary = summarize(comparison)
    base, new = comparison.base, comparison.new
    title = f"divepy diff: {base.image.name} → {new.image.name}"
    body = [
        f"<header><h1>{esc(title)}</h1><p>Layers numbered from 0, as in the explorer; "
        f"{comparison.shared_layers} shared.</p></header>",
        _figures(summary),
        _changes(summary),
        _layers(comparison, list(new_labels or [])),
        _folders(comparison),
        _biggest(summary.biggest),
        _copies_and_moves(comparison),
        _hints(comparison),
        _packages(comparison),
    ]
    data = {"base": base.image.name, "new": new.image.name, "shared": comparison.shared_layers}
    return page(title, "".join(body), data)


def _figures(summary: DiffSummary) -> str:
    c, base, new = summary.comparison, summary.base, summary.new
    rows = [
        ["Image size", fmt.size(base.size_bytes), fmt.size(new.size_bytes), fmt.signed(c.image_size_delta_bytes)],
        [
            "Final file system",
            fmt.size(base.walk().final_size_bytes),
            fmt.size(new.walk().final_size_bytes),
            fmt.signed(c.size_delta_bytes),
        ],
        ["Wasted", fmt.size(base.wasted_bytes), fmt.size(new.wasted_bytes), fmt.signed(summary.wasted_delta_bytes)],
        [
            "Efficiency",
            fmt.percent(base.efficiency),
            fmt.percent(new.efficiency),
            f"{summary.efficiency_delta * 100:+.2f} pts",
        ],
        ["Layers", str(len(base.layers)), str(len(new.layers)), f"{c.shared_layers} shared"],
    ]
    cells = [[td(row[0])] + [td(v, cls="num") for v in row[1:]] for row in rows]
    headers = [("", ""), (f"Base: {base.image.name}", "num"), (f"New: {new.image.name}", "num"), ("Change", "num")]
    return '<h2 id="summary">Summary</h2>' + table(headers, cells, sortable=False)


def _changes(summary: DiffSummary) -> str:
    items = []
    for row in summary.changes:
        mark = row.mark
        figure = "" if row.delta_bytes is None else f" ({fmt.signed(row.delta_bytes)})"
        items.append(
            f'<li><span class="sw" style="background:{CHANGE_COLOURS[mark]}"></span>'
            f'<span class="mark {_CLASS[mark]}">{esc(mark)}</span> '
            f"{row.count} {esc(row.change.value)}{esc(figure)}</li>"
        )
    copies = f"<p>{summary.copies} added files are copies of files already in the base.</p>" if summary.copies else ""
    return f'<h2 id="changes">Files and links</h2><ul>{"".join(items)}</ul>{copies}'


def _stack(analysis: Analysis, shared: int, total: int, label: str) -> str:
    segments = []
    for layer in analysis.layers:
        share = layer.size_bytes / total if total else 0
        tag = "shared" if layer.index < shared else "own"
        tip = f"{label} layer {layer.index} ({tag}): {fmt.size(layer.size_bytes)}  {layer.short_command}"
        style = f"flex:{share:.6f} 0 0;background:{layer_colour(layer.index)}"
        if layer.index >= shared:
            style += ";outline:2px dashed #000;outline-offset:-3px"
        segments.append(f'<a style="{style}" title="{esc(tip)}">{layer.index}</a>')
    spare = 1 - analysis.size_bytes / total if total else 0
    if spare > 0:
        segments.append(f'<span style="flex:{spare:.6f} 0 0"></span>')
    aria = f"{label} layers; the table below lists them"
    return f'<div class="bar" role="img" aria-label="{esc(aria)}">{"".join(segments)}</div>'


def _layers(comparison: ImageComparison, new_labels: list[str | None]) -> str:
    """Both images' layers as bars on one scale (the images' own layers dashed) and as a table."""
    base, new, shared = comparison.base, comparison.new, comparison.shared_layers
    total = max(base.size_bytes, new.size_bytes)
    rows = []
    for side, analysis in (("base", base), ("new", new)):
        for layer in analysis.layers:
            state = "shared" if layer.index < shared else ("+ new" if side == "new" else "- gone")
            label = new_labels[layer.index] if side == "new" and layer.index < len(new_labels) else None
            command = esc(layer.short_command) + (f"<br><i>{esc(label)}</i>" if label else "")
            rows.append(
                [
                    td(side),
                    td(layer.index, num=layer.index, cls="num"),
                    td(state),
                    td(fmt.size(layer.size_bytes), num=layer.size_bytes, cls="num"),
                    f'<td class="mono">{command}</td>',
                ]
            )
    headers = [("Image", ""), ("Layer", "num"), ("", ""), ("Size", "num"), ("Command", "")]
    return (
        '<h2 id="layers">By layer</h2><p>Base above, new below, on one scale; layers an image does not share are '
        "dashed.</p>" + _stack(base, shared, total, "Base") + _stack(new, shared, total, "New") + table(headers, rows)
    )


def folder_deltas(files: list[FileChange], depth: int = FOLDER_DEPTH) -> dict[str, tuple[int, int]]:
    """Per folder down to ``depth``, (bytes added, bytes removed) by the changes below it."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in files:
        delta = item.delta_bytes
        if not delta:
            continue
        parts = item.path.strip("/").split("/")[:-1]
        for level in range(min(depth, len(parts)) + 1):
            folder = "/" + "/".join(parts[:level])
            out[folder][0 if delta > 0 else 1] += abs(delta)
    return {folder: (grew, shrank) for folder, (grew, shrank) in out.items()}


def _folders(comparison: ImageComparison) -> str:
    deltas = folder_deltas(comparison.files)
    if not deltas:
        return '<h2 id="folders">By folder</h2><p>No folder changed size.</p>'
    ranked = sorted(deltas.items(), key=lambda kv: (-abs(kv[1][0] - kv[1][1]), kv[0]))[:FOLDER_ROWS]
    scale = max(grew + shrank for grew, shrank in deltas.values()) or 1
    rows = []
    for folder, (grew, shrank) in ranked:
        bar = "".join(
            f'<span class="sw" style="width:{200 * part / scale:.0f}px;background:{CHANGE_COLOURS[mark]}"></span>'
            for mark, part in (("+", grew), ("-", shrank))
            if part
        )
        rows.append(
            [
                td(folder, cls="mono"),
                td(fmt.signed(grew - shrank), num=grew - shrank, cls="num"),
                td(f"+{fmt.size(grew)}" if grew else "0 B", num=grew, cls="num add"),
                td(f"-{fmt.size(shrank)}" if shrank else "0 B", num=shrank, cls="num del"),
                f"<td>{bar}</td>",
            ]
        )
    headers = [("Folder", ""), ("Net", "num"), ("Grew", "num"), ("Shrank", "num"), ("", "")]
    return (
        f'<h2 id="folders">By folder</h2><p>Folders down to depth {FOLDER_DEPTH}, biggest net change first; '
        "green (+) grew, red (-) shrank.</p>" + table(headers, rows)
    )


def _note(item: FileChange) -> str:
    if item.moved_from:
        return f"moved from {item.moved_from}"
    if item.copy_of:
        return f"copy of {item.copy_of}"
    return ", ".join(item.changed)


def _biggest(items: list[FileChange]) -> str:
    if not items:
        return '<h2 id="biggest">Biggest changes</h2><p>No file changed.</p>'
    rows = []
    for item in items[:CHANGE_ROWS]:
        mark = CHANGE_MARKS[item.change][0]
        rows.append(
            [
                f'<td class="mark {_CLASS[mark]}" data-v="{esc(item.change.value)}">{esc(mark)}</td>',
                td(fmt.signed(item.delta_bytes), num=item.delta_bytes, cls="num"),
                td(item.path, cls="mono"),
                td(_note(item), cls="mono"),
            ]
        )
    more = len(items) - CHANGE_ROWS
    tail = f"<p>… and {more} more (<code>divepy diff --json</code> lists them all).</p>" if more > 0 else ""
    return (
        '<h2 id="biggest">Biggest changes</h2>'
        + table([("", ""), ("Change", "num"), ("Path", ""), ("Note", "")], rows)
        + tail
    )


def _copies_and_moves(comparison: ImageComparison) -> str:
    moved = comparison.of(Change.MOVED)
    copies = [c for c in comparison.of(Change.ADDED) if c.copy_of]
    if not moved and not copies:
        return ""
    rows = [[td(">"), td(c.moved_from or "", cls="mono"), td(c.path, cls="mono")] for c in biggest_first(moved)]
    rows += [[td("+ copy"), td(c.copy_of or "", cls="mono"), td(c.path, cls="mono")] for c in biggest_first(copies)]
    return f'<h2 id="copies">Moves ({len(moved)}) and copies ({len(copies)})</h2>' + table(
        [("", ""), ("From (base)", ""), ("To (new)", "")], rows[:CHANGE_ROWS]
    )


def _hints(comparison: ImageComparison) -> str:
    changes = hint_changes(comparison)
    rows = []
    for mark, hints in (("+", changes.appeared), ("-", changes.disappeared)):
        for hint in hints:
            rows.append(
                [
                    f'<td class="mark {_CLASS[mark]}">{mark}</td>',
                    td(fmt.size(hint.bytes), num=hint.bytes, cls="num"),
                    td(hint.kind),
                    td("\n".join(hint.paths[:3]), cls="mono"),
                    td(hint.fix if mark == "+" else ""),
                ]
            )
    if not rows:
        return '<h2 id="hints">Hints</h2><p>No hint appeared or disappeared.</p>'
    headers = [("", ""), ("Saves", "num"), ("Kind", ""), ("Paths", ""), ("Fix", "")]
    return '<h2 id="hints">Hints appeared (+) and disappeared (-)</h2>' + table(headers, rows)


def _packages(comparison: ImageComparison) -> str:
    changes = package_changes(comparison)
    rows = []
    for mark, packages in (("+", changes.added), ("-", changes.removed), ("~", changes.changed)):
        for package in packages:
            rows.append(
                [
                    f'<td class="mark {_CLASS[mark]}">{mark}</td>',
                    td(package.manager),
                    td(package.name),
                    td(package.version),
                ]
            )
    if not rows:
        return '<h2 id="packages">Packages</h2><p>No package changed.</p>'
    return '<h2 id="packages">Packages</h2>' + table(
        [("", ""), ("Manager", ""), ("Package", ""), ("Version", "")], rows
    )
