"""Provides sources."""
