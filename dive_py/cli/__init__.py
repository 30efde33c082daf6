"""Provides cli."""
