"""Provides ``podman://``: Podman's Docker-compatible API when ``CONTAINER_HOST`` names its socket, else
``podman image save`` streamed from the podman CLI into a one-pass reader."""

from __future__ import annotations

import os
import shutil
import subprocess

from dive_py.errors import DivepyError, SourceError
from dive_py.model import ProgressCallback
from dive_py.sources.base import LayerSink
from dive_py.sources.docker_config import EngineHost
from dive_py.sources.engine import EngineClient, open_engine_image
from dive_py.sources.stream import StreamImage, open_stream

PODMAN_ERROR_LINES = 3
"""How many lines of podman's stderr to quote in an error."""


def podman_command() -> list[str]:
    """The podman CLI and its global flags: ``DIVEPY_PODMAN`` (split on spaces) or ``podman``."""
    configured = os.environ.get("DIVEPY_PODMAN", "").split()
    return configured or ["podman"]


def open_podman_image(
    name: str,
    *,
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    sink: LayerSink,
) -> StreamImage:
    """Reads ``podman://NAME``: through Podman's API socket when CONTAINER_HOST is set, else its CLI.

    Raises:
        SourceError: podman is missing or unreachable, or the image is not in its store.
    """
    host = os.environ.get("CONTAINER_HOST", "").strip()
    if host:
        if host.startswith("ssh://"):
            raise SourceError(f"podman: CONTAINER_HOST={host} is ssh://, which divepy cannot reach; use unix://")
        client = EngineClient(EngineHost(host, None, "CONTAINER_HOST"), "podman")
        return open_engine_image(client, name, platform=platform, progress=progress, sink=sink)
    command = podman_command()
    if shutil.which(command[0]) is None:
        raise SourceError(
            f"podman: the podman command ({command[0]}) is not installed",
            hint="install podman, or set CONTAINER_HOST to a podman API socket",
        )
    _podman_check_exists(command, name)
    return _podman_save(command, name, progress, sink)


def _podman_check_exists(command: list[str], name: str) -> None:
    result = subprocess.run(
        [*command, "image", "exists", name], capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode == 1:
        raise SourceError(
            f"podman: image {name!r} not found in the local store (divepy does not pull)",
            hint=f"`podman pull {name}` first",
        )
    if result.returncode != 0:
        raise SourceError(f"podman: `podman image exists` failed: {_last_lines(result.stderr)}")


def _podman_save(command: list[str], name: str, progress: ProgressCallback | None, sink: LayerSink) -> StreamImage:
    """Streams ``podman image save --format docker-archive NAME`` from the CLI's stdout."""
    args = [*command, "image", "save", "--format", "docker-archive", name]
    what = f"podman://{name}"
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        error: DivepyError | None = None
        files = None
        try:
            files = open_stream(proc.stdout.read, what, progress=progress, sink=sink)
        except DivepyError as exc:
            error = exc
        finally:
            proc.stdout.close()
            stderr = proc.stderr.read()
            returncode = proc.wait()
        broken_pipe = b"broken pipe" in stderr.lower()
        if returncode != 0 and (error is None or not broken_pipe):
            # podman's own message explains a cut-off stream better than the archive reader can.
            raise SourceError(f"podman: `podman image save {name}` failed: {_last_lines(stderr)}") from None
        if error is not None:
            raise error
    assert files is not None
    files.origin = "podman"
    return files


def _last_lines(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return " / ".join(lines[-PODMAN_ERROR_LINES:]) or "no message"
