"""Provides layers."""
