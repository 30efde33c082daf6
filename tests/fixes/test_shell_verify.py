"""A RUN's shell line cut into commands and edited in place; two final file systems compared outside the hints."""

from __future__ import annotations

from dive_py.fixes.edits import run_commands
from dive_py.fixes.shell import readable, remove_command, split_commands
from dive_py.fixes.verify import compare_files


def test_commands_keep_quotes_continuations_and_their_spans() -> None:
    text = "RUN --mount=type=cache,target=/c a 'x && y' \\\n    && rm -rf /opt/b; echo \"q;|\" # c && d\n"
    commands = run_commands(text)
    assert [c.words for c in commands] == [("a", "x && y"), ("rm", "-rf", "/opt/b"), ("echo", "q;|")]
    assert [text[c.start : c.end] for c in commands][1] == "rm -rf /opt/b"
    assert split_commands("sudo FOO=1 apt-get install x")[0].name == "apt-get"
    assert not readable("a $(b && c)") and not readable("cat <<EOF") and readable("a && b")


def test_removing_a_command_keeps_the_others_and_their_layout() -> None:
    text = "RUN a \\\n    && rm -rf /x \\\n    && b"
    first, middle, last = run_commands(text)
    assert remove_command(text, middle) == "RUN a \\\n    && b"
    assert remove_command(text, last) == "RUN a \\\n    && rm -rf /x"
    assert remove_command(text, first) == "RUN rm -rf /x \\\n    && b"


def test_differences_outside_the_hints_paths_and_build_noise() -> None:
    d, f = ("d", 0, 0, 0o755, 0, 0, ""), ("f", 3, 7, 0o644, 0, 0, "")
    before = {"/root": d, "/root/.cache": d, "/root/.cache/pip": d, "/root/.cache/pip/a": f, "/opt": d,
              "/opt/x": f, "/var/log/apt/history.log": f, "/etc": d, "/etc/k": f}  # fmt: skip
    after = {"/root": d, "/opt": d, "/opt/x": ("f", 3, 7, 0o755, 0, 0, ""), "/etc": d, "/etc/k": f,
             "/var/log/apt/history.log": ("f", 4, 8, 0o644, 0, 0, "")}  # fmt: skip
    changed, noise = compare_files(before, after, ["/root/.cache/pip"])
    # /root/.cache held nothing but the cache: part of the fix. /opt/x's mode is a real change.
    assert changed == [("/opt/x", "mode differ")]
    assert noise == [("/var/log/apt/history.log", "size, content differ")]
    assert compare_files(before, before, []) == ([], [])
