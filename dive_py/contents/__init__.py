"""Provides the contents of image files: lookup at a layer, bytes read back from layer blobs, extraction."""
