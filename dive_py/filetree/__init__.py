"""Per-layer file trees, how they stack, and what they waste (domain; no UI)."""
