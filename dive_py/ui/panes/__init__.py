"""Provides the explorer's panes."""
