"""Provides ``python -m dive_py``."""

from dive_py.cli.main import console_main

if __name__ == "__main__":  # not when a spawned worker process imports the parent's main module
    console_main()
