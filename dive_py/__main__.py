"""Provides ``python -m dive_py``."""

import sys

from dive_py.cli import main

sys.exit(main())
