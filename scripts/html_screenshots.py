"""Writes PNG screenshots of the HTML reports, as headless Chromium shows them, into ``screenshots/``: the seed's
``--ci --html`` page and ``divepy diff --html`` against the image it was committed from (the seed without its last
layer). The pages are made by the real command line.

Usage: python scripts/html_screenshots.py [IMAGE] [OUTDIR]    (defaults: dive_py/examples/tomcat02.tar, screenshots/)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.chromium import Chromium, find_chromium  # noqa: E402
from tests.fixtures.truncate import write_first_layers  # noqa: E402

WIDTH = 1280
REPORT_HEIGHT, DIFF_HEIGHT = 2300, 1400
"""The report down to the end of its treemap; the diff down to its first changes."""


def divepy(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cwd / "cache")}
    env.pop("CI", None)
    result = subprocess.run([sys.executable, "-m", "dive_py", *args], env=env, cwd=cwd, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"divepy {' '.join(args)}: {result.stderr.strip()}")


def main() -> int:
    image = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dive_py" / "examples" / "tomcat02.tar").resolve()
    out = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "screenshots")
    if find_chromium() is None:
        raise SystemExit("needs chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="divepy-html-shots-") as folder:
        work = Path(folder)
        layers = _layer_count(image)
        parent = write_first_layers(image, work / f"{image.stem}-parent.tar", layers - 1)
        (work / image.name).symlink_to(image)  # short names in the pages' titles
        divepy(image.name, "--ci", "--html", "report.html", cwd=work)
        divepy("diff", "--html", "diff.html", parent.name, image.name, cwd=work)
        with Chromium() as browser:
            for page, name, height in (("report.html", "html-report.png", REPORT_HEIGHT),
                                       ("diff.html", "html-diff.png", DIFF_HEIGHT)):  # fmt: skip
                run = browser.open(work / page, WIDTH, height)
                if run.errors:
                    raise SystemExit(f"{page}: {run.errors}")
                (out / name).write_bytes(run.png)
                print(f"wrote {out / name} ({len(run.png):,} bytes)")
    return 0


def _layer_count(image: Path) -> int:
    import json
    import tarfile

    with tarfile.open(image) as tar:
        (entry,) = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    return len(entry["Layers"])


if __name__ == "__main__":
    sys.exit(main())
