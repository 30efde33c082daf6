"""The README's container walkthrough, run line by line as written, against a private dockerd.

Only ``divepy`` and ``docker`` are shims (this checkout's ``python -m dive_py``, the private daemon's CLI);
every line is the README's own text, starting from the bundled example (``docker load -i``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.paths import PYTHON, REPO, child_env
from tests.services import DockerDaemon, dockerd  # noqa: F401 - fixture

pytestmark = pytest.mark.engine


def walkthrough() -> list[str]:
    """The commands of the README's container walkthrough, comments cut."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Containers:")[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines() if line.strip()]


def _shims(folder: Path, docker_cli: str) -> Path:
    folder.mkdir()
    for name, target in (("divepy", f'"{PYTHON}" -m dive_py'), ("docker", f'"{docker_cli}"')):
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nexec {target} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    return folder


def test_readme_walkthrough_runs_as_written(dockerd: DockerDaemon, tmp_path: Path) -> None:  # noqa: F811
    bin_dir = _shims(tmp_path / "bin", dockerd.cli)
    env = child_env(DOCKER_HOST=dockerd.host, PATH=f"{bin_dir}:/usr/bin:/bin", XDG_CACHE_HOME=str(tmp_path / "cache"))
    dockerd.run("rm", "-f", "tomcat01", check=False)  # a leftover of an earlier failed run

    def sh(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    commands = walkthrough()
    assert commands[0].startswith("docker load -i") and commands[-1] == "docker rm -f tomcat01"
    try:
        for command in commands:
            done = sh(command)
            if command == "divepy tomcat01":  # a container's bare name: refused, pointing at container://
                assert done.returncode == 2 and "container://tomcat01" in done.stderr, done.stderr
            elif command.startswith("divepy --ci"):
                assert done.returncode in (0, 1) and "Result:" in done.stdout, done.stderr
            else:
                assert done.returncode == 0, f"{command}: {done.stderr}"
            if command.startswith("divepy cat"):
                assert done.stdout == "hello\n"
            if command.startswith("divepy diff"):
                # hello.txt added; webapps.dist/docs and its 147 files removed
                assert re.search(r"added +1 +6 B", done.stdout) and re.search(r"removed +148 +2.1 MB", done.stdout)
                assert "/usr/local/tomcat/webapps.dist/docs/" in done.stdout
    finally:
        dockerd.run("rm", "-f", "tomcat01", check=False)
