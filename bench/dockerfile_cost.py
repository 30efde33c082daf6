"""What the Dockerfile lines and SARIF add to ``divepy --ci`` (issue 23: at most 5 %).

Makes a docker-archive of ``--base`` files plus upper layers (:func:`scaling.make_image`, history
``/bin/sh -c step N``) and the Dockerfile whose RUN lines match that history, then times
``divepy --ci --no-cache IMAGE`` against the same with ``--dockerfile D --sarif S`` (and GitHub annotations,
``GITHUB_ACTIONS=true``), alternating runs; prints the medians and the ratio. ``--image`` times an archive
of your own (its Dockerfile from ``--dockerfile``) instead.

Usage: python bench/dockerfile_cost.py [--base N] [--layers N] [--runs N] [--image TAR --dockerfile PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import REPO, make_image  # noqa: E402


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=200_000, help="files in the base layer (default 200000)")
    parser.add_argument("--layers", type=int, default=10, help="layers (default 10)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7)")
    parser.add_argument("--image", help="an archive of your own instead of the generated one")
    parser.add_argument("--dockerfile", help="with --image: its Dockerfile")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO), "GITHUB_ACTIONS": "true"}
    env.pop("CI", None)
    with tempfile.TemporaryDirectory(prefix="divepy-dfcost-") as folder:
        image, dockerfile = args.image, args.dockerfile
        if image is None:
            image, dockerfile = os.path.join(folder, "image.tar"), os.path.join(folder, "Dockerfile")
            members = make_image(image, args.layers, 5000, args.base)
            Path(dockerfile).write_text("FROM base\n" + "".join(f"RUN step {i}\n" for i in range(1, args.layers)))
            print(f"image: {members:,} members, {args.layers} layers")
        sarif = os.path.join(folder, "out.sarif")
        plain = [sys.executable, "-m", "dive_py", image, "--ci", "--no-cache"]
        mapped = [*plain, "--dockerfile", dockerfile, "--sarif", sarif]
        timed(plain, env)  # warm the page cache
        walls: dict[str, list[float]] = {"--ci": [], "--ci --dockerfile --sarif": []}
        for _ in range(args.runs):
            walls["--ci"].append(timed(plain, env))
            walls["--ci --dockerfile --sarif"].append(timed(mapped, env))
        added = in_process(image, dockerfile, args.runs)
    medians = {name: statistics.median(values) for name, values in walls.items()}
    for name, values in walls.items():
        print(f"{name:<28} median {medians[name]:.3f} s  ({' '.join(f'{v:.3f}' for v in values)})")
    base, extra = medians.values()
    print(f"added (wall, noisy on a shared machine): {extra - base:+.3f} s ({(extra / base - 1) * 100:+.1f} %)")
    print(f"added (in process, min of {args.runs}: parse + match + SARIF + annotations, the hints being made by")
    print(f"  --ci anyway): {added * 1000:.1f} ms = {added / base * 100:.2f} % of the --ci median")
    return 0


def in_process(image: str, dockerfile: str, runs: int) -> float:
    """The least time, over ``runs``, of what ``--dockerfile`` and ``--sarif`` add once the image is analysed."""
    sys.path.insert(0, str(REPO))
    from dive_py.analysis.from_reference import load_analysis
    from dive_py.dockerfile.lines import dockerfile_lines
    from dive_py.load.options import LoadOptions
    from dive_py.reports.review import github_annotations
    from dive_py.reports.sarif import sarif

    analysis = load_analysis(image, LoadOptions(use_cache=False))
    analysis.hints()  # --ci makes them with or without the flags
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        lines = dockerfile_lines(analysis.image.config, len(analysis.layers), dockerfile)
        document = sarif(analysis, lines)
        github_annotations(analysis, lines)
        json.dumps(document, indent=2)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    sys.exit(main())
