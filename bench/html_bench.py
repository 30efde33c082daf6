"""Measures ``--html`` on a large image: the page's size, what writing it adds to ``--ci``, and how fast Chromium
shows it.

Writes (or reuses, with ``--image``) a synthetic docker-archive of ~101k files in 12 layers: a distribution-like
tree of nested folders, file sizes log-normal (a few up to 4 MB), each file's content its own; upper layers add
packages, overwrite ~10 % of earlier files and delete a folder. Then, in turns for ``--runs`` rounds, times
``divepy IMAGE --ci`` with and without ``--html`` (warm layer cache and ``--no-cache``), and opens the page in
headless Chromium (DevTools over a pipe): load event and first contentful paint after navigation.

Usage: python bench/html_bench.py [--runs N] [--files N] [--image PATH] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fixtures.chromium import Chromium  # noqa: E402
from tests.fixtures.images import M, file, folder, layer_tar, whiteout, write_docker_archive  # noqa: E402

LAYERS = 12
TOP = ("usr/lib/x86_64-linux-gnu", "usr/share/doc", "usr/lib/python3/dist-packages", "usr/share/locale", "opt/app")


def _content(path: str, rng: random.Random) -> bytes:
    size = min(int(rng.lognormvariate(6.3, 1.6)), 4 << 20)
    seed = path.encode() + b"\n"
    return (seed * (size // len(seed) + 1))[:size]


def make_image(path: Path, files: int, seed: int = 27) -> int:
    """Writes the archive; returns its number of regular-file members."""
    rng = random.Random(seed)
    written: list[str] = []
    layers: list[list[M]] = []
    history = []
    per_layer = [files * 4 // 10] + [files * 6 // 10 // (LAYERS - 1)] * (LAYERS - 1)
    made = 0
    for index, count in enumerate(per_layer):
        members: list[M] = []
        folders: set[str] = set()
        new = count - (count // 10 if index else 0)
        for _ in range(new):
            top = rng.choice(TOP)
            package = f"pkg{rng.randrange(300):03d}" if top != "usr/share/locale" else f"l{rng.randrange(80)}"
            depth = rng.randrange(0, 3)
            parts = [top, package, *[f"d{rng.randrange(4)}" for _ in range(depth)]]
            name = "/".join(parts) + f"/f{made:06d}.{rng.choice(('so', 'py', 'txt', 'mo', 'gz'))}"
            made += 1
            for level in range(1, len(name.split("/"))):
                folders.add("/".join(name.split("/")[:level]))
            members.append(file(name, _content(name, rng)))
            written.append(name)
        if index:  # rewrites of earlier files
            for name in rng.sample(written[: -new or None], count // 10):
                members.append(file(name, _content(name + f"#{index}", rng)))
        if index == LAYERS - 1:
            members.append(whiteout(f"opt/app/pkg001-{LAYERS - 2}"))
        layers.append([folder(f) for f in sorted(folders)] + members)
        history.append({"created_by": f"/bin/sh -c install packages step {index}"})
    blobs = [layer_tar(members) for members in layers]
    write_docker_archive(path, blobs, history=history, tags=["htmlbench:latest"])
    return sum(per_layer)


def _time(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the process and its workers): on a shared machine the CPU time is
    the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=101_000)
    parser.add_argument("--image", type=Path, help="use (or write, when missing) this archive")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (image, page)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="divepy-html-bench-"))
    image = args.image or work / "big.tar"
    if not image.exists():
        start = time.perf_counter()
        count = make_image(image, args.files)
        print(f"wrote {image} ({count:,} file members, {image.stat().st_size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(work / "cache")}
    env.pop("CI", None)
    page = work / "report.html"
    base = [sys.executable, "-m", "dive_py", str(image), "--ci"]
    _time(base, env)  # warms the layer cache
    series: dict[str, list[tuple[float, float]]] = {"ci": [], "ci+html": [], "ci cold": [], "ci+html cold": []}
    for _ in range(args.runs):
        series["ci"].append(_time(base, env))
        series["ci+html"].append(_time([*base, "--html", str(page)], env))
        series["ci cold"].append(_time([*base, "--no-cache"], env))
        series["ci+html cold"].append(_time([*base, "--no-cache", "--html", str(page)], env))
    wall = {name: statistics.median(v[0] for v in values) for name, values in series.items()}
    cpu = {name: statistics.median(v[1] for v in values) for name, values in series.items()}
    print(f"medians of {args.runs} runs, {image.name}: wall, CPU (user+sys)")
    for name in series:
        print(f"  divepy --{name:<14} {wall[name]:6.2f} s  {cpu[name]:6.2f} s")
    for label, plain, with_html in (("warm cache", "ci", "ci+html"), ("--no-cache", "ci cold", "ci+html cold")):
        print(f"  --html adds ({label}): wall {100 * (wall[with_html] / wall[plain] - 1):+.1f} %, "
              f"CPU {100 * (cpu[with_html] / cpu[plain] - 1):+.1f} %")  # fmt: skip
    size = page.stat().st_size
    print(f"  page: {size / 1e6:.2f} MB ({size:,} bytes)")
    loads, paints = [], []
    with Chromium() as browser:
        for _ in range(args.runs):
            run = browser.open(page, 1280, 900, evaluate={"cells": 'document.querySelectorAll("svg.tm rect").length'})
            if run.errors:
                print("  chromium errors:", run.errors)
            loads.append(run.timings["load"])
            paints.append(run.timings["paint"])
    print(f"  chromium: load event {statistics.median(loads):.0f} ms, first contentful paint "
          f"{statistics.median(paints):.0f} ms after navigation (median of {args.runs}); {run.values['cells']:,} "
          "treemap cells")  # fmt: skip
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
