"""Matching an image's history with a Dockerfile: the records both builders wrote for one real Dockerfile
(copied from builds on Docker 20.10, legacy and BuildKit), multi-stage, substitution and mismatches."""

from __future__ import annotations

import pytest

from dive_py.dockerfile.lines import dockerfile_lines
from dive_py.dockerfile.match import Step, commit_note, match_history, read_step
from dive_py.dockerfile.parse import parse_text
from dive_py.errors import DivepyError
from tests.fixtures.dockerfiles import PATTERNS

DOCKERFILE = PATTERNS

SEED = [  # tomcat02:1.0's history (examples/tomcat02.tar): 5 layers, the last one a docker commit
    ("/bin/sh -c #(nop) ADD file:b4f9a16e37b29b46ff6a2b652e9da6bb88551141b10e8bc954f8a9406588790c in / ", False),
    ("/bin/sh -c #(nop)  ENV CATALINA_HOME=/usr/local/tomcat", True),
    ('/bin/sh -c mkdir -p "$CATALINA_HOME"', False),
    ("/bin/sh -c #(nop) WORKDIR /usr/local/tomcat", True),
    ("/bin/sh -c #(nop) ADD file:43e2867779befd81c153bcd106896ed869bc34b950940ec6b7960cc4ade341f7 in ./ ", False),
    ("/bin/sh -c set -eux;     chmod 755 bin/*.sh;     chmod 1777 logs temp work", False),
    ("/bin/sh -c #(nop)  EXPOSE 8080", True),
    ('/bin/sh -c #(nop)  CMD ["catalina.sh" "run"]', True),
]
COMMIT = {"created_by": "sleep 1000", "author": "xiao", "comment": "edit webapps dir"}

LEGACY = [
    ("/bin/sh -c #(nop)  ARG APP", True),
    ("/bin/sh -c #(nop)  ENV TOOLS=/opt/tools", True),
    ("/bin/sh -c #(nop) WORKDIR /opt/app", False),
    (
        "/bin/sh -c #(nop) COPY dir:1d8f8bcab743330ab40c0af3b27dab93ede9b8c94e9ea2d35b5161e79bcab16d in /opt/tools ",
        False,
    ),
    ("|1 APP=/opt/app /bin/sh -c chmod -R 755 $TOOLS", False),
    ("|1 APP=/opt/app /bin/sh -c mkdir -p /opt/build && head -c 300000 /dev/urandom > /opt/build/a.o", False),
    ("|1 APP=/opt/app /bin/sh -c rm -rf /opt/build", False),
    ("/bin/sh -c #(nop)  LABEL org.example.a=1 b=two words", True),
    (
        "/bin/sh -c #(nop) COPY --chown=1000:1000dir:918ef5fe1ac75a951b39f782a3ebc024f in /opt/copy ",
        False,
    ),
    ("/bin/sh -c echo exec > /exec.txt", False),
    ("/bin/sh -c #(nop)  EXPOSE 8080/tcp 9090", True),
    ("/bin/sh -c #(nop)  USER 1000", True),
    ('/bin/sh -c #(nop)  CMD ["catalina.sh" "run"]', True),
]

BUILDKIT = [
    ("ARG APP", True),
    ("ENV TOOLS=/opt/tools", True),
    ("WORKDIR /opt/app", False),
    ("COPY tools /opt/tools # buildkit", False),
    ("RUN |1 APP=/opt/app /bin/sh -c chmod -R 755 $TOOLS # buildkit", False),
    (
        "RUN |1 APP=/opt/app /bin/sh -c mkdir -p /opt/build && head -c 300000 /dev/urandom > /opt/build/a.o # buildkit",
        False,
    ),
    ("RUN |1 APP=/opt/app /bin/sh -c rm -rf /opt/build # buildkit", False),
    ("LABEL org.example.a=1 b=two words", True),
    ("COPY /opt/tools /opt/copy # buildkit", False),
    ("RUN /bin/sh -c echo exec > /exec.txt # buildkit", False),
    ("EXPOSE map[8080/tcp:{} 9090/tcp:{}]", True),
    ("USER 1000", True),
    ('CMD ["catalina.sh" "run"]', True),
]

ENTRY_LINES = [3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17]
"""The line of each entry of LEGACY / BUILDKIT."""
LAYER_LINES = [None] * 5 + [5, 6, 7, 8, 9, 13, 14]
"""The line of each of the image's 12 layers: the seed's five have none."""


def history(steps: list[tuple[str, bool]], *, comment: str = "") -> list[dict]:
    base = [{"created_by": text, **({"empty_layer": True} if empty else {})} for text, empty in SEED]
    made = [
        {"created_by": text, **({"empty_layer": True} if empty else {}), **({"comment": comment} if comment else {})}
        for text, empty in steps
    ]
    return [*base, COMMIT, *made]


def lines_of(found) -> list[int | None]:  # noqa: ANN001
    return [item.line if item is not None else None for item in found]


@pytest.mark.parametrize(("steps", "comment"), [(LEGACY, ""), (BUILDKIT, "buildkit.dockerfile.v0")])
def test_both_builders_every_entry_and_layer(steps, comment) -> None:  # noqa: ANN001
    found = match_history(history(steps, comment=comment), 12, parse_text(DOCKERFILE), None)
    assert lines_of(found.entries) == [None] * 9 + ENTRY_LINES
    assert lines_of(found.layers) == LAYER_LINES
    assert found.warnings == ()
    assert {item.stage for item in found.layers if item is not None} == {"build", "1"}


def test_target_stage_is_the_build_stage() -> None:
    steps = BUILDKIT[:7]
    found = match_history(history(steps), 10, parse_text(DOCKERFILE), "build")
    assert lines_of(found.layers) == [None] * 5 + [5, 6, 7, 8, 9]
    assert found.warnings == ()
    with pytest.raises(DivepyError, match="no stage named 'nope'"):
        match_history(history(steps), 10, parse_text(DOCKERFILE), "nope")


def test_another_dockerfile_is_said_never_guessed() -> None:
    other = parse_text("FROM tomcat02:1.0\nRUN apt-get update\nCOPY site /var/www\n", "other/Dockerfile")
    found = match_history(history(BUILDKIT), 12, other, None)
    assert lines_of(found.layers) == [None] * 12
    assert len(found.warnings) == 1 and "other/Dockerfile does not match" in found.warnings[0]


def test_an_edited_dockerfile_keeps_the_lines_that_match_and_says_what_does_not() -> None:
    edited = DOCKERFILE.replace("RUN rm -rf /opt/build", "RUN rm -rf /opt/build /tmp/x")
    found = match_history(history(LEGACY), 12, parse_text(edited), None)
    assert lines_of(found.layers) == [None] * 5 + [5, 6, 7, 8, None, 13, 14]
    assert len(found.warnings) == 2
    assert "line 9 RUN rm -rf /opt/build /tmp/x" in found.warnings[0]
    assert "rm -rf /opt/build" in found.warnings[1]


def test_substituted_values_match_as_wildcards() -> None:
    text = 'FROM base\nARG V=1\nENV DIR=/srv/$V\nRUN echo ${V:-0} > "$DIR/x"\nCOPY a ${DIR}/\n'
    steps = [
        {"created_by": "ARG V=1", "empty_layer": True},
        {"created_by": "ENV DIR=/srv/1", "empty_layer": True},
        {"created_by": 'RUN |1 V=1 /bin/sh -c echo ${V:-0} > "$DIR/x" # buildkit'},
        {"created_by": "COPY a /srv/1/ # buildkit"},
    ]
    found = match_history(steps, 2, parse_text(text), None)
    assert lines_of(found.layers) == [4, 5]


def test_continuation_lines_and_heredocs() -> None:
    text = "FROM base\nRUN apt-get update && \\\n    apt-get install -y curl\nRUN <<EOF\nset -e\necho hi\nEOF\n"
    parsed = parse_text(text)
    run, heredoc = parsed.stages[0].instructions[1:]
    assert (run.line, run.end_line, run.text) == (2, 3, "RUN apt-get update && apt-get install -y curl")
    assert run.original == "RUN apt-get update && \\\n    apt-get install -y curl"
    assert (heredoc.line, heredoc.end_line) == (4, 7)
    steps = [
        {"created_by": "/bin/sh -c apt-get update &&     apt-get install -y curl"},
        {"created_by": "RUN /bin/sh -c <<EOF # buildkit"},
    ]
    assert lines_of(match_history(steps, 2, parsed, None).layers) == [2, 4]


def test_read_step() -> None:
    assert read_step("/bin/sh -c #(nop)  ENV A=b") == Step("ENV", "A=b", False)
    assert read_step("RUN /bin/sh -c true # buildkit") == Step("RUN", "/bin/sh -c true", True)
    assert read_step("sleep 1000").keyword == ""


def test_the_seed_commit_is_named_with_its_comment_and_author() -> None:
    assert commit_note(COMMIT) == "made by docker commit (comment: 'edit webapps dir', author: xiao)"
    assert commit_note({"created_by": "/bin/sh -c make"}) is None
    assert commit_note({"created_by": "RUN x # buildkit", "comment": "buildkit.dockerfile.v0"}) is None
    assert commit_note({"created_by": "", "comment": "Imported from -"}) == "made by docker import (Imported from -)"
    lines = dockerfile_lines({"history": history([])}, 5)
    assert lines.path is None and lines.layers == (None,) * 5
    assert lines.label(4) == "made by docker commit (comment: 'edit webapps dir', author: xiao)"
    assert lines.label(3) == "" and lines.to_dict(4) is None


def test_broken_dockerfiles_fail_in_one_line(tmp_path) -> None:  # noqa: ANN001
    from dive_py.dockerfile.parse import parse_dockerfile

    with pytest.raises(DivepyError, match="cannot read the Dockerfile"):
        parse_dockerfile(str(tmp_path / "missing"))
    (tmp_path / "empty").write_text("# nothing\n")
    with pytest.raises(DivepyError, match="not a readable Dockerfile") as raised:
        parse_dockerfile(str(tmp_path / "empty"))
    assert "\n" not in str(raised.value)
    (tmp_path / "nofrom").write_text("RUN true\n")
    with pytest.raises(DivepyError, match="no FROM"):
        parse_dockerfile(str(tmp_path / "nofrom"))


def test_labels_show_control_characters_from_the_image() -> None:
    hostile = {"created_by": "sleep 1", "author": "x\x1b[2J", "comment": "a\x1b]0;pwned\x07b"}
    lines = dockerfile_lines({"history": [hostile]}, 1)
    assert lines.label(0) == "made by docker commit (comment: 'a\\x1b]0;pwned\\x07b', author: x\\x1b[2J)"
    parsed = parse_text("FROM a\nRUN echo '\x1b[31m'\n")
    found = dockerfile_lines({"history": [{"created_by": "/bin/sh -c echo '\x1b[31m'"}]}, 1, parsed)
    assert found.label(0) == "Dockerfile:2 RUN echo '\\x1b[31m'"


def test_without_the_parser_one_line_says_how_to_install_it(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import sys

    from dive_py.cli.main import main
    from tests.fixtures.paths import EXAMPLE

    (tmp_path / "Dockerfile").write_text("FROM a\n")
    monkeypatch.setitem(sys.modules, "dockerfile", None)  # as if the extra were not installed
    assert main([str(EXAMPLE), "--dockerfile", str(tmp_path / "Dockerfile")]) == 2
    err = capsys.readouterr().err
    assert err == "divepy: error: reading Dockerfiles needs the dockerfile package: pip install 'divepy[dockerfile]'\n"


def test_legacy_exec_form_and_shell_runs_name_no_keyword_yet_match() -> None:
    text = 'FROM base\nRUN ["echo", "x"]\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN make all | tee log\n'
    steps = [
        {"created_by": "echo x"},
        {"created_by": "/bin/sh -c #(nop)  SHELL [/bin/bash -o pipefail -c]", "empty_layer": True},
        {"created_by": "/bin/bash -o pipefail -c make all | tee log"},
    ]
    found = match_history(steps, 2, parse_text(text), None)
    assert lines_of(found.layers) == [2, 4] and found.warnings == ()


def test_a_stage_named_through_a_global_arg_is_followed() -> None:
    parsed = parse_text("ARG BASE=build\nFROM tomcat02:1.0 AS build\nRUN make\nFROM ${BASE}\nRUN make install\n")
    assert [stage.index for stage in parsed.chain(None)] == [0, 1]
    steps = [{"created_by": "/bin/sh -c make"}, {"created_by": "/bin/sh -c make install"}]
    assert lines_of(match_history(steps, 2, parsed, None).layers) == [3, 5]


def test_warnings_quote_the_history_with_control_characters_visible() -> None:
    steps = [{"created_by": "/bin/sh -c make"}, {"created_by": "/bin/sh -c echo \x1b[2J [bold]x[/bold]"}]
    found = match_history(steps, 2, parse_text("FROM a\nRUN make\n"), None)
    assert found.warnings == (
        "Dockerfile: 1 step(s) of the image's history not in the Dockerfile (first: RUN /bin/sh -c echo "
        "\\x1b[2J [bold]x[/bold])",
    )
