"""Hints in --json, --ci text, --markdown and --junit on the seed."""

from __future__ import annotations

import json

from dive_py.cli.main import main
from tests.fixtures.paths import EXAMPLE


def test_json_has_hints_fixable_bytes_and_packages(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main([str(EXAMPLE), "--json", str(out), "--no-cache"]) == 0
    data = json.loads(out.read_text())
    assert data["fixableBytes"] == sum(h["bytes"] for h in data["hints"]) == 3_369_944
    assert set(data["hints"][0]) == {"kind", "layer", "command", "bytes", "paths", "fix", "dockerfile"}
    assert data["hints"][0]["paths"] == ["/usr/local/tomcat/webapps"]
    assert all(set(layer["packages"]) == {"added", "removed", "changed"} for layer in data["layer"])


def test_ci_markdown_junit_show_the_top_hints(tmp_path, capsys):
    md, junit = tmp_path / "s.md", tmp_path / "j.xml"
    assert main([str(EXAMPLE), "--ci", "--no-cache", "--markdown", str(md), "--junit", str(junit)]) == 0
    text = capsys.readouterr().out
    assert "Hints: 3.4 MB" in text and "duplicate-content" in text and "`mv`" in text
    commit = "made by docker commit (comment: 'edit webapps dir', author: xiao)"  # the seed's last layer
    assert f"| duplicate-content | 4 | {commit} | `/usr/local/tomcat/webapps` |" in md.read_text()
    assert f"at:  {commit}" in text and f"at: {commit}" in junit.read_text()
    assert "fix: use `mv`" in junit.read_text()


def test_hint_min_size_flag_and_config(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.json"
    assert main([str(EXAMPLE), "--json", str(out), "--no-cache", "--hint-min-size", "4MB"]) == 0
    assert json.loads(out.read_text())["hints"] == []
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dive-ci").write_text("hints:\n  minSize: 10kB\n")
    assert main([str(EXAMPLE), "--json", str(out), "--no-cache"]) == 0
    assert {h["kind"] for h in json.loads(out.read_text())["hints"]} == {"duplicate-content", "metadata-only"}
