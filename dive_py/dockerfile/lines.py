"""Provides :class:`DockerfileLines`: the frozen map from an image's layers to the Dockerfile lines that made them.

It lives beside the analysis (never in it): the command line makes it once from the image's history and
the Dockerfile given (:func:`dockerfile_lines`), and every report reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dive_py.dockerfile.match import commit_note, match_history
from dive_py.dockerfile.parse import Dockerfile, Instruction, parse_dockerfile
from dive_py.dockerfile.provenance import provenance_match
from dive_py.model import Image
from dive_py.safe_text import visible


@dataclass(frozen=True)
class DockerfileLines:
    """Per layer: the instruction that made it (None: the base image's, or not found), and what else is known."""

    path: str | None
    """The Dockerfile, or None when none is known (then only :attr:`notes` may say something)."""
    target: str | None
    layers: tuple[Instruction | None, ...]
    notes: tuple[str | None, ...]
    """Per layer: how a layer no instruction made was made (``docker commit``: its comment and author)."""
    warnings: tuple[str, ...] = ()
    entries: tuple[Instruction | None, ...] = ()
    """Per history entry (empty-layer ones included; none when the lines come from an attestation)."""
    source: str | None = None
    """Where the Dockerfile came from: ``given`` (``--dockerfile``, ``divepy build``), ``attestation`` (the
    image's BuildKit provenance), or None when no Dockerfile is known."""

    def of_layer(self, index: int) -> Instruction | None:
        """The instruction that made layer ``index``, or None."""
        return self.layers[index] if 0 <= index < len(self.layers) else None

    def note_of(self, index: int) -> str | None:
        """Why layer ``index`` has no instruction (e.g. a step not in the Dockerfile), or None."""
        return self.notes[index] if 0 <= index < len(self.notes) else None

    def to_dict(self, index: int) -> dict[str, Any] | None:
        """``{path, line, endLine, instruction, stage}`` of a layer's instruction, or None (the JSON form)."""
        item = self.of_layer(index)
        return None if item is None else instruction_dict(item)

    def label(self, index: int) -> str:
        """``Dockerfile:7 RUN chmod -R 755 /opt/tools`` for a layer, its note, or "" (one line, control
        characters shown as ``\\xNN``: an attested Dockerfile and a commit's comment come from the image)."""
        item = self.of_layer(index)
        if item is not None:
            return visible(f"{location(item)} {item.text}")
        return visible(self.note_of(index) or "")


def instruction_dict(item: Instruction) -> dict[str, Any]:
    """The JSON form of an instruction's place."""
    return {
        "path": item.path,
        "line": item.line,
        "endLine": item.end_line,
        "instruction": item.text,
        "stage": item.stage,
    }


def location(item: Instruction) -> str:
    """``path:line`` (``path:line-end`` over several lines)."""
    span = f"{item.line}" if item.end_line == item.line else f"{item.line}-{item.end_line}"
    return f"{item.path}:{span}"


NO_LINES = DockerfileLines(None, None, (), ())


def dockerfile_lines(
    config: dict[str, Any],
    layer_count: int,
    dockerfile: str | Dockerfile | None = None,
    target: str | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    digests: list[str] | None = None,
) -> DockerfileLines:
    """The lines of an image's layers from its config's history and a Dockerfile (a path or parsed).

    Without a Dockerfile, the image's BuildKit provenance attestation (``provenance``, with the layers'
    compressed ``digests``) gives the lines when it carries them (``mode=max``); else layers have no line,
    but a layer made by ``docker commit`` still says so.

    Raises:
        DivepyError: the Dockerfile cannot be read or parsed, or has no stage ``target``.
    """
    raw = config.get("history") if isinstance(config, dict) else None
    history = [entry for entry in raw if isinstance(entry, dict)] if isinstance(raw, list) else []
    made = [entry for entry in history if not entry.get("empty_layer")]
    notes = tuple(commit_note(made[index]) if index < len(made) else None for index in range(layer_count))
    if dockerfile is None and provenance is not None and digests is not None and len(digests) == layer_count:
        attested = provenance_match(provenance, digests)
        if attested is not None:
            path = attested.dockerfile.path
            return DockerfileLines(path, None, attested.layers, notes, attested.warnings, source="attestation")
    if dockerfile is None:
        return DockerfileLines(None, target, (None,) * layer_count, notes)
    parsed = parse_dockerfile(dockerfile) if isinstance(dockerfile, str) else dockerfile
    found = match_history(history, layer_count, parsed, target)
    return DockerfileLines(parsed.path, target, found.layers, notes, found.warnings, found.entries, "given")


def image_lines(image: Image, dockerfile: str | Dockerfile | None = None, target: str | None = None) -> DockerfileLines:
    """:func:`dockerfile_lines` of a loaded image (its history, and its provenance attestation, if any)."""
    digests = [layer.digest for layer in image.layers]
    return dockerfile_lines(
        image.config, len(image.layers), dockerfile, target, provenance=image.provenance, digests=digests
    )
