"""CI draws the same hypothesis examples every run (tests/conftest.py's "ci" profile); elsewhere they vary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.paths import REPO, child_env

PROBE = "import tests.conftest; from hypothesis import settings; print(settings.default.derandomize)"


@pytest.mark.parametrize(
    ("env", "seeded"),
    [({"CI": "true"}, "True"), ({"HYPOTHESIS_PROFILE": "ci"}, "True"), ({"CI": "false"}, "False"), ({}, "False")],
)
def test_ci_runs_are_derandomized(env: dict[str, str], seeded: str) -> None:
    base = {key: value for key, value in child_env().items() if key not in ("HYPOTHESIS_PROFILE",)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env={**base, **env}, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == seeded
