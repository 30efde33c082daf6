"""A new user's first hour (issue 24): the README's commands, the bundled example, help and the first errors.

The CLI runs in-process (``main``) or, where a real terminal or another user matters, as a child ``python``
importing this checkout (``child_env``). Engines are a unix-socket HTTP server in the test.
"""

from __future__ import annotations

import datetime
import http.server
import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from dive_py import format as format_
from dive_py.cli import options
from dive_py.cli.commands import SUBCOMMANDS
from dive_py.cli.example import EXAMPLE_IMAGE
from dive_py.cli.main import main
from dive_py.sources.reference import route_reference
from tests.fixtures.paths import EXAMPLE, PYTHON, REPO, child_env
from tests.services import unix_server

README = (REPO / "README.md").read_text(encoding="utf-8")


def _divepy(*args: str, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "dive_py", *args], capture_output=True, text=True, env=child_env(), timeout=60, **kwargs
    )


# --- 1. the README's two commands, and CI runs the second one verbatim


def _first_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_commands_make_and_use_their_own_venv() -> None:
    install, test = _first_commands()
    for command in (install, test):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
        # nothing run by bare name: no venv needs activating, the system's pip is never asked
        assert all(re.match(r"(python3 |\.venv/bin/)", part.strip()) for part in command.split("&&")), command
    assert install.endswith(".venv/bin/divepy example")
    assert test.endswith(".venv/bin/python -m pytest -q")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test = _first_commands()[1]
    assert f'README_TEST="{test}"' in ci
    assert ci.count('bash -c "$README_TEST"') == 2  # here, and in the fresh clone
    assert "PIP_CONSTRAINT" in ci and ".ci-venv" not in ci


# --- 2. the example ships in the package


def test_example_is_package_data_and_the_tests_use_it() -> None:
    assert EXAMPLE_IMAGE == EXAMPLE and EXAMPLE.is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "examples/*.tar" in pyproject["tool"]["setuptools"]["package-data"]["dive_py"]
    manifest = (REPO / "MANIFEST.in").read_text(encoding="utf-8")
    assert "graft tests" in manifest  # the sdist runs the suite
    assert not (REPO / "examples" / "tomcat02.tar").exists()  # one copy in git


def test_divepy_example_path_and_flags() -> None:
    done = _divepy("example", "--path")
    assert done.returncode == 0 and Path(done.stdout.strip()) == EXAMPLE
    done = _divepy("example", "--ci", "--lowestEfficiency", "0.99")
    assert done.returncode == 0, done.stderr
    assert "Result: PASS" in done.stdout and re.search(r"efficiency: +99.3958 %", done.stdout)


# --- 3. packaging metadata


def test_license_metadata_and_compatible_textual() -> None:
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License") and "divepy developers" in license_text
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["authors"] and any(
        c.startswith("Programming Language :: Python :: 3.11") for c in project["classifiers"]
    )
    textual = next(d for d in project["dependencies"] if d.startswith("textual"))
    assert textual == "textual>=8.2,<9"
    assert "textual==8.2.8" in (REPO / ".ci" / "constraints.txt").read_text(encoding="utf-8").splitlines()


# --- 10. help


def test_help_lists_the_subcommands_first() -> None:
    done = _divepy("--help")
    assert done.returncode == 0
    head = done.stdout.split("positional arguments")[0]
    for command in ("example", "cat", "extract", "diff", "build"):
        assert re.search(rf"^  divepy {command} .+  \S", head, re.M), command
    assert {c.name for c in SUBCOMMANDS} >= {"example", "cat", "extract", "diff", "build"}
    assert len(head.splitlines()) < 20  # the commands are on the first screen, not after the flags


def test_build_help_is_divepys_own(tmp_path: Path) -> None:
    env = child_env(PATH=str(tmp_path))  # no docker on PATH: help must not need (or run) it
    done = subprocess.run([PYTHON, "-m", "dive_py", "build", "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: divepy build") and "--engine" in done.stdout and "--ci" in done.stdout
    assert done.stderr == ""


# --- 11. mistyped paths and flags, containers by bare name, `-` on a terminal


@pytest.fixture
def examples_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "tomcat02.tar").symlink_to(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # were it asked, it would show
    return tmp_path


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("examples/tomcat02.tr", "examples/tomcat02.tar"), ("tomcat02.tr", None), ("examples/missing", None)],
)
def test_mistyped_path_is_no_such_file(
    examples_here: Path, capsys: pytest.CaptureFixture, typed: str, meant: str | None
) -> None:
    if typed == "tomcat02.tr":
        os.chdir("examples")
        meant = "tomcat02.tar"
    assert main([typed]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file or folder" in err
    assert "docker" not in err and "podman" not in err and len(err) < 200
    if meant:
        assert f"did you mean {meant}?" in err


def test_names_with_a_slash_stay_image_names(examples_here: Path) -> None:
    route = route_reference("bitnami/nginx:1.27", None)
    assert route is not None and route.fallback  # no bitnami/ folder here: an image name, looked for in stores


def test_mistyped_flag_gets_a_suggestion(capsys: pytest.CaptureFixture) -> None:
    assert main(["--lowestefficiency", "0.9", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "did you mean --lowestEfficiency?" in err and err.count("\n") == 1
    assert main(["diff", "--jsno", "-", str(EXAMPLE), str(EXAMPLE)]) == 2
    assert "did you mean --json?" in capsys.readouterr().err


def test_mistyped_command_gets_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIVEPY_SOURCE", "docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert main(["dif", "a.tar", "b.tar"]) == 2
    assert "did you mean `divepy diff`?" in capsys.readouterr().err
    assert main(["exampel"]) == 2  # no such image either
    assert "did you mean `divepy example`?" in capsys.readouterr().err
    assert main(["tomcat"]) == 2  # far from every command: the stores' answers, no suggestion
    assert "did you mean" not in capsys.readouterr().err


@pytest.fixture
def engine_with_container(tmp_path: Path) -> Iterator[Path]:
    """A stand-in engine on a unix socket: no images, one container, ``tomcat01``."""

    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(request.path).path)
        if path == "/containers/tomcat01/json":
            status, value = 200, {"Id": "c" * 64, "Image": "sha256:" + "0" * 64, "Name": "/tomcat01"}
        else:
            status, value = 404, {"message": f"No such object: {path}"}
        body = json.dumps(value).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    sock = tmp_path / "engine.sock"
    server = unix_server(sock, handle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sock
    server.shutdown()
    server.server_close()


def test_bare_container_name_gets_the_container_hint(
    engine_with_container: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine_with_container}")
    monkeypatch.setenv("DIVEPY_SOURCE", "docker")  # the one store to ask
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(engine_with_container.parent))  # no podman socket there
    monkeypatch.chdir(engine_with_container.parent)
    assert main(["--ci", "tomcat01"]) == 2
    err = capsys.readouterr().err
    assert "container://tomcat01" in err and "docker has a container" in err and err.count("\n") == 1
    assert main(["--ci", "tomcat99"]) == 2
    assert "container://" not in capsys.readouterr().err


def test_stdin_on_a_terminal_is_refused_at_once() -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [PYTHON, "-m", "dive_py", "--ci", "-"], stdin=follower, capture_output=True, text=True,
            env=child_env(), timeout=30,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert "stdin is a terminal" in done.stderr and "| divepy -" in done.stderr


# --- 12. permission denied on the engine's socket


_AS_NOBODY = """
import os, sys
from dive_py.errors import SourceError
from dive_py.sources.docker_config import EngineHost
from dive_py.sources.engine import EngineClient
if os.geteuid() == 0:
    os.setgid(65534); os.setuid(65534)  # modules imported: now a user without access to the socket
try:
    EngineClient(EngineHost("unix://" + sys.argv[1], None, "DOCKER_HOST"), "docker").get("/_ping")
except SourceError as exc:
    print(exc)
"""


def test_socket_permission_denied_says_who_lacks_access(engine_with_container: Path) -> None:
    engine_with_container.chmod(0)
    engine_with_container.parent.chmod(0o700)  # root's test folder: another user cannot even reach it
    done = subprocess.run(
        [PYTHON, "-c", _AS_NOBODY, str(engine_with_container)], capture_output=True, text=True, env=child_env(),
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "permission denied" in out and "the engine is there, but this user may not use its socket" in out
    assert "docker group" in out and "sudo" in out and "$XDG_RUNTIME_DIR/podman/podman.sock" in out
    assert "is dockerd running" not in out


# --- 13. the README's walkthrough needs nothing but the bundled example; no machine's folders


def test_readme_walkthrough_starts_from_the_bundled_example() -> None:
    walkthrough = README.split("#### Containers:")[1].split("`container://NAME_OR_ID` opens")[0]
    assert walkthrough.index('docker load -i "$(divepy example --path)"') < walkthrough.index("docker run")
    assert "1.0-parent" not in README
    images = set(re.findall(r"docker run .*?--name \S+ (\S+)", walkthrough)) | set(
        re.findall(r"divepy diff (\S+) ", walkthrough)
    )
    assert images == {"tomcat02:1.0"}  # what `docker load` of the example makes (its RepoTags)
    for text in (README, (REPO / "bench" / "README.md").read_text(encoding="utf-8")):
        assert f"{REPO.parent}/" not in text  # no folder of the machine the figures were measured on
    assert "../shared/tools/build-corpus.sh" in README


# --- 4. humanize: ages, durations and counts in words, from format.py


def test_age_duration_and_count_in_words() -> None:
    now = datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC)
    assert format_.age("2026-11-28T01:19:49.191619931Z", now) == "9 days ago"  # an engine's nanoseconds
    assert format_.age("2026-12-06T00:00:00+00:00", now) == "2 days ago"
    assert format_.age("not a time", now) == "" and format_.age("", now) == ""
    assert format_.duration(0.0534) == "53 milliseconds"
    assert format_.duration(1.234) == "1.2 seconds"
    assert format_.duration(75.5) == "1 minute and 15.5 seconds"
    assert format_.counted(101229, "file") == "101,229 files" and format_.counted(1, "layer") == "1 layer"


def test_debug_reports_the_load_time_in_words() -> None:
    done = _divepy("example", "--ci", "--debug")
    assert done.returncode == 0
    assert re.search(r"^divepy: debug: 5 layers, [\d,]+ tar members read and analysed in [\d.]+ (milli)?seconds?$",
                     done.stderr, re.M), done.stderr  # fmt: skip


def test_error_lines_show_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a\x1b[31mred.tar").write_bytes(b"")  # the near name the suggestion would print
    assert main(["a\x1b[31mred.ta"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("a\\x1b[31mred.ta") == 2 and err.count("\n") == 1


def test_progress_line_says_how_long_after_two_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter([100.0, 100.5, 103.2, 103.3])
    monkeypatch.setattr(options.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(sys, "stderr", Terminal())
    progress = options.stderr_progress()  # started at 100.0
    assert progress is not None
    progress("layer 1", 1, 4)  # 0.5 s in: no time shown
    assert sys.stderr.getvalue().endswith("reading layer 1  25.0 %")
    progress("layer 2", 2, 4)  # 3.2 s in
    assert sys.stderr.getvalue().endswith("reading layer 2  50.0 % (3 seconds)")
