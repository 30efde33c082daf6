"""Provides ``divepy audit``'s reports: the ranked table as text, JSON, CSV and Markdown.

Every name and hint comes from the images (hostile text): the text table shows control characters
escaped (:func:`dive_py.safe_text.visible`), Markdown escapes pipes and keeps cells on one line, CSV
quotes as the csv module does and defuses cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from dive_py import format as fmt
from dive_py.ci.audit import ranked, shared_layers
from dive_py.safe_text import visible

HINT_WIDTH = 60
"""Characters of the top hint shown in the text table (JSON and CSV have it whole)."""

COLUMNS = ("image", "size", "efficiency", "wasted", "fixable", "top hint")


def _cells(row: dict[str, Any]) -> list[str]:
    if row["error"]:
        return [visible(row["ref"]), "-", "-", "-", "-", "unreadable: " + visible(row["error"])]
    hint = row["top_hint"]
    return [
        visible(row["ref"]),
        fmt.size(row["size_bytes"]),
        fmt.percent(row["efficiency"]),
        fmt.size(row["wasted_bytes"]),
        fmt.size(row["fixable_bytes"]),
        "-" if hint is None else visible(f"{hint['kind']}: {hint['fix']}"),
    ]


def audit_text(rows: list[dict[str, Any]]) -> str:
    """The ranked table (most wasted first), the images failing rules, and the most shared base layers."""
    table = [list(COLUMNS)] + [_cells(row) for row in ranked(rows)]
    for cells in table[1:]:
        if len(cells[5]) > HINT_WIDTH:
            cells[5] = cells[5][: HINT_WIDTH - 1] + "…"
    widths = [max(len(cells[i]) for cells in table) for i in range(len(COLUMNS) - 1)]
    lines = [_line(cells, widths) for cells in table]
    bases = shared_layers(rows)
    if bases:
        lines += ["", "Layers shared by most images:"]
        for base in bases:
            command = visible(base["command"])[:HINT_WIDTH]
            lines.append(
                f"  {base['images']:>4} images  {fmt.size(base['size_bytes']):>9}  {base['id'][:19]}  {command}"
            )
    return "\n".join(lines) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    """The image left-aligned, the figures right-aligned, the hint last (unpadded)."""
    padded = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:-1], widths[1:], strict=True)]
    return "  ".join([*padded, cells[-1]])


def audit_document(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The audit as JSON: every row (ranked) and the shared layers."""
    return {"images": ranked(rows), "sharedLayers": shared_layers(rows)}


def audit_json(rows: list[dict[str, Any]]) -> str:
    """The audit's rows as a JSON document."""
    return json.dumps(audit_document(rows), indent=2) + "\n"


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formula in a spreadsheet


def audit_csv(rows: list[dict[str, Any]]) -> str:
    """One line an image, ranked: the table's figures in bytes and ratios, plus its rule verdict."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["image", "size_bytes", "efficiency", "wasted_bytes", "fixable_bytes", "top_hint", "passed",
                     "failed_rules", "error"])  # fmt: skip
    for row in ranked(rows):
        hint = row.get("top_hint")
        values = [row["ref"], row.get("size_bytes"), row.get("efficiency"), row.get("wasted_bytes"),
                  row.get("fixable_bytes"), hint and f"{hint['kind']}: {hint['fix']}", row.get("passed"),
                  " ".join(row.get("failed_rules") or []), row["error"]]  # fmt: skip
        writer.writerow([_csv_cell(v) for v in values])
    return out.getvalue()


def _md(text: str) -> str:
    return visible(" ".join(text.split())).replace("|", "\\|").replace("`", "\\`")


def audit_markdown(rows: list[dict[str, Any]]) -> str:
    """The ranked table and the shared layers as GitHub Markdown."""
    lines = ["## divepy audit", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in ranked(rows):
        lines.append("| " + " | ".join(_md(cell) for cell in _cells(row)) + " |")
    bases = shared_layers(rows)
    if bases:
        lines += [
            "",
            "### Layers shared by most images",
            "",
            "| images | size | layer | command |",
            "|---|---|---|---|",
        ]
        for base in bases:
            lines.append(
                f"| {base['images']} | {fmt.size(base['size_bytes'])} | `{base['id'][:19]}` | {_md(base['command'])} |"
            )
    return "\n".join(lines) + "\n"
