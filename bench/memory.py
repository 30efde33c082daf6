"""Where the explorer's memory goes on an image: RSS after each stage of what it builds, in this process.

Usage: python bench/memory.py IMAGE [--no-cache]

Stages: the analysis (figures, from the cache when warm), the union tree, the explorer's row model, every
layer's columns (as switching through all layers leaves them), the path list a filter searches, the hints
and packages. The GC is off, as in the program while it loads.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dive_py.analysis.from_reference import load_analysis  # noqa: E402
from dive_py.load.options import LoadOptions  # noqa: E402
from dive_py.trees.rows import RowModel  # noqa: E402
from dive_py.trees.view_state import TreeViewState  # noqa: E402


def rss_mb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 >> 20


def peak_mb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) >> 10 for line in f if line.startswith("VmHWM"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    gc.disable()
    last = rss_mb()
    print(f"{'stage':<28} {'seconds':>8} {'RSS MB':>7} {'added':>6} {'peak MB':>8}")

    def stage(name: str, work):  # noqa: ANN001, ANN202
        nonlocal last
        started = time.perf_counter()
        result = work()
        now = rss_mb()
        print(f"{name:<28} {time.perf_counter() - started:8.2f} {now:7d} {now - last:6d} {peak_mb():8d}")
        last = now
        return result

    analysis = stage("analysis", lambda: load_analysis(args.image, LoadOptions(use_cache=not args.no_cache)))
    tree = stage("union tree", lambda: analysis.tree)
    model = stage("row model", lambda: RowModel(tree, len(analysis.image.layers)))
    stage("columns of every layer", lambda: [model.visible(TreeViewState(layer=i)) for i in range(model.layer_count)])
    stage("path list (filter)", model.paths)
    stage("hints and packages", analysis.extras)
    print(f"union nodes: {tree.node_count:,}")


if __name__ == "__main__":
    main()
