"""Provides ``--sarif``: the hints as SARIF 2.1.0 (GitHub code scanning and other review tools).

One rule per hint kind, one result per hint at its Dockerfile region (the instruction's lines); a hint
whose layer has no line points at the image (its message says which layer). Bytes and the fix are in the
message and, as numbers, in the result's properties.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import quote

from dive_py import __version__
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.hints import KINDS
from dive_py.dockerfile.lines import DockerfileLines
from dive_py.files import write_text_atomic
from dive_py.reports.review import Finding, findings, review_path

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

RULE_TEXT = {
    "deleted-later": "Files stored in one layer and deleted in a later one",
    "overwritten-later": "Files stored in one layer and replaced in a later one",
    "metadata-only": "Files stored again only to change their mode, owner or time",
    "moved": "Files stored in one layer and moved to another path in a later one",
    "duplicate-content": "Files whose content is already in the image at another path",
    "package-cache": "Package manager caches left in the image",
    "temp-files": "Temporary files left in the image",
}
"""The short description of each hint kind's rule."""


def sarif(analysis: Analysis, lines: DockerfileLines) -> dict[str, Any]:
    """The SARIF log of the analysis' hints."""
    rules = [_rule(kind) for kind in KINDS]
    index = {kind: at for at, kind in enumerate(KINDS)}
    results = [_result(finding, index, analysis) for finding in findings(analysis, lines)]
    run = {
        "tool": {
            "driver": {
                "name": "divepy",
                "version": __version__,
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if lines.path is not None:
        run["originalUriBaseIds"] = {"SRCROOT": {"description": {"text": "The folder divepy ran in."}}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(kind: str) -> dict[str, Any]:
    text = RULE_TEXT.get(kind, kind)
    return {
        "id": kind,
        "name": "".join(part.capitalize() for part in kind.split("-")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": f"{text}: the bytes a fix of the layer's instruction would save."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["container", "image-size"]},
    }


def _result(finding: Finding, index: dict[str, int], analysis: Analysis) -> dict[str, Any]:
    hint = finding.hint
    return {
        "ruleId": hint.kind,
        "ruleIndex": index[hint.kind],
        "level": "warning",
        "message": {"text": finding.message},
        "locations": [_location(finding, analysis)],
        "partialFingerprints": {"divepyHint/v1": finding.fingerprint},
        "properties": {"bytes": hint.bytes, "layer": hint.layer, "paths": list(hint.paths), "fix": hint.fix},
    }


def _location(finding: Finding, analysis: Analysis) -> dict[str, Any]:
    """The instruction's region in the Dockerfile, or the image itself with the layer named."""
    item = finding.instruction
    layer = f"layer {finding.hint.layer}"
    if item is None:
        return {
            "physicalLocation": {"artifactLocation": {"uri": _uri(analysis.image.name)}},
            "logicalLocations": [
                {"name": layer, "fullyQualifiedName": f"{analysis.image.name}/{layer}", "kind": "module"}
            ],
        }
    path = review_path(item.path)
    artifact: dict[str, Any] = {"uri": _uri(path)}
    if not posixpath.isabs(path):
        artifact["uriBaseId"] = "SRCROOT"
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": item.line, "endLine": item.end_line, "snippet": {"text": item.original}},
        },
        "logicalLocations": [{"name": layer, "kind": "module"}],
    }


def _uri(path: str) -> str:
    """A path as a URI reference (percent-encoded; a path relative to the folder divepy ran in stays relative)."""
    posix = path.replace("\\", "/")
    if posix.startswith("./"):
        posix = posix[2:]
    return ("file://" if posix.startswith("/") else "") + quote(posix, safe="/:@")


def write_sarif(analysis: Analysis, lines: DockerfileLines, path: str) -> None:
    """Writes :func:`sarif` as JSON to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, json.dumps(sarif(analysis, lines), indent=2) + "\n")
