"""``divepy audit`` on archives built in code: ranked by waste, the shared base named, every report format,
hostile names kept as text, ``--ci`` naming the failures, unreadable images reported while the audit goes
on, and worker processes giving the in-process result."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from dive_py.cli.main import main
from tests.fixtures.images import file, layer_tar, write_docker_archive
from tests.fixtures.paths import EXAMPLE

BASE = layer_tar([file("base/data.bin", os.urandom(64_000)), file("base/conf", b"x" * 5000)])


def _archive(path: Path, wasted: int) -> str:
    top = [file("app/main", b"m" * 3000)]
    if wasted:
        top.append(file("base/data.bin", os.urandom(wasted)))  # overwrites the base's file: its bytes are wasted
    write_docker_archive(path, [BASE, layer_tar(top)])
    return str(path)


@pytest.fixture
def archives(tmp_path: Path) -> list[str]:
    return [_archive(tmp_path / "lean.tar", 0), _archive(tmp_path / "fat.tar", 20_000), str(EXAMPLE)]


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_is_ranked_by_waste_and_names_the_shared_base(archives, capsys) -> None:
    code, out, err = _run(capsys, *archives, "--workers", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["image", "size", "efficiency", "wasted", "fixable", "top", "hint"]
    order = [line.split()[0] for line in lines[1:4]]
    assert order == [str(EXAMPLE), archives[1], archives[0]]  # 117 kB, 84 kB, nothing wasted
    assert "Layers shared by most images:" in out
    shared = lines[lines.index("Layers shared by most images:") + 1]
    assert shared.split()[:2] == ["2", "images"]
    assert err.count("divepy: audit: [") == 3  # the progress, one line an image (stderr is no terminal)


def test_reports_json_csv_markdown_agree(archives, tmp_path, capsys) -> None:
    paths = {kind: tmp_path / f"audit.{kind}" for kind in ("json", "csv", "md")}
    code, out, err = _run(capsys, *archives, "--workers", "1", "--json", str(paths["json"]), "--csv",
                          str(paths["csv"]), "--markdown", str(paths["md"]))  # fmt: skip
    assert code == 0, err
    document = json.loads(paths["json"].read_text())
    refs = [row["ref"] for row in document["images"]]
    assert refs == [str(EXAMPLE), archives[1], archives[0]]
    assert document["images"][1]["wasted_bytes"] == 64_000 + 20_000  # dive counts every copy of a path changed twice
    assert document["sharedLayers"][0]["images"] == 2
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert [row["image"] for row in rows] == refs and rows[1]["wasted_bytes"] == "84000"
    markdown = paths["md"].read_text()
    assert markdown.count(f"| {archives[0]} |") == 1 and "### Layers shared by most images" in markdown
    assert out.startswith("image")  # no report on stdout: the table is


def test_html_goes_to_a_file_or_to_stdout_instead_of_the_table(archives, tmp_path, capsys) -> None:
    page = tmp_path / "audit.html"
    missing = str(tmp_path / "<b>gone</b>.tar")
    code, out, err = _run(capsys, *archives, missing, "--workers", "1", "--ci", "--html", str(page))
    assert code == 1 and out.startswith("image")  # the unreadable image fails --ci; the table still on stdout
    text = page.read_text(encoding="utf-8")
    ranked = text[text.index('id="ranked"') : text.index('id="sizes"')]
    assert text.startswith("<!DOCTYPE html>") and ranked.count("<tr><td") == 4  # three images and the missing one
    assert "&lt;b&gt;gone&lt;/b&gt;.tar" in text and "<b>gone" not in text
    assert 'id="unreadable"' in text and 'class="pass">PASS' in text
    code, out, err = _run(capsys, *archives, "--workers", "1", "--html", "-")
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")  # the page alone: no table
    assert "CI rules" not in out


def test_worker_processes_give_the_in_process_result(archives, tmp_path, capsys) -> None:
    _run(capsys, *archives, "--workers", "1", "--json", str(tmp_path / "one.json"))
    _run(capsys, *archives, "--workers", "2", "--json", str(tmp_path / "two.json"))
    assert json.loads((tmp_path / "one.json").read_text()) == json.loads((tmp_path / "two.json").read_text())


def test_ci_names_failing_images_and_an_unreadable_one_does_not_stop_the_audit(archives, tmp_path, capsys) -> None:
    rules = tmp_path / "rules.yaml"
    only = "rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: disabled\n  highestWastedBytes: {}\n"
    rules.write_text(only.format("50kB"))
    listing = tmp_path / "refs.txt"
    listing.write_text("\n".join(["# the fleet", *archives, str(tmp_path / "gone.tar"), ""]))
    code, out, err = _run(capsys, "--from", str(listing), "--ci", "--ci-config", str(rules), "--workers", "1")
    assert code == 1
    failed = sorted(line for line in err.splitlines() if " FAIL " in line)
    assert failed == sorted([f"divepy: audit: FAIL {archives[1]} (highestWastedBytes)",
                             f"divepy: audit: FAIL {EXAMPLE} (highestWastedBytes)"])  # fmt: skip
    assert f"{tmp_path / 'gone.tar'}: cannot be read: " in err
    assert (
        len([line for line in out.splitlines() if line.startswith(str(tmp_path))]) == 3
    )  # lean, fat and the unreadable one (the example lies elsewhere)
    code, _out, _err = _run(capsys, *archives[:2], "--ci", "--ci-config", str(rules), "--workers", "1")
    assert code == 1
    rules.write_text(only.format("1MB"))
    code, _out, _err = _run(capsys, *archives, "--ci", "--ci-config", str(rules), "--workers", "1")
    assert code == 0


def test_hostile_names_stay_text_in_every_format(tmp_path, capsys) -> None:
    hostile = tmp_path / "=cmd|evil\x1b[31m.tar"
    _archive(hostile, 1000)
    code, out, err = _run(capsys, str(hostile), "--workers", "1", "--csv", str(tmp_path / "a.csv"),
                          "--markdown", str(tmp_path / "a.md"))  # fmt: skip
    assert code == 0, err
    assert "\x1b" not in out + err and "\\x1b[31m" in out
    assert "'" + str(hostile) not in (tmp_path / "a.csv").read_text()  # the path starts with / here
    assert "\\|evil\\x1b[31m" in (tmp_path / "a.md").read_text()
    from dive_py.reports.audit import audit_csv

    row = {"ref": "=HYPERLINK(1)", "error": "x", "warnings": []}
    assert audit_csv([row]).splitlines()[1].startswith("'=HYPERLINK(1)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-"], "cannot read an image from stdin"),
        ([], "no images to audit"),
        ([str(EXAMPLE), "--tags", "some"], "--tags 'some': expected latest, all or a positive number"),
        ([str(EXAMPLE), "--workers", "0"], "--workers: expected a positive number"),
        ([str(EXAMPLE), "--cache-url", "http://bucket"], "expected s3://BUCKET[/PREFIX]"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, capsys) -> None:
    code, _out, err = _run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_nothing_readable_exits_2(tmp_path, capsys) -> None:
    code, _out, err = _run(capsys, str(tmp_path / "a.tar"), str(tmp_path / "b.tar"), "--workers", "1")
    assert code == 2 and err.count("cannot be read") == 2


def test_the_help_lists_audit(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "divepy audit REF" in capsys.readouterr().out


def test_which_tags_of_a_repository_are_audited() -> None:
    from dive_py.sources.registry.catalog import pick_tags

    tags = ["1.9", "1.10", "1.2", "dev", "latest"]
    assert pick_tags(tags, "latest") == ["latest"]
    assert pick_tags(["1.9", "1.10", "1.2"], "latest") == ["1.10"]  # no latest tag: the highest version
    assert pick_tags(tags, 2) == ["dev", "latest"]
    assert pick_tags(["1.9", "1.10", "1.2"], 2) == ["1.9", "1.10"]
    assert pick_tags(tags, "all") == ["1.2", "1.9", "1.10", "dev", "latest"]
