"""Provides reports."""
