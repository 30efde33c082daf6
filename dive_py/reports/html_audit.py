"""Provides ``divepy audit --html FILE``: one self-contained page of an audit, in the style of the image report.

The ranked table (sortable by the page's script, complete without it), a bar per image of its size with its wasted
and fixable bytes, the base layers shared by most images, and the images that could not be read. Every reference,
hint, command and error comes from the images or their registry (hostile text): it reaches the page only through
:func:`~dive_py.reports.html_page.esc`. Nothing here prints.
"""

from __future__ import annotations

from typing import Any

from dive_py import format as fmt
from dive_py.ci.audit import ranked, shared_layers
from dive_py.reports.html_page import esc, page, table, td


def html_audit(rows: list[dict[str, Any]], *, ci: bool = False) -> str:
    """The page of an audit's rows (:func:`dive_py.ci.audit.audit_image`'s), ranked by wasted bytes.

    Args:
        rows: one an image, readable or not.
        ci: the rules decide the exit (``--ci``): each image's verdict is shown.
    """
    ordered = ranked(rows)
    good = [row for row in ordered if not row["error"]]
    bad = [row for row in ordered if row["error"]]
    failing = [row for row in good if not row["passed"]]
    body = [
        f"<header><h1>divepy audit: {len(rows)} images</h1>",
        f"<p>{len(good)} read, {len(bad)} unreadable"
        + (f", {len(failing)} failing the CI rules" if ci else "")
        + "; ranked by wasted bytes (click a heading to sort).</p></header>",
        _summary(good),
        _ranked(ordered, ci),
        _bars(good),
        _shared(rows),
        _unreadable(bad),
    ]
    return page(f"divepy audit: {len(rows)} images", "".join(body))


def _summary(good: list[dict[str, Any]]) -> str:
    figures = [
        ("Images read", str(len(good))),
        ("Total size", fmt.size(sum(row["size_bytes"] for row in good))),
        ("Wasted", fmt.size(sum(row["wasted_bytes"] for row in good))),
        ("Fixable (hints)", fmt.size(sum(row["fixable_bytes"] for row in good))),
    ]
    cells = "".join(f'<div class="fig">{esc(label)}<b>{esc(value)}</b></div>' for label, value in figures)
    return f'<h2 id="summary">Summary</h2><div class="figs">{cells}</div>'


def _ranked(ordered: list[dict[str, Any]], ci: bool) -> str:
    """The ranked table; an unreadable image is a row too (last), its error in the hint's column."""
    headers = [("Rank", "num"), ("Image", ""), ("Size", "num"), ("Efficiency", "num"), ("Wasted", "num"),
               ("Fixable", "num")] + ([("CI rules", "")] if ci else []) + [("Top hint", "")]  # fmt: skip
    body = []
    for rank, row in enumerate(ordered, 1):
        cells = [td(rank, num=rank, cls="num"), f'<td class="mono">{esc(row["ref"])}</td>']
        if row["error"]:
            cells += [td("-", num=-1, cls="num") for _ in range(4)]
            cells += [td("unreadable", cls="fail")] if ci else []
            cells.append(td("cannot be read: " + row["error"]))
        else:
            cells += [
                td(fmt.size(row["size_bytes"]), num=row["size_bytes"], cls="num"),
                td(fmt.percent(row["efficiency"]), num=row["efficiency"], cls="num"),
                td(fmt.size(row["wasted_bytes"]), num=row["wasted_bytes"], cls="num"),
                td(fmt.size(row["fixable_bytes"]), num=row["fixable_bytes"], cls="num"),
            ]
            if ci:
                verdict = "PASS" if row["passed"] else "FAIL " + ", ".join(row["failed_rules"])
                cells.append(td(verdict, cls="pass" if row["passed"] else "fail"))
            hint = row["top_hint"]
            cells.append(td("-" if hint is None else f"{hint['kind']} ({fmt.size(hint['bytes'])}): {hint['fix']}"))
        body.append(cells)
    return '<h2 id="ranked">Images by wasted bytes</h2>' + table(headers, body)


def _bars(good: list[dict[str, Any]]) -> str:
    """A bar an image, as long as its size against the biggest, with its wasted and fixable bytes marked inside."""
    if not good:
        return ""
    biggest = max(row["size_bytes"] for row in good) or 1
    items = []
    for row in good:
        size = row["size_bytes"] or 1
        tip = (f"{row['ref']}: {fmt.size(row['size_bytes'])}, wasted {fmt.size(row['wasted_bytes'])}, "
               f"fixable {fmt.size(row['fixable_bytes'])}")  # fmt: skip
        items.append(
            f'<div class="arow" title="{esc(tip)}"><code>{esc(row["ref"])}</code>'
            f'<div class="abar" style="width:{100 * row["size_bytes"] / biggest:.2f}%">'
            f'<span class="aw" style="width:{100 * min(row["wasted_bytes"] / size, 1):.2f}%"></span>'
            f'<span class="af" style="width:{100 * min(row["fixable_bytes"] / size, 1):.2f}%"></span></div>'
            f"<span>{esc(fmt.size(row['size_bytes']))}: {esc(fmt.size(row['wasted_bytes']))} wasted, "
            f"{esc(fmt.size(row['fixable_bytes']))} fixable</span></div>"
        )
    return (
        '<h2 id="sizes">Sizes</h2><p class="legend"><span><span class="sw abar"></span>size</span>'
        '<span><span class="sw aw"></span>wasted (upper band, hatched)</span>'
        '<span><span class="sw af"></span>fixable by the hints (lower band)</span></p>'
        f'<div role="img" aria-label="Each image\'s size, wasted and fixable bytes; the table above lists them">'
        f"{''.join(items)}</div>"
    )


def _shared(rows: list[dict[str, Any]]) -> str:
    bases = shared_layers(rows)
    if not bases:
        return '<h2 id="shared">Layers shared by most images</h2><p>No layer is in two images or more.</p>'
    body = [
        [
            td(base["images"], num=base["images"], cls="num"),
            td(fmt.size(base["size_bytes"]), num=base["size_bytes"], cls="num"),
            f'<td class="mono">{esc(base["id"])}</td>',
            f'<td class="mono">{esc(base["command"])}</td>',
        ]
        for base in bases
    ]
    headers = [("Images", "num"), ("Size", "num"), ("Layer", ""), ("Command", "")]
    return '<h2 id="shared">Layers shared by most images</h2>' + table(headers, body)


def _unreadable(bad: list[dict[str, Any]]) -> str:
    if not bad:
        return ""
    items = "".join(f"<li><code>{esc(row['ref'])}</code>: {esc(row['error'])}</li>" for row in bad)
    return f'<h2 id="unreadable">Images that could not be read ({len(bad)})</h2><ul>{items}</ul>'
