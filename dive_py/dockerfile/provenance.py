"""Provides :func:`provenance_match`: each layer's Dockerfile line from a BuildKit provenance attestation.

With ``mode=max``, BuildKit's SLSA provenance (v0.2: ``metadata["https://mobyproject.org/buildkit@v1#metadata"]``;
v1: ``runDetails.metadata.buildkit_metadata``) carries the Dockerfile itself (``source.infos[].data``, base64),
where each build step is in it (``source.locations``: step -> line ranges) and the layers each step's result
is made of (``layers``: ``"stepN:output"`` -> chains of layer descriptors). The step whose chain ends with a
layer, one layer longer than the layer before, made that layer; a layer only a ``FROM`` step reaches is the
base image's. Nothing here is guessed: a layer no step explains has no line.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from dive_py.dockerfile.parse import Dockerfile, Instruction, parse_text
from dive_py.errors import DivepyError
from dive_py.safe_text import visible

V02_KEY = "https://mobyproject.org/buildkit@v1#metadata"


@dataclass(frozen=True)
class ProvenanceMatch:
    """The Dockerfile the attestation carries and each layer's instruction in it."""

    dockerfile: Dockerfile
    layers: tuple[Instruction | None, ...]
    warnings: tuple[str, ...] = ()


def buildkit_metadata(predicate: dict[str, Any]) -> dict[str, Any] | None:
    """BuildKit's own part of a provenance predicate (either SLSA version), or None."""
    metadata = predicate.get("metadata")
    found = metadata.get(V02_KEY) if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        details = predicate.get("runDetails")
        metadata = details.get("metadata") if isinstance(details, dict) else None
        found = metadata.get("buildkit_metadata") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else None


def provenance_match(predicate: dict[str, Any], digests: list[str]) -> ProvenanceMatch | None:
    """The lines of the layers whose (compressed) ``digests`` are given, from a provenance predicate; None
    when it carries no Dockerfile, no locations or no layers (``mode=min``)."""
    metadata = buildkit_metadata(predicate)
    source = metadata.get("source") if metadata else None
    layers = metadata.get("layers") if metadata else None
    if not isinstance(source, dict) or not isinstance(layers, dict):
        return None
    dockerfile = _dockerfile(source)
    locations = source.get("locations")
    if dockerfile is None or not isinstance(locations, dict):
        return None
    chains = _chains(layers)
    found: list[Instruction | None] = []
    for index in range(len(digests)):
        prefix = tuple(digests[: index + 1])
        steps = sorted((step for step, chain in chains if chain == prefix), key=_step_number)
        found.append(_instruction(dockerfile, locations, steps))
    warnings = []
    if digests and all(item is None for item in found):
        warnings.append(f"the image's provenance attestation ({visible(dockerfile.path)}) names none of its layers")
    return ProvenanceMatch(dockerfile, tuple(found), tuple(warnings))


def _dockerfile(source: dict[str, Any]) -> Dockerfile | None:
    """The Dockerfile the attestation carries (its first Dockerfile source), parsed; None when it has none."""
    infos = source.get("infos")
    for info in infos if isinstance(infos, list) else []:
        if not isinstance(info, dict) or not isinstance(info.get("data"), str):
            continue
        filename = info.get("filename")
        name = filename if isinstance(filename, str) else "Dockerfile"
        try:
            text = base64.b64decode(info["data"], validate=False).decode("utf-8", errors="replace")
            return parse_text(text, name)
        except (binascii.Error, ValueError, DivepyError):
            continue
    return None


def _chains(layers: dict[str, Any]) -> list[tuple[str, tuple[str | None, ...]]]:
    """(step, the digests of one chain of its result's layers) for every chain the attestation lists (None: a
    layer without a digest, which matches none)."""
    out = []
    for key, chains in layers.items():
        step = str(key).partition(":")[0]
        for chain in chains if isinstance(chains, list) else []:
            if isinstance(chain, list):
                digests = tuple(d.get("digest") for d in chain if isinstance(d, dict))
                out.append((step, digests))
    return out


def _step_number(step: str) -> int:
    digits = step.removeprefix("step")
    return int(digits) if digits.isdigit() else 1 << 30


def _instruction(dockerfile: Dockerfile, locations: dict[str, Any], steps: list[str]) -> Instruction | None:
    """The instruction at the first of ``steps`` that has a location; None for a ``FROM`` (the base image's
    layer) or when none has one."""
    for step in steps:
        line = _first_line(locations.get(step))
        if line is None:
            continue
        item = _at_line(dockerfile, line)
        return None if item is None or item.keyword == "FROM" else item
    return None


def _first_line(location: object) -> int | None:
    """The first line of a step's first source range."""
    try:
        line = location["locations"][0]["ranges"][0]["start"]["line"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return line if isinstance(line, int) and line > 0 else None


def _at_line(dockerfile: Dockerfile, line: int) -> Instruction | None:
    """The instruction whose lines hold ``line``."""
    for stage in dockerfile.stages:
        for item in stage.instructions:
            if item.line <= line <= item.end_line:
                return item
    return None
