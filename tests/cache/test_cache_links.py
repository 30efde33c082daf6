"""Links planted in the cache folder (a restored CI cache, say) are never followed: not when writing, reading
or pruning; what they point to survives, and the run says so once (issue 25, item 6)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from dive_py.analysis.figures_record import FIGURES_VERSION
from dive_py.cache.store import CACHE_VERSION, prune_cache
from dive_py.files import LinkRefused, open_private_folder
from tests.fixtures.paths import EXAMPLE, PYTHON, child_env

SEED_LINES = (b"efficiency:             99.3958 %", b"sizeBytes:              9673897")


def _sentinels(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder of the user's files, one in a subfolder too (pruning walks subfolders)."""
    folder = tmp_path / "precious"
    (folder / "sha256").mkdir(parents=True)
    files = {"notes.txt": b"keep me", "old.scan": b"s" * 5000, "sha256/" + "a" * 64: b"b" * 3000}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, ns=(0, 0))  # older than any cache entry: pruned first, were it followed
    return folder, files


def _intact(folder: Path, files: dict[str, bytes]) -> None:
    found = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert found == files


def _divepy(cache: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    env = child_env(DIVEPY_CACHE_DIR=str(cache), DIVEPY_CACHE_LIMIT="1kB")  # every run prunes all it can
    return subprocess.run(
        [PYTHON, "-m", "dive_py", *args], capture_output=True, env=env, timeout=60, check=False, **kwargs
    )


def test_links_at_the_stores_are_skipped_and_warned_about_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    precious, files = _sentinels(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    planted = [f"layers-v{CACHE_VERSION - 1}", f"layers-v{CACHE_VERSION}", "blobs", f"figures-v{FIGURES_VERSION}"]
    for name in planted:
        os.symlink(precious, cache / name)
    from_archive = _divepy(cache, "--ci", str(EXAMPLE))  # layer scans and figures
    with open(EXAMPLE, "rb") as stdin:
        from_stream = _divepy(cache, "--ci", "-", stdin=stdin)  # blobs
    assert prune_cache(str(cache), limit=0) == 0
    for run in (from_archive, from_stream):
        assert run.returncode == 0, run.stderr
        assert all(line in run.stdout for line in SEED_LINES)  # the seed's figures, cache or not
    _intact(precious, files)
    assert sorted(os.listdir(cache)) == sorted(planted)
    assert all(os.readlink(cache / name) == str(precious) for name in planted)
    warnings = from_archive.stderr.decode().splitlines()
    for name in (f"layers-v{CACHE_VERSION - 1}", f"layers-v{CACHE_VERSION}", f"figures-v{FIGURES_VERSION}"):
        assert sum(f"{cache / name}" in line for line in warnings) == 1, warnings  # once, not per layer
    assert any(f"{cache / 'blobs'}" in line for line in from_stream.stderr.decode().splitlines())
    assert "is a link or not what the cache writes: skipped, not followed" in capsys.readouterr().err


def test_links_deeper_in_the_cache_are_not_followed(tmp_path: Path) -> None:
    precious, files = _sentinels(tmp_path)
    cache = tmp_path / "cache"
    (cache / "blobs").mkdir(parents=True)
    os.symlink(precious / "sha256", cache / "blobs" / "sha256")  # where blobs are written
    layers = cache / f"layers-v{CACHE_VERSION}"
    layers.mkdir()
    os.symlink(precious / "old.scan", layers / "planted.scan")  # a file link: not a cache entry
    os.symlink(precious, layers / "sub")
    old = cache / f"layers-v{CACHE_VERSION - 1}"
    old.mkdir()
    os.symlink(precious, old / "inside")  # an old version's folder goes, what its link names stays
    with open(EXAMPLE, "rb") as stdin:
        run = _divepy(cache, "--ci", "-", stdin=stdin)
    assert run.returncode == 0, run.stderr
    assert prune_cache(str(cache), limit=0) == 0
    _intact(precious, files)
    assert not old.exists()
    assert os.path.islink(cache / "blobs" / "sha256") and os.path.islink(layers / "planted.scan")
    with pytest.raises(LinkRefused):
        open_private_folder(str(cache), "blobs/sha256")


def test_cache_folders_are_private(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _divepy(cache, "--ci", str(EXAMPLE), stdin=subprocess.DEVNULL).returncode == 0
    with open(EXAMPLE, "rb") as stdin:
        assert _divepy(cache, "--ci", "-", stdin=stdin).returncode == 0
    folders = [cache, *(p for p in cache.rglob("*") if p.is_dir())]
    assert {p.name for p in folders} >= {"cache", "blobs", "sha256", f"figures-v{FIGURES_VERSION}"}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {"0o700"}
