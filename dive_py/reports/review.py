"""Provides the hints where reviewers read: GitHub Actions annotations and GitLab Code Quality (SARIF: :mod:`.sarif`).

Every hint is one finding at its Dockerfile line when the layer's instruction is known; otherwise the
finding points at the image and its message says which layer (and, for a ``docker commit`` layer, so).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from dive_py import format as fmt
from dive_py.analysis.analyze import Analysis
from dive_py.analysis.hints import Hint
from dive_py.dockerfile.lines import DockerfileLines
from dive_py.dockerfile.parse import Instruction
from dive_py.files import write_text_atomic
from dive_py.safe_text import visible_lines

MAJOR_BYTES = 10_000_000
"""A hint saving at least this much is ``major`` in Code Quality (else ``minor``)."""


@dataclass(frozen=True)
class Finding:
    """One hint as a review finding."""

    hint: Hint
    title: str
    message: str
    instruction: Instruction | None
    fingerprint: str
    """Stable across runs while the hint's kind, instruction (or layer command) and first path stay."""


def findings(analysis: Analysis, lines: DockerfileLines) -> list[Finding]:
    """The analysis' hints (at its minimum size), biggest first, as findings."""
    out = []
    for hint in analysis.hints().hints:
        item = lines.of_layer(hint.layer)
        more = f" (+{len(hint.paths) - 1} more)" if len(hint.paths) > 1 else ""
        where = f"layer {hint.layer}"
        if item is None:
            note = lines.note_of(hint.layer)
            where += f" of {analysis.image.name}" + (f", {note}" if note else "")
        message = (
            f"{hint.kind}: {fmt.size(hint.bytes)} ({hint.bytes} bytes) could be saved in {where}: "
            f"{hint.paths[0]}{more}. Fix: {hint.fix}"
        )
        title = f"divepy {hint.kind}: {fmt.size(hint.bytes)}"
        anchor = item.text if item is not None else hint.command
        digest = hashlib.sha256("\0".join((hint.kind, anchor, hint.paths[0])).encode("utf-8", "replace"))
        out.append(Finding(hint, title, message, item, digest.hexdigest()))
    return out


def review_path(path: str) -> str:
    """A Dockerfile's path as review tools want it: relative to the folder divepy runs in (the checkout, in CI)
    when it is under it, with forward slashes."""
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive
            return path.replace("\\", "/")
        if not relative.startswith(".."):
            path = relative
    return path.replace("\\", "/").removeprefix("./")


def github_annotations(analysis: Analysis, lines: DockerfileLines) -> list[str]:
    """``::warning file=…,line=…,endLine=…,title=…::message`` per hint (GitHub's workflow command escaping)."""
    out = []
    for finding in findings(analysis, lines):
        properties = {"title": finding.title}
        item = finding.instruction
        if item is not None:
            properties = {
                "file": review_path(item.path),
                "line": str(item.line),
                "endLine": str(item.end_line),
                **properties,
            }
        said = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
        out.append(f"::warning {said}::{_escape_data(finding.message)}")
    return out


def _escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (GitHub's rules); other controls made visible."""
    return visible_lines(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    """A workflow command's property value: as a message, plus ``:`` and ``,``."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def codequality(analysis: Analysis, lines: DockerfileLines) -> list[dict[str, Any]]:
    """GitLab's Code Quality report (a CodeClimate subset): one issue per hint."""
    issues = []
    for finding in findings(analysis, lines):
        item = finding.instruction
        path, begin = (review_path(item.path), item.line) if item is not None else (analysis.image.name, 1)
        issues.append(
            {
                "type": "issue",
                "check_name": f"divepy/{finding.hint.kind}",
                "description": finding.message,
                "categories": ["Performance"],
                "fingerprint": finding.fingerprint,
                "severity": "major" if finding.hint.bytes >= MAJOR_BYTES else "minor",
                "location": {"path": path, "lines": {"begin": begin}},
            }
        )
    return issues


def write_codequality(analysis: Analysis, lines: DockerfileLines, path: str) -> None:
    """Writes :func:`codequality` as JSON to ``path`` atomically (``-`` for stdout).

    Raises:
        DivepyError: the file cannot be written.
    """
    write_text_atomic(path, json.dumps(codequality(analysis, lines), indent=2) + "\n")
