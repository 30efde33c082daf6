"""Provides :func:`split_commands`: a RUN's shell command cut into simple commands, with their places in the text.

Enough of POSIX sh to edit a Dockerfile's RUN without rewriting it: quotes and backslashes are honoured,
a backslash-newline (a continuation line) is a blank, and the commands are cut at ``&&``, ``||``, ``;``,
``|``, ``&`` and bare newlines. Each command keeps its span in the text it was cut from, so an edit removes
or rewrites exactly that command and leaves the rest of the user's formatting alone. What this cannot read
safely (here-documents, subshells and command substitutions spanning separators) is reported, and the fixer
then leaves that RUN alone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

SEPARATORS = ("&&", "||", ";", "|", "&", "\n")

_UNSAFE = re.compile(r"<<|\$\(|`|\(\s*|\{\s")
"""Here-documents, command substitutions, subshells and groups: their separators are not top-level ones."""


@dataclass(frozen=True)
class Command:
    """One simple command of a shell line: its words and where it sits in the text."""

    start: int
    end: int
    words: tuple[str, ...]

    @property
    def name(self) -> str:
        """The program run (after ``sudo``/``env`` prefixes and variable assignments), or ``""``."""
        for word in self.words:
            if "=" in word.split("/")[0] or word in ("sudo", "env", "command", "exec"):
                continue
            return word.rsplit("/", 1)[-1]
        return ""


def readable(text: str) -> bool:
    """Whether :func:`split_commands` can cut ``text`` safely (no here-document, subshell or substitution)."""
    return _UNSAFE.search(text) is None


def split_commands(text: str) -> list[Command]:
    """The simple commands of ``text`` in order (empty ones left out).

    Raises:
        ValueError: ``text`` has an unterminated quote.
    """
    commands: list[Command] = []
    start = index = 0
    quote = ""
    length = len(text)
    while index < length:
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                continue
            if char == quote:
                quote = ""
            index += 1
            continue
        if char in "'\"":
            quote = char
        elif char == "\\":
            index += 2
            continue
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        else:
            sep = _separator_at(text, index)
            if sep:
                _add(commands, text, start, index)
                index += len(sep)
                start = index
                continue
        index += 1
    if quote:
        raise ValueError("unterminated quote")
    _add(commands, text, start, length)
    return commands


def _separator_at(text: str, index: int) -> str:
    for sep in SEPARATORS:
        if text.startswith(sep, index):
            return sep
    return ""


def _add(commands: list[Command], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    words = split_words(piece)
    if not words:
        return
    # Trim the span to the command itself (not the blanks and continuations around it).
    lead = len(piece) - len(piece.lstrip(" \t\\\n"))
    trail = len(piece.rstrip(" \t\\\n"))
    commands.append(Command(start + lead, start + trail, tuple(words)))


def split_words(piece: str) -> list[str]:
    """A shell text's words as the shell splits them (continuations joined, comments dropped); plain
    whitespace splitting when its quotes do not close."""
    joined = piece.replace("\\\n", " ")
    try:
        return shlex.split(joined, comments=True)
    except ValueError:
        return joined.split()


def remove_command(text: str, command: Command) -> str:
    """``text`` without ``command`` and the separator that tied it to the command before (or after) it."""
    before = text[: command.start]
    after = text[command.end :]
    stripped = before.rstrip(" \t\\\n")
    for sep in SEPARATORS:
        if sep != "\n" and stripped.endswith(sep):
            # "a && rm x && b" -> "a && b": drop the separator before, keep the one after.
            return stripped[: -len(sep)].rstrip(" \t\\\n") + after
    lead = after.lstrip(" \t\\\n")
    for sep in SEPARATORS:
        if sep != "\n" and lead.startswith(sep):
            # The first command: drop it and the separator after it.
            return before + lead[len(sep) :].lstrip(" \t\\\n")
    return before.rstrip(" \t\\\n") + after.lstrip(" \t\\\n") if not stripped else stripped + after


def join_words(words: list[str] | tuple[str, ...]) -> str:
    """Words quoted back into a command line (globs and plain paths stay unquoted)."""
    return " ".join(word if re.fullmatch(r"[\w@%+=:,./*?\[\]-]+", word) else shlex.quote(word) for word in words)
