"""Reports written into what is not a regular file: written into, never replaced (issue 29).

Every node here is the test's own, in a temporary folder: a device made with ``mknod`` (never the machine's
``/dev/null``), a FIFO, links, a socket. Each run's report still holds the seed's figures.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dive_py.errors import DivepyError
from dive_py.files import is_stdout, output_for, write_text_atomic
from tests.fixtures.paths import EXAMPLE, PYTHON, child_env

SEED = {"sizeBytes": 9673897, "inefficientBytes": 116819, "efficiencyScore": 0.9939581742497362}
"""The seed's figures (as dive gives them): every report below must still say so."""

REPORTS = {
    "--json": ["--json"],
    "--junit": ["--ci", "--junit"],
    "--markdown": ["--ci", "--markdown"],
}

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (as CI containers run): mknod, setuid")


def _divepy(*args: str, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    kwargs.setdefault("env", child_env())
    return subprocess.run([PYTHON, "-m", "dive_py", *args], capture_output=True, timeout=60, check=False, **kwargs)


def _check_report(flag: str, data: bytes) -> None:
    """The report is whole and carries the seed's figures."""
    if flag == "--json":
        image = json.loads(data)["image"]
        assert {key: image[key] for key in SEED} == SEED
    elif flag == "--junit":
        suite = ET.fromstring(data)
        assert suite.find(".//testcase[@name='lowestEfficiency']") is not None
        assert suite.get("failures", suite.find("testsuite").get("failures")) == "0"
    else:
        text = data.decode()
        assert "99.40 %" in text or "99.4" in text, text
        assert text.endswith("\n") and "Top inefficient files" in text


def _untouched(folder: Path, *names: str) -> None:
    assert sorted(os.listdir(folder)) == sorted(names)  # no temporary file left, nothing renamed in


@as_root
@pytest.mark.parametrize("flag", REPORTS)
def test_a_character_device_stays_a_device(tmp_path: Path, flag: str) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own
    except PermissionError:
        pytest.skip("this root may not make device nodes (no CAP_MKNOD)")
    done = _divepy("--ci", REPORTS[flag][-1], str(device), str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    st = os.lstat(device)
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert b"efficiency:             99.3958 %" in done.stdout and b"sizeBytes:              9673897" in done.stdout
    _untouched(tmp_path, "null")


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as f:  # blocks until divepy opens it to write
            into.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@pytest.mark.parametrize("flag", REPORTS)
def test_a_fifos_reader_gets_the_whole_report(tmp_path: Path, flag: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    done = _divepy(*REPORTS[flag], str(fifo), str(EXAMPLE))
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    _check_report(flag, got[0])
    _untouched(tmp_path, "pipe")


def test_the_job_summary_as_a_fifo_is_written_into_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    done = _divepy("--ci", "--markdown", str(EXAMPLE), env=child_env(GITHUB_STEP_SUMMARY=str(fifo)))
    reader.join(10)
    assert done.returncode == 0, done.stderr
    _check_report("--markdown", got[0])


def test_diff_json_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    done = _divepy("diff", "--json", str(fifo), str(EXAMPLE), str(EXAMPLE))
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(got[0]), dict)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("flag", REPORTS)
def test_a_link_stays_a_link_and_its_target_holds_the_report(tmp_path: Path, flag: str) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "reports" / "report"
    target.write_bytes(b"x" * 100_000)  # an old, longer report: no byte of it may stay
    os.chmod(target, 0o640)
    link = tmp_path / "links" / "report"
    os.symlink("../reports/report", link)
    done = _divepy(*REPORTS[flag], str(link), str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert os.readlink(link) == "../reports/report"
    _check_report(flag, target.read_bytes())
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    _untouched(tmp_path / "reports", "report")
    _untouched(tmp_path / "links", "report")


def test_a_dangling_link_gets_its_target_made(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    os.symlink("made.json", link)
    done = _divepy("--json", str(link), str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert os.path.islink(link)
    _check_report("--json", (tmp_path / "made.json").read_bytes())


def test_a_link_to_our_stdout_writes_into_the_pipe(tmp_path: Path) -> None:
    link = tmp_path / "out"
    os.symlink("/proc/self/fd/1", link)  # what /dev/stdout is, without touching the machine's /dev
    done = _divepy("--ci", "--json", str(link), str(EXAMPLE))  # stdout is a pipe
    assert done.returncode == 0, done.stderr
    _check_report("--json", done.stdout)  # the CI text went to stderr: stdout is the JSON alone
    assert b"Result: PASS" in done.stderr
    assert os.readlink(link) == "/proc/self/fd/1"


def test_bash_process_substitution(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    script = '"$0" -m dive_py --ci --junit >(cat > "$1") "$2"; status=$?; wait $!; exit $status'
    done = subprocess.run(
        ["bash", "-c", script, PYTHON, str(out), str(EXAMPLE)],
        capture_output=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    _check_report("--junit", out.read_bytes())
    _untouched(tmp_path, "junit.xml")


def test_a_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "inside").write_text("kept")
    done = _divepy("--json", str(tmp_path), str(EXAMPLE))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [f"divepy: error: {tmp_path}: cannot write (a folder: name a file)"]
    _untouched(tmp_path, "inside")


def test_a_socket_is_connected_to_and_written(tmp_path: Path) -> None:
    path = str(tmp_path / "sock")
    got: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)

        def accept() -> None:
            peer, _ = server.accept()
            with peer:
                got.append(b"".join(iter(lambda: peer.recv(65536), b"")))

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        write_text_atomic(path, "report é\n")
        thread.join(10)
    assert got == ["report é\n".encode()]
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_how_each_path_is_written(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("")
    os.symlink("file", tmp_path / "to-file")
    os.symlink("/proc/self/fd/2", tmp_path / "to-stderr")
    os.symlink("loop", tmp_path / "loop")
    assert output_for("-").how == "stdout"
    assert output_for(str(tmp_path / "fifo")).how == "in place"
    assert output_for(str(tmp_path / "to-file")) == output_for(str(tmp_path / "file"))
    assert output_for(str(tmp_path / "file")).how == "replace"
    assert output_for(str(tmp_path / "new")).how == "replace"
    assert (output_for(str(tmp_path / "to-stderr")).how, output_for(str(tmp_path / "to-stderr")).fd) == ("fd", 2)
    assert not is_stdout(str(tmp_path / "to-stderr")) and is_stdout("-")
    with pytest.raises(DivepyError, match="too many levels of symbolic links"):
        output_for(str(tmp_path / "loop"))


@as_root
def test_a_writable_file_in_a_folder_we_cannot_write_is_written_in_place() -> None:
    """The README's choice: the file is the user's to write, so it is, in place (not atomically)."""
    top = tempfile.mkdtemp(prefix="divepy-test-")  # not under pytest's 0700 folders: the child drops root
    try:
        os.chmod(top, 0o755)  # root's: nobody may create files in it
        report = os.path.join(top, "report.json")
        with open(report, "w") as f:
            f.write("x" * 1000)
        os.chown(report, 65534, 65534)
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports by its exit status
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                write_text_atomic(report, '{"new": true}\n')
                code = 0
            finally:
                os._exit(code)
        _pid, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with open(report) as f:
            assert f.read() == '{"new": true}\n'
        assert os.listdir(top) == ["report.json"] and os.stat(report).st_uid == 65534
    finally:
        for name in os.listdir(top):
            os.unlink(os.path.join(top, name))
        os.rmdir(top)
