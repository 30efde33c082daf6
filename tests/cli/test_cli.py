"""The command line: exit codes, reports, JSON export, and the headless guarantee."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dive_py.cli.main import main
from tests.fixtures.paths import EXAMPLE, REPO, child_env
from tests.fixtures.stand_ins import built


@pytest.fixture
def dive_test_archive():
    """The path of dive's own test image (test-docker-image.tar, built in code)."""
    return str(built("test-docker-image.tar"))


def test_ci_fails_on_dives_test_image_with_default_rules(dive_test_archive, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["--ci", dive_test_archive]) == 1
    out = capsys.readouterr().out
    assert "efficiency:             98.4421 %" in out
    assert "FAIL: highestUserWastedPercent" in out
    assert "SKIP: highestWastedBytes" in out
    assert "PASS: lowestEfficiency" in out
    assert "Result: FAIL" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_ci_passes_with_relaxed_flags_in_both_spellings(dive_test_archive, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["--ci", "--highestUserWastedPercent", "0.5", dive_test_archive]) == 0
    assert main(["--ci", "--highest-user-wasted-percent=0.5", "--lowest-efficiency", "0.98", dive_test_archive]) == 0
    assert main(["--ci", "--highest-wasted-bytes", "32kB", "--highest-user-wasted-percent=0.5", dive_test_archive]) == 1


def test_ci_mode_from_the_environment_and_the_rules_file(dive_test_archive, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dive-ci").write_text("rules:\n  highestUserWastedPercent: 0.5\n")
    monkeypatch.setenv("CI", "true")
    assert main([dive_test_archive]) == 0
    assert "rules from .dive-ci" in capsys.readouterr().out


def test_tomcat02_passes_ci_as_with_dive(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["--ci", str(EXAMPLE)]) == 0
    assert "Result: PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--ci", "--lowestEfficiency", "7", "IMAGE"],
        ["--ci", "--ci-config", "missing.yaml", "IMAGE"],
        ["--no-such-flag", "IMAGE"],
        ["--ci", "does-not-exist.tar"],
        ["--source", "oci-dir", "IMAGE"],
    ],
)
def test_bad_usage_exits_2_with_one_line(argv, dive_test_archive, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    argv = [dive_test_archive if a == "IMAGE" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("divepy: error:")
    assert os.listdir(tmp_path) == []


def test_json_export_has_dives_schema_and_extras(dive_test_archive, tmp_path):
    out = tmp_path / "out.json"
    out.write_text("x" * 10_000_000)  # dive leaves stale bytes behind a shorter export
    assert main(["--json", str(out), dive_test_archive]) == 0
    data = json.loads(out.read_text())
    image = data["image"]
    assert image["sizeBytes"] == 1220598
    assert image["inefficientBytes"] == 32025
    assert image["efficiencyScore"] == 0.9844212134184309
    assert image["userSizeBytes"] == 66237
    assert image["userWastedPercent"] == 0.4834911001404049
    assert image["fileReference"][0] == {"count": 2, "sizeBytes": 12810, "file": "/root/saved.txt"}
    assert {"reclaimableBytes", "duplicateContentBytes"} <= set(image)
    layer = data["layer"][1]
    assert {"index", "id", "digestId", "sizeBytes", "command", "fileList"} <= set(layer)
    files = {f["path"]: f for layer in data["layer"] for f in layer["fileList"]}
    assert files["somefile.txt"]["diffType"] == "added" and len(files["somefile.txt"]["hash"]) == 16
    assert [p for p in os.listdir(tmp_path) if p != "out.json"] == []


def test_json_to_stdout(dive_test_archive, capsys):
    assert main(["--json", "-", dive_test_archive]) == 0
    assert json.loads(capsys.readouterr().out)["image"]["inefficientBytes"] == 32025


def test_ci_and_json_never_import_textual(dive_test_archive, tmp_path):
    code = (
        "import sys; from dive_py.cli.main import main; "
        f"rc = main(['--ci', '--json', {str(tmp_path / 'o.json')!r}, {dive_test_archive!r}]); "
        "print('TEXTUAL' if 'textual' in sys.modules else 'HEADLESS', rc)"
    )
    env = child_env()  # this checkout's dive_py, whatever the child's working directory
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "HEADLESS 1", done.stderr


def test_console_script_and_module_entry_point(dive_test_archive, tmp_path):
    env = child_env()  # this checkout's dive_py, whatever the child's working directory
    done = subprocess.run(
        [sys.executable, "-m", "dive_py", "--ci", dive_test_archive],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Result: FAIL" in done.stdout
    assert (REPO / "dive_py" / "__main__.py").exists()


@pytest.mark.parametrize("colour", ["", "1"], ids=["plain", "rich"])
@pytest.mark.parametrize(("flags", "code"), [([], 0), (["--ci"], 0), (["--ci", "--lowestEfficiency", "0.999"], 1)])
def test_a_reader_that_stops_early_does_not_change_the_exit_code(flags: list[str], code: int, colour: str) -> None:
    """``divepy --ci IMAGE | head -1``: the rest of the output is dropped; the exit code is the analysis's
    (written as plain text, or by Rich when FORCE_COLOR asks for styles)."""
    command = [sys.executable, "-m", "dive_py", *flags, str(EXAMPLE)]
    env = (
        {**os.environ, "FORCE_COLOR": colour} if colour else {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    )
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        proc.stdout.close()  # the reader goes away before the report is written: every write fails
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert proc.wait(timeout=60) == code, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
