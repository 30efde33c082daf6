"""Provides contents."""
