"""``-`` reads an archive from stdin in one pass (``docker save x | divepy -``), plain or compressed."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dive_py.analysis.analyze import analyze
from dive_py.analysis.from_reference import load_analysis
from tests.fixtures.paths import REPO
from tests.fixtures.piped import load_piped
from tests.services import TOMCAT_ARCHIVE, assert_same_analysis, seed_archive


def _cli(stdin: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dive_py", *args], input=stdin, capture_output=True, cwd=REPO, timeout=120, check=False
    )


def test_stdin_json_equals_the_archive_path(tmp_path: Path) -> None:
    archive = seed_archive()
    from_stdin = _cli(archive.read_bytes(), "-", "--json", str(tmp_path / "stdin.json"))
    assert from_stdin.returncode == 0, from_stdin.stderr
    from_path = _cli(b"", str(archive), "--json", str(tmp_path / "path.json"))
    assert from_path.returncode == 0, from_path.stderr
    got, want = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("stdin", "path"))
    assert got["image"].pop("name") == "stdin"
    want["image"].pop("name")
    assert got == want


@pytest.mark.parametrize("compress", [None, gzip.compress])
def test_a_piped_archive_plain_and_gzip(compress) -> None:  # noqa: ANN001
    data = seed_archive().read_bytes()
    if compress is not None:
        data = compress(data)
    got = analyze(load_piped(data))
    assert_same_analysis(got, load_analysis(str(TOMCAT_ARCHIVE)))


def test_stdin_garbage_is_exit_2() -> None:
    result = _cli(b"this is not an image archive\n" * 100, "-", "--ci")
    assert result.returncode == 2
    assert result.stderr.strip()
    empty = _cli(b"", "-", "--ci")
    assert empty.returncode == 2
