#!/usr/bin/env python3
"""Fuzzes divepy's image loading with mutated real archives (issue 6); not part of the unit suite.

Each input is a real archive from ``../shared/images`` put through 1-3 mutations (bytes
flipped, tar headers changed, truncated, members dropped, reordered, duplicated, renamed,
relinked, JSON values retyped, a layer rewritten and re-signed). divepy must either
analyse it or refuse it with a ``DivepyError``; any other exception, a hang past the
per-input time limit or running out of the per-input memory limit is a crash.

Usage::

    python scripts/fuzz.py                      # 10,000 inputs, seed 6, one worker per CPU
    python scripts/fuzz.py -n 50000 --seed 7 --crashes /tmp/crashes
    python scripts/fuzz.py --atheris -n 20000   # coverage-guided with atheris (when installed)

Inputs are derived from (seed, input number) only, so a crash is replayed with
``--replay N`` and the same ``--seed``. Exit code: 0 when nothing crashed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.mutate import MUTATIONS, apply, load_outcome, seed_archives  # noqa: E402

DEFAULT_IMAGES = REPO.parent / "shared" / "images"

_state: dict = {}


def plan(seed: int, index: int, names: list[str]) -> tuple[str, list[tuple[str, int]], bool]:
    """The input number ``index``: which archive, which mutation steps, file or stream."""
    rng = random.Random(f"{seed}:{index}")
    ops = [(rng.choice(sorted(MUTATIONS)), rng.randrange(2**32)) for _ in range(rng.choice((1, 1, 2, 3)))]
    return rng.choice(names), ops, rng.random() < 0.5


class _Timeout(BaseException):
    """Raised by the per-input alarm (a BaseException, so no ``except Exception`` swallows it)."""


def _on_alarm(_signum, _frame) -> None:  # noqa: ANN001
    raise _Timeout


def _init_worker(seeds: dict[str, bytes], work: str, memory_mb: int, timeout: float) -> None:
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _on_alarm)
    folder = Path(work) / f"w{os.getpid()}"
    folder.mkdir()
    _state.update(seeds=seeds, work=folder, timeout=timeout)


def run_one(task: tuple[int, int]) -> tuple[int, str, str, str]:
    """Returns (index, outcome, first mutation, detail); outcome is ok, refused or crash."""
    seed, index = task
    name, ops, stream = plan(seed, index, sorted(_state["seeds"]))
    data = apply(_state["seeds"][name], ops)
    signal.setitimer(signal.ITIMER_REAL, _state["timeout"])
    try:
        outcome = load_outcome(data, _state["work"], stream=stream)
        detail = ""
    except _Timeout:
        outcome, detail = "crash", f"timeout after {_state['timeout']} s"
    except MemoryError:
        outcome, detail = "crash", "MemoryError (over the memory limit)"
    except Exception as exc:  # noqa: BLE001 - anything that is not a DivepyError is the bug we look for
        outcome, detail = "crash", "".join(traceback.format_exception(exc)[-6:])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if outcome == "crash":
        detail = f"{name} ops={ops} stream={stream}\n{detail}"
    return index, outcome, ops[0][0], detail


def run_random(args: argparse.Namespace, seeds: dict[str, bytes]) -> int:
    counts: collections.Counter[str] = collections.Counter()
    by_mutation: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    crashes: list[tuple[int, str]] = []
    started = time.monotonic()
    indexes = [args.replay] if args.replay is not None else range(args.inputs)
    with tempfile.TemporaryDirectory(prefix="divepy-fuzz-") as work:
        init = (seeds, work, args.memory_mb, args.timeout)
        with multiprocessing.Pool(args.jobs, _init_worker, init, maxtasksperchild=500) as pool:
            tasks = ((args.seed, i) for i in indexes)
            for index, outcome, mutation, detail in pool.imap_unordered(run_one, tasks, chunksize=16):
                counts[outcome] += 1
                by_mutation[mutation][outcome] += 1
                if outcome == "crash":
                    crashes.append((index, detail))
                    if args.crashes:
                        Path(args.crashes).mkdir(parents=True, exist_ok=True)
                        (Path(args.crashes) / f"crash-{args.seed}-{index}.txt").write_text(detail)
                done = sum(counts.values())
                if args.verbose and done % 1000 == 0:
                    print(f"  {done} inputs, {counts['crash']} crashes", file=sys.stderr)
    elapsed = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for index, detail in crashes[:10]:
        print(f"--- crash: input {index} (replay with --seed {args.seed} --replay {index})\n{detail}")
    print(
        f"divepy fuzz: seed {args.seed}, {len(seeds)} seed archives, {args.jobs} workers, "
        f"limits {args.timeout:g} s and {args.memory_mb} MB per input"
    )
    print(f"tried:    {sum(counts.values())}")
    print(f"refused:  {counts['refused']} (DivepyError)")
    print(f"analysed: {counts['ok']}")
    print(f"crashed:  {counts['crash']}")
    print(
        "by first mutation: "
        + ", ".join(f"{name} {c['ok']}/{c['refused']}/{c['crash']}" for name, c in sorted(by_mutation.items()))
        + "  (analysed/refused/crashed)"
    )
    print(
        f"time: {elapsed:.1f} s ({1000 * elapsed / max(sum(counts.values()), 1):.1f} ms an input), "
        f"peak worker memory {peak_mb:.0f} MB"
    )
    return 0 if not counts["crash"] else 1


def run_atheris(args: argparse.Namespace, seeds: dict[str, bytes]) -> int:
    """Coverage-guided: atheris picks the archive and mutation seeds; libFuzzer watches time and memory."""
    import atheris

    import dive_py.analysis.analyze
    import dive_py.load.image  # noqa: F401 - load what the target runs, then instrument it all

    atheris.instrument_all()

    names = sorted(seeds)
    counts: collections.Counter[str] = collections.Counter()
    work = Path(tempfile.mkdtemp(prefix="divepy-fuzz-"))

    def report() -> None:
        print(f"tried: {sum(counts.values())}  refused: {counts['refused']}  analysed: {counts['ok']}  crashed: 0")

    def one_input(raw: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(raw)
        name = names[fdp.ConsumeIntInRange(0, len(names) - 1)]
        ops = [
            (sorted(MUTATIONS)[fdp.ConsumeIntInRange(0, len(MUTATIONS) - 1)], fdp.ConsumeIntInRange(0, 2**32 - 1))
            for _ in range(fdp.ConsumeIntInRange(1, 3))
        ]
        stream = fdp.ConsumeBool()
        counts[load_outcome(apply(seeds[name], ops), work, stream=stream)] += 1  # other exceptions: a crash
        if sum(counts.values()) == args.inputs:
            report()

    libfuzzer_args = [
        sys.argv[0],
        f"-runs={args.inputs}",
        f"-timeout={int(args.timeout)}",
        f"-rss_limit_mb={args.memory_mb}",
        f"-seed={args.seed}",
        "-print_final_stats=1",
    ]
    atheris.Setup(libfuzzer_args, one_input)
    atheris.Fuzz()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--inputs", type=int, default=10_000, help="how many mutated inputs (default 10000)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="folder of real archives to mutate")
    parser.add_argument("--max-archive-mb", type=float, default=2.0, help="skip seed archives larger than this")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds allowed per input")
    parser.add_argument("--memory-mb", type=int, default=1536, help="address-space limit per worker")
    parser.add_argument("--crashes", help="folder to write crash reports to")
    parser.add_argument("--replay", type=int, help="run only input number N of this seed")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided run with atheris/libFuzzer")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    paths = seed_archives(args.images, int(args.max_archive_mb * (1 << 20)))
    if not paths:
        parser.error(f"no seed archives (*.tar) under {args.images}")
    seeds = {path.name: path.read_bytes() for path in paths}
    # Loads write a layer cache: keep this run's out of the user's ~/.cache (workers inherit the setting).
    cache_home = tempfile.TemporaryDirectory(prefix="divepy-fuzz-cache-")
    os.environ.pop("DIVEPY_CACHE_DIR", None)
    os.environ["XDG_CACHE_HOME"] = cache_home.name
    if args.atheris:
        return run_atheris(args, seeds)
    return run_random(args, seeds)


if __name__ == "__main__":
    sys.exit(main())
