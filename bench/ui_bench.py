"""Times the explorer headless (Textual Pilot) on an image: first paint, layer switch, compare toggle,
collapse-all, filter keystrokes and cursor moves (medians, milliseconds).

Usage: python bench/ui_bench.py IMAGE [--size 120x40] [--rounds N] [--settle] [--pty [--dive] [--repeat N]]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dive_py.analysis.from_reference import load_analysis  # noqa: E402
from dive_py.load.image import LoadOptions  # noqa: E402
from dive_py.ui.app import DivepyApp  # noqa: E402

LAST_DISPLAY = [0.0]
"""perf_counter() of the last screen update written to the (headless) driver."""


def watch_display(app: DivepyApp) -> None:
    """Records when the app last wrote a screen update: Pilot's own waits (20 ms sleeps) are not latency."""
    original = app._display

    def display(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        result = original(*args, **kwargs)
        LAST_DISPLAY[0] = time.perf_counter()
        return result

    app._display = display


async def timed(pilot, *keys: str) -> float:  # noqa: ANN001
    """Milliseconds from sending the key until the last screen update it caused."""
    started = time.perf_counter()
    await pilot.press(*keys)
    await pilot.pause()
    if LAST_DISPLAY[0] < started:
        return 0.0  # nothing to redraw
    return (LAST_DISPLAY[0] - started) * 1000


def pty_first_paint(cmd: list[str], marker: bytes, timeout: float = 180.0) -> float | None:
    """Seconds from starting ``cmd`` in a 120x40 pseudo-terminal until ``marker`` is drawn; then sends ``q``."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen, out = None, b""
    while time.perf_counter() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(fd, 1 << 20)
        except OSError:
            break
        if not data:
            break
        out = (out + data)[-65536:]
        if seen is None and marker in out:
            seen = time.perf_counter() - started
            os.write(fd, b"q")
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    return seen


def report(label: str, samples: list[float]) -> None:
    if samples:
        p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1] if len(samples) > 1 else samples[0]
        print(
            f"{label:<28} median {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms"
            f"   max {max(samples):8.1f} ms   n={len(samples)}"
        )


async def run(image: str, size: tuple[int, int], rounds: int, settle: bool) -> None:
    def load(progress):  # noqa: ANN001, ANN202
        return load_analysis(image, LoadOptions(progress=progress), walk_later=True)  # as the CLI loads for it

    started = time.perf_counter()
    app = DivepyApp(load=load, ref=image)
    watch_display(app)
    async with app.run_test(size=size) as pilot:
        while app.explorer is None or app.screen is not app.explorer:
            await asyncio.sleep(0.05)
        await pilot.pause()
        first_paint = time.perf_counter() - started
        explorer = app.explorer
        view = explorer.tree_view
        if settle:
            while explorer.extras is None:
                await asyncio.sleep(0.02)
            print(f"{'hints and packages ready':<28} {time.perf_counter() - started:8.2f} s (after start)")
        layers = len(app.analysis.layers)
        print(f"image: {image}")
        nodes = len(explorer.model.order)
        print(f"layers: {layers}   union nodes: {nodes:,}   visible rows at layer 1: {len(view.rows):,}")
        print(f"{'load + analyse + row model':<28} {app.load_seconds:8.2f} s")
        print(f"{'first paint of the explorer':<28} {first_paint:8.2f} s")

        switch = []
        for _ in range(rounds):
            for _ in range(layers - 1):
                switch.append(await timed(pilot, "down"))
            for _ in range(layers - 1):
                switch.append(await timed(pilot, "up"))
        report("layer switch", switch)
        await pilot.press("end")
        await pilot.pause()

        aggregated = []
        for _ in range(rounds * 3):
            aggregated.append(await timed(pilot, "ctrl+a"))
            aggregated.append(await timed(pilot, "ctrl+l"))
        report("aggregated toggle", aggregated)

        view.focus()
        await pilot.pause()
        cursor = [await timed(pilot, "down") for _ in range(50 * rounds)]
        cursor += [await timed(pilot, "pagedown") for _ in range(10 * rounds)]
        report("cursor move (down/pgdn)", cursor)

        collapse = [await timed(pilot, "ctrl+t") for _ in range(4 * rounds)]
        report("collapse-all toggle", collapse)

        keystrokes = []
        for _ in range(rounds):
            await pilot.press("slash")
            await pilot.pause()
            for char in "usr/src/linux/dri":
                keystrokes.append(await timed(pilot, char))
            for _ in range(5):
                keystrokes.append(await timed(pilot, "backspace"))
            await pilot.press("escape")
            await pilot.pause()
        report("filter keystroke", keystrokes)
        await pilot.press("q")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory (RSS)':<28} {rss:8.0f} MB")


def pty_first_paints(image: str, with_dive: bool, repeat: int) -> None:
    """Times the real program's first paint ``repeat`` times (and dive's, in turn: a busy machine slows both
    alike); prints each run and the medians.

    divepy's modules are compiled to bytecode first, as ``pip install`` does: a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile them at every start (~0.2 s of the seed's first paint).
    """
    import compileall
    import shutil

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "dive_py"), quiet=1)
    dive = shutil.which("dive") if with_dive else None
    source = f"docker-archive://{Path(image).resolve()}"
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(pty_first_paint([sys.executable, "-m", "dive_py", image], b"Current Layer Contents") or math.nan)
        if dive:
            theirs.append(pty_first_paint([dive, source], b"Current Layer Contents") or math.nan)
    for label, samples in (("divepy", ours), ("dive", theirs)):
        if samples:
            runs = " ".join(f"{x:.2f}" for x in samples) if repeat > 1 else ""
            print(f"{f'first paint, {label} (pty)':<28} {statistics.median(samples):8.2f} s   {runs}".rstrip())
    if theirs:
        print(f"{'divepy / dive':<28} {statistics.median(ours) / statistics.median(theirs):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--settle", action="store_true", help="wait for the background hints and packages before the keys"
    )
    parser.add_argument("--pty", action="store_true", help="also time the first paint in a real pseudo-terminal")
    parser.add_argument("--dive", action="store_true", help="with --pty: time dive's first paint on the same image")
    parser.add_argument(
        "--repeat", type=int, default=1, help="with --pty: first paints, divepy and dive in turn; medians"
    )
    args = parser.parse_args()
    if args.pty:
        pty_first_paints(args.image, args.dive, max(args.repeat, 1))
    width, height = (int(v) for v in args.size.split("x"))
    asyncio.run(run(args.image, (width, height), args.rounds, args.settle))


if __name__ == "__main__":
    main()
