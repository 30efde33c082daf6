"""Provides :class:`Draft`: a Dockerfile's instructions being edited, and the unified diff of the result.

Edits work on instructions (their exact source text, :attr:`Instruction.original`), never on the file as a
whole: each one appends a command to a RUN, rewrites words in place, removes one command, adds a COPY flag,
or drops an instruction. The rest of the file, comments and formatting included, is left byte for byte.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dive_py.dockerfile.parse import Instruction
from dive_py.fixes.shell import Command, remove_command, split_commands


@dataclass
class Draft:
    """The new source text of the instructions edited so far (``""``: dropped), and which fix touched which."""

    text: str
    """The Dockerfile as read."""
    new: dict[Instruction, str] = field(default_factory=dict)
    labels: dict[Instruction, list[str]] = field(default_factory=dict)

    def source(self, item: Instruction) -> str:
        """The instruction's text as edited so far."""
        return self.new.get(item, item.original)

    def set(self, item: Instruction, text: str, label: str) -> None:
        """Replaces the instruction's text, noting why (``label``)."""
        self.new[item] = text
        found = self.labels.setdefault(item, [])
        if label not in found:
            found.append(label)

    def commands(self, item: Instruction) -> list[Command]:
        """The current simple commands of a shell-form RUN (spans in :meth:`source`)."""
        return run_commands(self.source(item))

    def append(self, item: Instruction, command: str, label: str) -> None:
        """Adds ``&& command`` at the end of a RUN, on a continuation line of its own."""
        current = self.source(item).rstrip()
        indent = _indent(current)
        self.set(item, f"{current} \\\n{indent}&& {command}", label)

    def remove(self, item: Instruction, command: Command, label: str) -> None:
        """Removes one command from a RUN; a RUN left with no command is dropped."""
        text = remove_command(self.source(item), command)
        if not run_commands(text):  # only the RUN keyword (and its flags) is left
            text = ""
        self.set(item, _tidy(text), label)

    def drop(self, item: Instruction, label: str) -> None:
        """Removes the instruction, noting why (``label``)."""
        self.set(item, "", label)

    def patched(self) -> str:
        """The whole Dockerfile with every edit made."""
        lines = self.text.splitlines(keepends=True)
        for item in sorted(self.new, key=lambda i: -i.line):
            new = self.new[item]
            tail = lines[item.end_line - 1][len(lines[item.end_line - 1].rstrip("\r\n")) :] or "\n"
            replacement = [] if not new else [line + "\n" for line in new.split("\n")]
            if replacement:
                replacement[-1] = replacement[-1][:-1] + tail
            lines[item.line - 1 : item.end_line] = replacement
        return "".join(lines)

    def diff(self, path: str) -> str:
        """The unified diff from the file as read to :meth:`patched`, one hunk (or more) per edited instruction,
        each header naming the fixes that made it (``@@ -5,2 +5,3 @@ closes package-cache … (3.6 MB)``)."""
        name = path.lstrip("/")
        out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
        lines = self.text.splitlines(keepends=True)
        shift = 0  # lines added so far by the hunks above
        for item in sorted(self.new, key=lambda i: i.line):
            old = lines[item.line - 1 : item.end_line]
            new = [line + "\n" for line in self.new[item].split("\n")] if self.new[item] else []
            label = "; ".join(self.labels.get(item, []))
            for line in list(difflib.unified_diff(old, new, n=0))[2:]:
                match = _HUNK.match(line)
                if match is None:
                    out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
                    continue
                a, b = int(match.group(1)), int(match.group(3))
                a_count, b_count = match.group(2), match.group(4)
                start_old = a + item.line - 1
                start_new = b + item.line - 1 + shift
                out.append(f"@@ -{_range(start_old, a_count)} +{_range(start_new, b_count)} @@ {label}\n")
            shift += len(new) - len(old)
        return "".join(out) if len(out) > 2 else ""


def _range(start: int, count: str | None) -> str:
    return f"{start}" if count is None else f"{start},{count}"


_RUN_HEAD = re.compile(r"\s*RUN((?:\s+--\S+)*)\s+", re.IGNORECASE)


def run_commands(source: str) -> list[Command]:
    """The simple commands of a shell-form RUN's source text, spans in that text (none when it is not one)."""
    head = _RUN_HEAD.match(source)
    if head is None:
        return []
    start = head.end()
    return [
        Command(command.start + start, command.end + start, command.words) for command in split_commands(source[start:])
    ]


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _indent(text: str) -> str:
    """The indentation of a RUN's continuation lines (four blanks when it has none)."""
    for line in text.split("\n")[1:]:
        stripped = line.lstrip(" \t")
        if stripped:
            return line[: len(line) - len(stripped)]
    return "    "


def _tidy(text: str) -> str:
    """No blank continuation lines and no dangling backslash left by a removal."""
    lines = [line for line in text.split("\n") if line.strip(" \t\\")]
    if lines:
        lines[-1] = lines[-1].rstrip(" \t\\").rstrip()
    return "\n".join(lines)


def add_flag(item: Instruction, source: str, flag: str) -> str:
    """A COPY/ADD's source text with ``flag`` (``--chown=u:g``) after its keyword, replacing one of that name."""
    name = flag.split("=", 1)[0]
    existing = re.search(rf"(?<=\s){re.escape(name)}=\S+", source)
    if existing:
        return source[: existing.start()] + flag + source[existing.end() :]
    keyword = re.match(r"\s*\S+", source)
    end = keyword.end() if keyword else 0
    return f"{source[:end]} {flag}{source[end:]}"


Apply = Callable[[Draft, str], None]
"""A fix's edit: ``apply(draft, label)`` makes it in the draft."""
