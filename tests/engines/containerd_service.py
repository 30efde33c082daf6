"""Provides a private containerd for the containerd tests: its own root, state and unix socket in a temp folder.

The config turns off what needs the network, cgroups or kernel features the test machine may lack (the CRI
plugin, btrfs/zfs/devmapper/aufs snapshotters, tracing); images are imported with ``--no-unpack``, so no
snapshotter is used at all. The process is stopped by the pid it was started with.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 30.0
"""Seconds containerd gets to open its socket."""

_CONFIG = """version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{root}/containerd.sock"
[ttrpc]
  address = "{root}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
"""


class Containerd:
    """A containerd daemon on a private socket, used through ``ctr``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="divepy-containerd-"))
        self.socket = str(self.root / "containerd.sock")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        config = self.root / "config.toml"
        config.write_text(_CONFIG.format(root=self.root))
        log = open(self.root / "containerd.log", "wb")  # noqa: SIM115 - kept open while it runs
        self.proc = subprocess.Popen(["containerd", "--config", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.root / "containerd.log").read_text(errors="replace")[-400:]
                self.stop()
                pytest.skip(f"containerd did not start: {tail}")
            time.sleep(0.05)

    def ctr(self, namespace: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ctr", "--address", self.socket, "--namespace", namespace, *args], capture_output=True, check=True
        )

    def import_archive(self, namespace: str, archive: Path, *extra: str) -> None:
        self.ctr(namespace, "images", "import", "--no-unpack", *extra, str(archive))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def containerd_daemon() -> Iterator[Containerd]:
    """A started private containerd (skips when containerd or ctr is not installed, or when not root)."""
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("containerd and ctr are not installed (Debian: containerd)")
    if os.geteuid() != 0:
        pytest.skip("containerd needs root")
    daemon = Containerd()
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
