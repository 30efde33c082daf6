"""Provides registry."""
