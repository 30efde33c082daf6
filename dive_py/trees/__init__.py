"""Provides trees."""
