"""Provides ``--html FILE``: one self-contained page of an image's analysis, for a reviewer or a CI artifact.

The summary and the CI rules' verdicts, a bar of the layers by size, a treemap of the final file system
(:mod:`dive_py.reports.treemap`), the hints with their fixes, the packages per layer and the inefficient files.
Every chart has a text alternative (a table, or the cells' titles). Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.hints import HintReport
from dive_py.ci.rules import CiReport, RuleStatus
from dive_py.reports.html_page import esc, layer_colour, page, table, td
from dive_py.reports.rule_figures import rule_figure
from dive_py.reports.treemap import require_squarify
from dive_py.reports.treemap_record import image_treemap

INEFFICIENT_ROWS = 200
"""Rows of the inefficient-files table (``--json`` has them all)."""


def layer_labels_from(analysis: Analysis) -> list[str | None]:
    """Per layer, the text shown beside its command: the source's label (``container … (not committed)``).

    This is the hook for Dockerfile lines: a caller that knows them passes its own list to :func:`html_report`.
    """
    return [layer.label or None for layer in analysis.layers]


def html_report(
    analysis: Analysis, report: CiReport | None = None, layer_labels: Sequence[str | None] | None = None
) -> str:
    """The page of ``analysis``.

    Args:
        analysis: the loaded image.
        report: the CI rules' results, when they were evaluated (``--ci``).
        layer_labels: per layer, a text such as ``Dockerfile:12 RUN apt-get …`` shown with the command
            (default :func:`layer_labels_from`).

    Raises:
        ConfigError: squarify (the treemap's layout) is not installed.
    """
    require_squarify()
    labels = list(layer_labels) if layer_labels is not None else layer_labels_from(analysis)
    hints = analysis.hints()
    hinted = {path for hint in hints.hints for path in hint.paths}
    tree = image_treemap(analysis, hinted)
    name = analysis.image.name
    body = [
        f"<header><h1>divepy: {esc(name)}</h1>",
        f"<p>{esc(analysis.image.source)} · {len(analysis.layers)} layers · layers numbered from 0, as in the "
        "explorer</p></header>",
        _summary(analysis, hints.fixable_bytes, report),
        _layers(analysis, labels),
        '<h2 id="treemap">Final file system</h2>',
        "<p>Each file is coloured by the layer that last wrote it and labelled with it (<code>L4</code>); a "
        "folder's frame by the layer that wrote most of its bytes. Click a folder with a view to zoom (links "
        "work without scripts); dashed outlines mark paths a hint names; small files are one "
        "<i>N files</i> cell.</p>",
        _legend(analysis),
        f'<div class="tmviews">{"".join(tree.views)}</div>',
        _biggest_folders(tree.anchors),
        _hints(hints),
        _packages(analysis),
        _inefficient(analysis),
    ]
    data = {
        "layers": [{"index": layer.index, "command": layer.short_command} for layer in analysis.layers],
        "hintPaths": sorted(hinted),
    }
    return page(f"divepy: {name}", "".join(body), data)


def _summary(analysis: Analysis, fixable: int, report: CiReport | None) -> str:
    figures = [
        ("Size", fmt.size(analysis.size_bytes)),
        ("Efficiency", fmt.percent(analysis.efficiency)),
        ("Wasted", fmt.size(analysis.wasted_bytes)),
        ("Reclaimable", fmt.size(analysis.walk().reclaimable_bytes)),
        ("Fixable (hints)", fmt.size(fixable)),
        ("Final file system", fmt.size(analysis.walk().final_size_bytes)),
    ]
    parts = ['<h2 id="summary">Summary</h2><div class="figs">']
    parts += [f'<div class="fig">{esc(label)}<b>{esc(value)}</b></div>' for label, value in figures]
    parts.append("</div>")
    if report is None:
        parts.append("<p>CI rules not evaluated (run with <code>--ci</code> to see their verdicts).</p>")
        return "".join(parts)
    verdict = "PASS" if report.passed else "FAIL"
    parts.append(
        f'<h2 id="rules">CI rules: <span class="{verdict.lower()}">{verdict}</span></h2>'
        f"<p>{report.count(RuleStatus.PASS)} passed, {report.count(RuleStatus.FAIL)} failed, "
        f"{report.count(RuleStatus.SKIP)} skipped.</p>"
    )
    rows = []
    for result in report.results:
        status = result.status.name
        rows.append(
            [
                td(result.key),
                f'<td class="{status.lower()}">{esc(status)}</td>',
                td(rule_figure(result, report), cls="num"),
                td(result.configuration, cls="num"),
            ]
        )
    headers = [("Rule", ""), ("Result", ""), ("Value", "num"), ("Threshold", "num")]
    parts.append(table(headers, rows, sortable=False))
    return "".join(parts)


def _layers(analysis: Analysis, labels: Sequence[str | None]) -> str:
    """The bar of layers by size (each its colour, its number in text) and the same as a table."""
    total = sum(layer.size_bytes for layer in analysis.layers) or 1
    segments, rows = [], []
    for layer in analysis.layers:
        share = layer.size_bytes / total
        label = labels[layer.index] if layer.index < len(labels) else None
        tip = f"layer {layer.index}: {fmt.size(layer.size_bytes)}  {layer.short_command}"
        segments.append(
            f'<a href="#layer-{layer.index}" style="flex:{max(share, 0.0):.6f} 0 0;'
            f'background:{layer_colour(layer.index)}" title="{esc(tip)}">{layer.index}</a>'
        )
        command = esc(layer.short_command) + (f"<br><i>{esc(label)}</i>" if label else "")
        rows.append(
            [
                f'<td class="num" id="layer-{layer.index}" data-v="{layer.index}">'
                f'<span class="sw" style="background:{layer_colour(layer.index)}"></span>{layer.index}</td>',
                td(fmt.size(layer.size_bytes), num=layer.size_bytes, cls="num"),
                td(fmt.percent(share), num=share, cls="num"),
                f'<td class="mono">{command}</td>',
            ]
        )
    headers = [("Layer", "num"), ("Size", "num"), ("Share", "num"), ("Command", "")]
    return (
        '<h2 id="layers">Layers by size</h2>'
        f'<div class="bar" role="img" aria-label="Layer sizes; the table below lists them">{"".join(segments)}</div>'
        + table(headers, rows, caption="Layers, bottom (0) to top")
    )


def _legend(analysis: Analysis) -> str:
    spans = [
        f'<span><span class="sw" style="background:{layer_colour(layer.index)}"></span>L{layer.index}</span>'
        for layer in analysis.layers
    ]
    return f'<p class="legend">{"".join(spans)}</p>'


def _biggest_folders(anchors: dict[str, str]) -> str:
    """The text alternative of the treemap: every folder that has a view, as a link to it."""
    items = [f'<li><a href="#{anchor}"><code>{esc(path)}</code></a></li>' for path, anchor in anchors.items()]
    return (
        f"<details><summary>Folders with a view ({len(items)}): the treemap as a list</summary>"
        f"<ul>{''.join(items)}</ul></details>"
    )


def _hints(hints: HintReport) -> str:
    if not hints.hints:
        return f'<h2 id="hints">Hints</h2><p>None of at least {esc(fmt.size(hints.min_bytes))}.</p>'
    rows = [
        [
            td(fmt.size(hint.bytes), num=hint.bytes, cls="num"),
            td(hint.kind),
            td(hint.layer, num=hint.layer, cls="num"),
            f'<td class="mono">{"<br>".join(esc(p) for p in hint.paths[:5])}{" …" if len(hint.paths) > 5 else ""}</td>',
            td(hint.fix),
        ]
        for hint in hints.hints
    ]
    headers = [("Saves", "num"), ("Kind", ""), ("Layer", "num"), ("Paths", ""), ("Fix", "")]
    return (
        f'<h2 id="hints">Hints: {esc(fmt.size(hints.fixable_bytes))} ({esc(fmt.percent(hints.fixable_ratio))} of the '
        f"image) fixable</h2>" + table(headers, rows)
    )


def _packages(analysis: Analysis) -> str:
    report = analysis.packages()
    rows = []
    for index, layer in enumerate(report.layers):
        for mark, cls, packages in (
            ("+", "add", layer.added),
            ("-", "del", layer.removed),
            ("~", "mod", layer.changed),
        ):
            for package in packages:
                rows.append(
                    [
                        td(index, num=index, cls="num"),
                        f'<td class="mark {cls}">{mark}</td>',
                        td(package.manager),
                        td(package.name),
                        td(package.version),
                        td(fmt.size(package.size_bytes), num=package.size_bytes, cls="num"),
                    ]
                )
    if not rows:
        return '<h2 id="packages">Packages</h2><p>No package database found.</p>'
    headers = [("Layer", "num"), ("", ""), ("Manager", ""), ("Package", ""), ("Version", ""), ("Size", "num")]
    return (
        '<h2 id="packages">Packages per layer</h2><p><span class="mark add">+</span> added, '
        '<span class="mark del">-</span> removed, <span class="mark mod">~</span> changed</p>'
        + "<details open><summary>"
        + f"{len(rows)} package changes</summary>{table(headers, rows)}</details>"
    )


def _inefficient(analysis: Analysis) -> str:
    items = analysis.inefficiencies
    if not items:
        return '<h2 id="inefficient">Inefficient files</h2><p>None.</p>'
    rows = [
        [
            td(item.count, num=item.count, cls="num"),
            td(fmt.size(item.cumulative_bytes), num=item.cumulative_bytes, cls="num"),
            f'<td class="mono">{esc(item.path)}</td>',
        ]
        for item in items[:INEFFICIENT_ROWS]
    ]
    more = f"<p>… and {len(items) - INEFFICIENT_ROWS} more (<code>--json</code> lists them all).</p>"
    return (
        '<h2 id="inefficient">Inefficient files</h2><p>Paths stored more than once across layers; click a heading to '
        "sort.</p>"
        + table([("Count", "num"), ("Wasted", "num"), ("Path", "")], rows)
        + (more if len(items) > INEFFICIENT_ROWS else "")
    )
