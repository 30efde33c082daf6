"""Dockerfile fixes: the edits closing an image's hints (:mod:`.plan`), proven by two builds (:mod:`.verify`)."""
