"""Provides ``python -m dive_py``."""

from dive_py.cli import console_main

console_main()
