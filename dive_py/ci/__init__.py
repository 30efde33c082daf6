"""Provides ci."""
