"""Measures the floor under a cold ``divepy --ci``: the digest checks alone, with no tar parsing at all.

Issue 6 requires every layer to match its digest (sha256 of the blob as stored) and its
diff_id (sha256 of the uncompressed tar): a cold analysis reads and hashes every byte, and
inflates compressed layers. This script does only that, for every layer of an image, split
between as many processes as there are CPUs (largest layers first), and times dive on the
same image in the same run. The ratio it prints is the best any cold ``--ci`` that checks
digests could reach on this machine, before reading a single tar header.

Usage: python bench/floor.py [--runs N] IMAGE...
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from dive_py.layers.compression import decompressing_reader
from dive_py.sources.archive import open_image_files
from dive_py.sources.base import region_reader
from dive_py.sources.layouts import plan_image

sys.path.insert(0, os.path.dirname(__file__))
from bench import _dive_binary  # noqa: E402


def layer_regions(image: str) -> list[tuple[str, int, int]]:
    """(file, offset, size) of every layer blob of a saved image, as divepy's loader finds them."""
    files = open_image_files(image)
    try:
        return [files.blob_location(ref.blob) for ref in plan_image(files).layers]
    finally:
        files.close()


def verify(region: tuple[str, int, int]) -> tuple[int, int]:
    """Reads one blob, hashing it as stored and (when compressed) inflated; returns (stored, tar) bytes."""
    path, offset, size = region
    stored = hashlib.sha256()
    read = region_reader(path, offset, size, "truncated")

    def hashed(n: int = -1) -> bytes:
        data = read(n)
        stored.update(data)
        return data

    plain_read, compression = decompressing_reader(hashed, "layer")
    plain = hashlib.sha256() if compression != "none" else None
    total = 0
    while chunk := plain_read(1 << 20):
        total += len(chunk)
        if plain is not None:
            plain.update(chunk)
    return size, total


def floor_run(regions: list[tuple[str, int, int]]) -> tuple[float, int]:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        done = list(pool.map(verify, sorted(regions, key=lambda r: -r[2])))
    return time.perf_counter() - started, sum(tar for _stored, tar in done)


def dive_run(dive: str, image: str) -> float:
    started = time.perf_counter()
    subprocess.run([dive, "--ci", f"docker-archive://{image}"], capture_output=True, cwd="/tmp")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dive", default=_dive_binary())
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; floor = read + sha256 (+ inflate + sha256 of the tar) of every layer, in parallel")
    print(f"{'image':<24} {'tar MB':>8} {'floor s':>8} {'dive s':>8} {'floor/dive':>11} {'0.33x dive':>11}")
    for image in args.images:
        image = os.path.abspath(image)
        regions = layer_regions(image)
        floors, dives, tar = [], [], 0
        for _ in range(args.runs):
            wall, tar = floor_run(regions)
            floors.append(wall)
            dives.append(dive_run(args.dive, image))
        floor, dive = statistics.median(floors), statistics.median(dives)
        name = os.path.basename(image)
        print(f"{name:<24} {tar / 1e6:8.0f} {floor:8.2f} {dive:8.2f} {floor / dive:10.2f}x {dive / 3:10.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
