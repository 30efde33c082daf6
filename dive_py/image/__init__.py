"""Where images come from: archives, folders, engines, registries (domain; no UI)."""
