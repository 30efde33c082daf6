"""Shows that divepy's cost grows linearly with entries, layers and whiteouts, unlike dive's.

Generates docker-archive tars (with :mod:`tarfile`, in a temporary folder): a base layer
of ``--base`` files in 100 folders, then layers that each add 200 files, with 0, 500 or
5,000 whiteouts of base files spread over the upper layers; 2, 10 and 50 layers. Times
``divepy --ci --no-cache`` and ``dive --ci`` on each (dive gets ``--timeout`` seconds:
it re-stacks every lower layer for each whiteout) and prints time against entries.

Usage: python bench/scaling.py [--base N] [--timeout S] [--no-dive]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAYERS = (2, 10, 50)
WHITEOUTS = (0, 500, 5000)
FILES_PER_UPPER_LAYER = 200
FOLDERS = 100


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 1_700_000_000
    tar.addfile(info)


def _layer(build) -> bytes:  # noqa: ANN001 - a function of a TarFile
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        build(tar)
    return buffer.getvalue()


def make_image(path: str, layers: int, whiteouts: int, base: int) -> int:
    """Writes a docker-archive; returns its number of layer members (files, folders, whiteouts)."""
    base_names = [f"data/d{i % FOLDERS:03d}/base{i:06d}.txt" for i in range(base)]

    def base_layer(tar: tarfile.TarFile) -> None:
        _add_dir(tar, "data")
        for folder in range(FOLDERS):
            _add_dir(tar, f"data/d{folder:03d}")
        for i, name in enumerate(base_names):
            _add_file(tar, name, f"base file {i}\n".encode() * 4)

    blobs = [_layer(base_layer)]
    members = 1 + FOLDERS + base
    uppers = layers - 1
    deleted = iter(base_names[:whiteouts])
    for index in range(uppers):
        share = whiteouts // uppers + (1 if index < whiteouts % uppers else 0)
        gone = [next(deleted) for _ in range(share)]

        def upper(tar: tarfile.TarFile, index: int = index, gone: list[str] = gone) -> None:
            _add_dir(tar, f"layer{index}")
            for i in range(FILES_PER_UPPER_LAYER):
                _add_file(tar, f"layer{index}/f{i:04d}", f"layer {index} file {i}\n".encode())
            for name in gone:
                folder, _, base_name = name.rpartition("/")
                _add_file(tar, f"{folder}/.wh.{base_name}", b"")

        blobs.append(_layer(upper))
        members += 1 + FILES_PER_UPPER_LAYER + share
    diff_ids = ["sha256:" + hashlib.sha256(blob).hexdigest() for blob in blobs]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"/bin/sh -c step {i}"} for i in range(layers)],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_names = [f"{d[7:]}/layer.tar" for d in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": [f"scaling:{layers}-{whiteouts}"], "Layers": layer_names}]
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as out:
        _add_file(out, config_name, config_bytes)
        for name, blob in zip(layer_names, blobs, strict=True):
            _add_file(out, name, blob)
        _add_file(out, "manifest.json", json.dumps(manifest).encode())
    return members


def timed(command: list[str], env: dict[str, str], cwd: str, timeout: float) -> float | None:
    start = time.perf_counter()
    try:
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode(errors='replace')[-400:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=20000, help="files in the base layer (default 20000)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds dive may take per image (default 60)")
    parser.add_argument("--no-dive", action="store_true", help="time divepy only")
    args = parser.parse_args()
    dive = shutil.which("dive")
    with tempfile.TemporaryDirectory(prefix="divepy-scaling-") as tmp:
        home, cwd = os.path.join(tmp, "home"), os.path.join(tmp, "cwd")
        os.mkdir(home)
        os.mkdir(cwd)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
        header = f"{'layers':>6} {'whiteouts':>9} {'entries':>8} {'divepy s':>9} {'µs/entry':>9} {'dive s':>9}"
        print(header)
        print("-" * len(header))
        for layers in LAYERS:
            for whiteouts in WHITEOUTS:
                image = os.path.join(tmp, f"scaling-{layers}-{whiteouts}.tar")
                entries = make_image(image, layers, whiteouts, args.base)
                ours = timed([sys.executable, "-m", "dive_py", "--ci", "--no-cache", image], env, cwd, 600)
                theirs = None
                if dive and not args.no_dive:
                    theirs = timed([dive, "--ci", "--source", "docker-archive", image], env, cwd, args.timeout)
                dive_text = "-" if args.no_dive or not dive else (f"{theirs:.2f}" if theirs else f">{args.timeout:.0f}")
                ours = ours or 0.0
                print(f"{layers:6} {whiteouts:9} {entries:8} {ours:9.2f} {ours / entries * 1e6:9.1f} {dive_text:>9}")
                sys.stdout.flush()
                os.unlink(image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
