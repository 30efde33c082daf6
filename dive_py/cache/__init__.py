"""Provides cache."""
