"""Provides analysis."""
