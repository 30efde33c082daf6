"""Times ``divepy audit`` of a private registry: 2 worker processes against 1, and the shared cache warm
against cold.

It starts Debian's docker-registry and moto's S3 server on 127.0.0.1 (as the tests do), pushes
``--images`` images sharing a base layer of ``--base-files`` files (half of them also a runtime layer),
each with its own application layer of ``--app-files`` files, then times, each ``--runs`` times
(median printed), with an empty local cache each run:

- ``cold, 1 worker`` and ``cold, 2 workers``: ``--no-cache`` off, an empty bucket each run;
- ``warm shared cache, 2 workers``: the bucket a first audit filled (the second runner of a CI fleet).

Usage: python bench/audit.py [--images N] [--runs N] [--base-files N] [--app-files N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.engines.test_audit_registry import _push  # noqa: E402 - the checkout's test helpers
from tests.fixtures.images import file, layer_tar  # noqa: E402
from tests.s3_service import S3Server  # noqa: E402
from tests.services import Registry, free_port  # noqa: E402


def _layer(rng: random.Random, prefix: str, files: int) -> bytes:
    return layer_tar([file(f"{prefix}/d{i % 50}/f{i}", rng.randbytes(rng.randint(200, 6000))) for i in range(files)])


def _fleet(host: str, images: int, base_files: int, app_files: int) -> None:
    rng = random.Random(28)
    base, runtime = _layer(rng, "base", base_files), _layer(rng, "runtime", base_files // 4)
    for i in range(images):
        layers = [base, *([runtime] if i % 2 else []), _layer(rng, f"app{i}", app_files)]
        _push(host, f"bench/app{i:02d}", "1.0", layers)


def _audit(registry: str, env: dict, *args: str) -> float:
    with tempfile.TemporaryDirectory(prefix="divepy-audit-bench-") as cache:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dive_py", "audit", f"registry://{registry}", *args],
            env={**env, "DIVEPY_CACHE_DIR": cache}, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-files", type=int, default=6000)
    parser.add_argument("--app-files", type=int, default=1500)
    args = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    s3 = S3Server(f"http://127.0.0.1:{port}")
    registry = Registry()
    registry.start()
    env = {**os.environ, **s3.env(), "PYTHONPATH": str(REPO)}
    env.pop("DIVEPY_CACHE_URL", None)
    try:
        _fleet(registry.host, args.images, args.base_files, args.app_files)
        times: dict[str, list[float]] = {}
        warm = s3.new_bucket()
        _audit(registry.host, env, "--workers", "2", "--cache-url", f"s3://{warm}/b")  # fills the warm bucket
        for _run in range(args.runs):
            for label, workers in (("cold, 1 worker", "1"), ("cold, 2 workers", "2")):
                bucket = s3.new_bucket()
                times.setdefault(label, []).append(
                    _audit(registry.host, env, "--workers", workers, "--cache-url", f"s3://{bucket}/b")
                )
            times.setdefault("warm shared cache, 2 workers", []).append(
                _audit(registry.host, env, "--workers", "2", "--cache-url", f"s3://{warm}/b")
            )
        shape = f"base {args.base_files} files, app layers {args.app_files} files"
        print(f"{args.images} images, {shape}; median of {args.runs}")
        for label, runs in times.items():
            wall = statistics.median(runs)
            print(f"  {label:<30} {wall:6.2f} s   {1000 * wall / args.images:6.0f} ms an image")
    finally:
        registry.stop()
        moto.stop()


if __name__ == "__main__":
    main()
