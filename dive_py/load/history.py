"""Provides the pairing of the config's history with the layers: which command made which layer."""

from __future__ import annotations

from typing import Any


def pair_history(config: dict[str, Any], layer_count: int) -> tuple[list[dict[str, Any]], str | None]:
    """Pairs history entries that made a layer (``empty_layer`` skipped) with the layers.

    Returns:
        One history dict per layer (``{}`` where history is missing) and a warning when
        the history does not match the layers (dive panics on some of these).
    """
    raw = config.get("history")
    entries = [h for h in raw if isinstance(h, dict)] if isinstance(raw, list) else []
    with_layers = [h for h in entries if not h.get("empty_layer")]
    paired = with_layers[:layer_count] + [{} for _ in range(layer_count - len(with_layers))]
    warning = None
    if len(with_layers) != layer_count and (entries or layer_count):
        warning = (
            f"image history lists {len(with_layers)} layer-making steps for {layer_count} layers; "
            "commands shown may be missing or misaligned"
        )
    return paired, warning


def command_of(entry: dict[str, Any]) -> str:
    """The layer's command as dive shows it: ``created_by`` without ``/bin/sh -c ``."""
    created_by = entry.get("created_by")
    if not isinstance(created_by, str):
        return "(missing)" if not entry else ""
    return created_by.removeprefix("/bin/sh -c ")
