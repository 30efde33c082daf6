"""Provides the CI rules: their settings (``config``) and their evaluation (``rules``); reports show them."""
