"""Writes SVG screenshots of the real app on the bundled example into ``screenshots/``.

Usage: python scripts/screenshots.py [IMAGE] [OUTDIR]    (defaults: dive_py/examples/tomcat02.tar, screenshots/)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dive_py.analysis.compare import compare  # noqa: E402
from dive_py.analysis.from_reference import load_analysis  # noqa: E402
from dive_py.load.image import LoadOptions  # noqa: E402
from dive_py.ui.app import DivepyApp  # noqa: E402
from dive_py.ui.diff_view import DivepyDiffApp  # noqa: E402
from tests.fixtures.truncate import write_first_layers  # noqa: E402

SIZE = (120, 40)
"""Terminal size of every screenshot (the snapshot tests use the same)."""
NO_CACHE = LoadOptions(use_cache=False)
"""The script reads the bundled example only; it leaves the user's layer cache alone."""


async def settle(pilot) -> None:  # noqa: ANN001
    """Waits for the hints and packages, which reach the layer details from a worker thread."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def overview(pilot) -> None:  # noqa: ANN001
    await settle(pilot)


async def commit_layer(pilot) -> None:  # noqa: ANN001
    await pilot.press("end")  # layer 5: the `docker commit` of the copied webapps
    pilot.app.explorer.go_to_path("/usr/local/tomcat/webapps")
    await settle(pilot)


async def aggregated(pilot) -> None:  # noqa: ANN001
    await pilot.press("end", "ctrl+a")
    pilot.app.explorer.tree_view.focus()
    await pilot.press("ctrl+u")  # hide unmodified: what changed since the first layer
    await settle(pilot)


async def filtered(pilot) -> None:  # noqa: ANN001
    await pilot.press("end")
    pilot.app.explorer.tree_view.focus()
    await pilot.press("slash")
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False
    await pilot.press(*r"webapps/.*\.jsp$")
    await settle(pilot)


async def file_view(pilot) -> None:  # noqa: ANN001
    await pilot.press("end")
    pilot.app.explorer.go_to_path("/usr/local/tomcat/webapps/ROOT/index.html")
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def hints(pilot) -> None:  # noqa: ANN001
    await settle(pilot)  # the hints first: the screen would say "computing..."
    await pilot.press("w")  # the seed's copy of webapps.dist, as duplicate-content
    await pilot.pause()


SHOTS: list[tuple[str, Callable[..., Awaitable[None]]]] = [
    ("overview", overview),
    ("commit-layer", commit_layer),
    ("aggregated", aggregated),
    ("filter", filtered),
    ("file-view", file_view),
    ("hints", hints),
]
"""(file name, script) per screenshot."""


async def diff_view(pilot) -> None:  # noqa: ANN001
    pilot.app.explorer.tree_view.focus()
    await pilot.press("ctrl+u", "ctrl+b")  # hide unmodified (what the commit changed) and the attributes
    pilot.app.explorer.go_to_path("/usr/local/tomcat/webapps/ROOT/index.html")
    await pilot.pause()


async def shoot(image: str, outdir: Path) -> None:
    analysis = load_analysis(image, NO_CACHE)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, script in SHOTS:
        app = DivepyApp(analysis)
        async with app.run_test(size=SIZE) as pilot:
            await script(pilot)
            path = app.save_screenshot(filename=f"{name}.svg", path=str(outdir))
            print(path)
    # `divepy diff`: the image against its own first layers (the parent it was committed from),
    # both loaded by short relative names from a scratch folder so the screen does not show it.
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(image).resolve()
        stem = source.name.removesuffix(".tar")
        write_first_layers(source, Path(scratch) / f"{stem}-parent.tar", len(analysis.layers) - 1)
        (Path(scratch) / source.name).symlink_to(source)
        os.chdir(scratch)
        try:
            base = load_analysis(f"{stem}-parent.tar", NO_CACHE)
            comparison = compare(base, load_analysis(source.name, NO_CACHE))
            app = DivepyDiffApp(comparison)
            async with app.run_test(size=SIZE) as pilot:
                await diff_view(pilot)
                print(app.save_screenshot(filename="diff.svg", path=str(outdir.resolve())))
        finally:
            os.chdir(cwd)


def main() -> None:
    os.chdir(ROOT)  # a relative image name on screen, whatever the caller's folder
    os.environ["COLORTERM"] = "truecolor"  # the default theme, not the ANSI one a 16-colour TERM gets
    image = sys.argv[1] if len(sys.argv) > 1 else "dive_py/examples/tomcat02.tar"
    outdir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "screenshots"
    asyncio.run(shoot(image, outdir))


if __name__ == "__main__":
    main()
