"""Provides load."""
