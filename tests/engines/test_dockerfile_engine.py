"""Dockerfile lines on real builds: one Dockerfile with each pattern (ARG/ENV substitution, WORKDIR, COPY,
chmod -R over mixed modes, a build then its rm, multi-stage COPY --from --chown, exec-form RUN, config-only
instructions) built FROM the seed on the private dockerd with the legacy builder and with BuildKit (Docker
20.10's own client under DOCKER_BUILDKIT=1); every layer and every hint must carry its line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from dive_py.cli.main import main
from tests.fixtures.dockerfiles import PATTERNS
from tests.services import DockerDaemon, dockerd  # noqa: F401

pytestmark = [pytest.mark.engine, pytest.mark.slow]

DOCKERFILE = PATTERNS
LAYER_LINES = [None] * 5 + [5, 6, 7, 8, 9, 13, 14]
"""The seed's five layers have no line; then WORKDIR (a layer for both builders here), COPY, the RUNs, the
second stage's COPY --from and its exec-form RUN."""
HINT_LINES = {"metadata-only": 7, "deleted-later": 8, "duplicate-content": 13}
COMMIT = "made by docker commit (comment: 'edit webapps dir', author: xiao)"


@pytest.fixture(scope="module", params=["legacy", "buildkit"])
def built(request, dockerd: DockerDaemon, tmp_path_factory):  # noqa: F811, ANN001, ANN201
    """The saved image of one build, and the folder with its Dockerfile."""
    folder = tmp_path_factory.mktemp(f"dockerfile-{request.param}")
    context = folder / "ctx"
    (context / "tools" / "sub").mkdir(parents=True)
    (context / "Dockerfile").write_text(DOCKERFILE)
    for index, mode in enumerate((0o644, 0o755, 0o600, 0o755)):  # mixed modes: the chmod stores some again
        path = context / "tools" / ("sub" if index % 2 else "") / f"t{index}"
        path.write_bytes(os.urandom(100_000))
        path.chmod(mode)
    env = {**dockerd.env, "DOCKER_BUILDKIT": "1" if request.param == "buildkit" else "0"}
    tag = f"divepy-lines-{request.param}:1"
    result = subprocess.run(
        [dockerd.cli, "build", "--network", "none", "-t", tag, str(context)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0 and request.param == "buildkit" and "buildkit" in result.stderr.lower():
        pytest.skip(f"this dockerd cannot build with BuildKit: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    archive = folder / "image.tar"
    dockerd.run("save", "-o", str(archive), tag)
    return archive, context


def test_every_layer_and_hint_carries_its_line(built, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    archive, context = built
    monkeypatch.chdir(context)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    args = [str(archive), "--no-cache", "--dockerfile", "Dockerfile", "--ci", "--lowestEfficiency", "0"]
    code = main([*args, "-j", str(tmp_path / "o.json"), "--sarif", str(tmp_path / "o.sarif")])
    captured = capsys.readouterr()
    assert code in (0, 1) and "not in the" not in captured.err and "does not match" not in captured.err
    report = json.loads((tmp_path / "o.json").read_text())
    lines = [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in report["layer"]]
    assert lines == LAYER_LINES
    assert report["layer"][4]["origin"] == COMMIT
    stages = {layer["dockerfile"]["stage"] for layer in report["layer"] if layer["dockerfile"]}
    assert stages == {"build", "1"}
    by_kind = {hint["kind"]: hint for hint in report["hints"] if hint["layer"] >= 5}
    assert {kind: hint["dockerfile"]["line"] for kind, hint in by_kind.items()} == HINT_LINES
    chmod = by_kind["metadata-only"]
    assert chmod["dockerfile"]["instruction"] == "RUN chmod -R 755 $TOOLS" and chmod["bytes"] >= 200_000
    assert len([h for h in report["hints"] if h["kind"] == "metadata-only"]) == 1  # one hint, not one per folder
    seed_hint = next(hint for hint in report["hints"] if hint["layer"] == 4)
    assert seed_hint["dockerfile"] is None
    sarif = json.loads((tmp_path / "o.sarif").read_text())
    regions = {
        r["ruleId"]: r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")
        for r in sarif["runs"][0]["results"]
        if r["properties"]["layer"] >= 5
    }
    assert regions == HINT_LINES
    annotations = [line for line in captured.out.splitlines() if line.startswith("::warning file=Dockerfile")]
    assert sorted(int(a.split("line=")[1].split(",")[0]) for a in annotations) == sorted(HINT_LINES.values())
    assert f"at:  {COMMIT}" in captured.out


def test_another_dockerfile_is_said(built, tmp_path, capsys) -> None:  # noqa: ANN001
    archive, _context = built
    other = tmp_path / "Dockerfile"
    other.write_text("FROM tomcat02:1.0\nRUN apt-get update\n")
    assert main([str(archive), "--no-cache", "--dockerfile", str(other), "-j", str(tmp_path / "o.json")]) == 0
    err = capsys.readouterr().err
    assert err.count("does not match the image's history") == 1
    report = json.loads((tmp_path / "o.json").read_text())
    assert all(layer["dockerfile"] is None for layer in report["layer"])


def test_divepy_build_knows_its_dockerfile(dockerd: DockerDaemon, tmp_path, monkeypatch, capsys) -> None:  # noqa: F811, ANN001
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI for `divepy build`")
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")  # any docker CLI builds with the legacy builder
    (tmp_path / "build.Dockerfile").write_text(
        "FROM tomcat02:1.0 AS one\nRUN touch /one\nFROM one AS two\n"
        "RUN head -c 200000 /dev/urandom > /tmp/x.bin\nFROM two AS three\nRUN touch /three\n"
    )
    out = tmp_path / "o.json"
    argv = ["build", "--json", str(out), "-f", str(tmp_path / "build.Dockerfile"), "--target", "two"]
    assert main([*argv, "--network", "none", "-t", "divepy-lines-build:1", str(tmp_path)]) == 0
    report = json.loads(out.read_text())
    assert [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in report["layer"]][5:] == [2, 4]
    (temp,) = [hint for hint in report["hints"] if hint["kind"] == "temp-files"]
    assert temp["dockerfile"]["line"] == 4 and temp["dockerfile"]["stage"] == "two"
