"""Provides :func:`match_history`: which Dockerfile instruction made each entry of an image's history.

Both builders write one history entry per instruction but ``FROM`` (older BuildKit releases leave out
``ARG``), with ``empty_layer`` on those that add no layer:

- the legacy builder: ``/bin/sh -c #(nop)  ENV A=b``, ``/bin/sh -c #(nop) COPY file:<sum> in /opt/x ``,
  ``/bin/sh -c apt-get ...`` (``|2 A=1 B=2 /bin/sh -c ...`` with build arguments), an exec-form RUN's
  arguments joined, a RUN under ``SHELL`` with that shell (these last two say no keyword: a RUN may match them);
- BuildKit: ``RUN /bin/sh -c apt-get ... # buildkit``, ``COPY src /dst # buildkit``, ``ENV A=b``,
  ``WORKDIR /abs``, ``EXPOSE map[80/tcp:{}]``.

The instructions of the target stage (after those of the stages it is built ``FROM``) are aligned with the
history's last entries: the longest in-order matching, preferring the newest entries; what is older than
the first matched entry is the base image's. Values are compared with every ``$VAR``/``${VAR}`` as a
wildcard, so build arguments and ENV substitution never break a match. Whatever does not line up is said
in a warning (the Dockerfile is not the one that built the image), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dive_py.dockerfile.parse import Dockerfile, Instruction
from dive_py.safe_text import visible

_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s+")
_BUILDKIT_TAIL = "# buildkit"
_VAR = re.compile(r"\\?\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_FLAG = re.compile(r"^--[A-Za-z-]+(=\S*)?$")
_KEYWORDS = frozenset(
    "RUN COPY ADD ENV ARG LABEL EXPOSE CMD ENTRYPOINT WORKDIR USER VOLUME STOPSIGNAL HEALTHCHECK SHELL "
    "ONBUILD MAINTAINER".split()
)


@dataclass(frozen=True)
class Step:
    """A history entry read back: the instruction keyword and its arguments as the builder wrote them."""

    keyword: str
    """Upper-case keyword, or "" when the entry is not a Dockerfile instruction (a commit, an import)."""
    text: str
    buildkit: bool = False


@dataclass(frozen=True)
class HistoryMatch:
    """The instruction of every history entry and of every layer, and what did not line up."""

    entries: tuple[Instruction | None, ...]
    """One per history entry (empty-layer ones included), in history order."""
    layers: tuple[Instruction | None, ...]
    """One per layer (the history entries that made a layer); None: the base image's, or unmatched."""
    warnings: tuple[str, ...] = field(default=())


def read_step(created_by: str) -> Step:
    """The keyword and arguments of a history entry's ``created_by`` (runs of blanks made one)."""
    text = " ".join(created_by.split())
    if text.endswith(_BUILDKIT_TAIL):
        text = text[: -len(_BUILDKIT_TAIL)].rstrip()
        keyword, _, rest = text.partition(" ")
        return Step(keyword.upper(), rest, True)
    nop = _NOP.match(text)
    if nop:
        keyword, _, rest = text[nop.end() :].partition(" ")
        return Step(keyword.upper(), rest.strip())
    keyword, _, rest = text.partition(" ")
    if keyword in _KEYWORDS and keyword not in ("RUN", "COPY", "ADD"):  # BuildKit's config-only instructions
        return Step(keyword, rest.strip(), True)
    if keyword in ("RUN",) and rest:  # BuildKit's exec-form RUN
        return Step("RUN", rest, True)
    if text.startswith(("/bin/sh -c ", "|")):
        return Step("RUN", text)
    return Step("", text)


def match_history(
    history: list[dict[str, Any]], layer_count: int, dockerfile: Dockerfile, target: str | None = None
) -> HistoryMatch:
    """Aligns the image's history with the target stage's instructions.

    Args:
        history: the image config's ``history`` entries, in order.
        layer_count: the image's layers (the entries without ``empty_layer``, when the history is complete).
        dockerfile: the parsed Dockerfile.
        target: the stage that built the image (``--target``); the last one when None.

    Raises:
        DivepyError: ``target`` names no stage.
    """
    entries = [entry for entry in history if isinstance(entry, dict)]
    steps = [read_step(str(entry.get("created_by") or "")) for entry in entries]
    chain = [item for stage in dockerfile.chain(target) for item in stage.instructions if item.keyword != "FROM"]
    pairs = _align(steps, chain)
    matched: list[Instruction | None] = [None] * len(entries)
    for at, index in pairs:
        matched[at] = chain[index]
    layers = [item for item, entry in zip(matched, entries, strict=True) if not entry.get("empty_layer")]
    layers = layers[:layer_count] + [None] * (layer_count - len(layers))
    warnings = _warnings(entries, steps, chain, pairs, dockerfile, target)
    return HistoryMatch(tuple(matched), tuple(layers), tuple(warnings))


def _align(steps: list[Step], chain: list[Instruction]) -> list[tuple[int, int]]:
    """The longest in-order matching of history steps to instructions, newest entries first on ties.

    Returns (history index, instruction index) pairs, oldest first.
    """
    n, m = len(steps), len(chain)
    by_keyword: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        by_keyword.setdefault(step.keyword, []).append(i)
    same = [[False] * m for _ in range(n)]
    # A RUN may also be a step that names no keyword (the legacy builder's exec form, or under SHELL).
    runs = sorted([*by_keyword.get("RUN", ()), *by_keyword.get("", ())])
    for j, item in enumerate(chain):
        test = matcher(item)
        for i in runs if item.keyword == "RUN" else by_keyword.get(item.keyword, ()):
            if test(steps[i]):
                same[i][j] = True
    # rbest[i][j]: the most matches among steps[:i] and chain[:j]
    rbest = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        above, row, matches = rbest[i - 1], rbest[i], same[i - 1]
        for j in range(1, m + 1):
            best = above[j] if above[j] > row[j - 1] else row[j - 1]
            if matches[j - 1] and above[j - 1] + 1 > best:
                best = above[j - 1] + 1
            row[j] = best
    # Walk back from the newest ends so that ties go to the newest history entries.
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if same[i - 1][j - 1] and rbest[i][j] == rbest[i - 1][j - 1] + 1:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif rbest[i][j] == rbest[i][j - 1] and chain[j - 1].keyword == "ARG":
            j -= 1  # BuildKit writes no entry for ARG: skip the instruction before the entry
        elif rbest[i][j] == rbest[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


Matcher = Callable[[Step], bool]


def matcher(item: Instruction) -> Matcher:
    """Whether a history step can be the record of ``item`` (its patterns made once, for every step)."""
    keyword = item.keyword
    if keyword == "RUN":
        test = _run_matcher(item)
    elif keyword in ("COPY", "ADD"):
        test = _copy_matcher(item)
    elif keyword in ("ENV", "LABEL", "ARG"):
        keys = _instruction_keys(item)
        test = lambda step: _keys(step.text) == keys  # noqa: E731
    elif keyword == "EXPOSE" and not _VAR.search(item.value):
        ports = [n for arg in item.args for n in re.findall(r"\d+", arg)]
        test = lambda step: re.findall(r"\d+", step.text) == ports  # noqa: E731
    elif keyword in ("WORKDIR", "USER") and item.args:
        # BuildKit writes WORKDIR's absolute path: a relative one is its end.
        ends = re.compile(r"(?:^|/)" + _pattern(item.args[0].rstrip("/")) + r"/?$")
        test = lambda step: ends.search(step.text) is not None  # noqa: E731
    else:
        test = lambda step: True  # noqa: E731 - CMD, ENTRYPOINT, ...: their place in the order decides
    if keyword == "RUN":
        return lambda step: step.keyword in ("RUN", "") and test(step)
    return lambda step: step.keyword == keyword and test(step)


def _run_matcher(item: Instruction) -> Matcher:
    """A RUN: the history's command ends with the instruction's (the shell and build arguments come first)."""
    if any(arg.startswith("<<") for arg in item.args):  # a heredoc: its first line is what the history keeps
        command = item.value.split("\n", 1)[0]
    else:
        command = " ".join(item.args) if item.json else item.args[0] if item.args else ""
    if not command.strip():
        return lambda step: False
    pattern = re.compile(r"(?:^|\s)" + _pattern(command) + r"$")
    flat = " ".join(command.split())
    tail = "" if _VAR.search(flat.rsplit(" ", 1)[-1]) else flat.rsplit(" ", 1)[-1]  # a cheap test first
    return lambda step: step.text.endswith(tail) and pattern.search(step.text) is not None


def _copy_matcher(item: Instruction) -> Matcher:
    """A COPY/ADD: BuildKit keeps the arguments (flags aside); the legacy builder the destination."""
    args = [arg for arg in item.args if not _FLAG.match(arg)]
    if not args:
        return lambda step: False
    whole, destination = re.compile(_pattern(" ".join(args))), re.compile(_pattern(args[-1]))

    def test(step: Step) -> bool:
        if step.buildkit:
            written = " ".join(token for token in step.text.split() if not _FLAG.match(token))
            return whole.fullmatch(written) is not None
        legacy = re.search(r"\sin\s+(.*?)\s*$", step.text)
        return legacy is not None and destination.fullmatch(legacy.group(1)) is not None

    return test


def _pattern(text: str) -> str:
    """A regular expression for ``text`` with runs of blanks as blanks and every variable as a wildcard."""
    parts = []
    for index, piece in enumerate(_VAR.split(" ".join(text.split()))):
        if index:
            parts.append(r".*?")
        parts.append(r"\s+".join(re.escape(word) for word in piece.split(" ")))
    return "".join(parts)


@lru_cache(maxsize=4096)
def _keys(text: str) -> tuple[str, ...]:
    """The names of ``A=b C="d e"`` as written in history (legacy ``ENV A b`` gives ``A``)."""
    keys = re.findall(r'(?:^|\s)("[^"]*"|[^\s=]+)=', text)
    return tuple(key.strip('"') for key in keys) or tuple(text.split()[:1])


def _instruction_keys(item: Instruction) -> tuple[str, ...]:
    """The names an ENV, LABEL or ARG instruction sets."""
    if item.keyword == "ARG":
        return tuple(arg.split("=", 1)[0] for arg in item.args)
    return tuple(key.strip('"') for key in item.args[::2])


def _warnings(
    entries: list[dict[str, Any]],
    steps: list[Step],
    chain: list[Instruction],
    pairs: list[tuple[int, int]],
    dockerfile: Dockerfile,
    target: str | None,
) -> list[str]:
    """One line for what does not line up: the instructions missing from the history and the steps the
    Dockerfile does not have (after the first matched one: older ones are the base image's)."""
    where = dockerfile.path + (f" (stage {target})" if target else "")
    if not pairs:
        return [f"{where} does not match the image's history: no instruction found in it; no Dockerfile lines shown"]
    used = {index for _at, index in pairs}
    missing = [item for index, item in enumerate(chain) if index not in used and item.keyword != "ARG"]
    warnings = []
    if missing:
        first = missing[0]
        warnings.append(
            f"{where}: {len(missing)} instruction(s) not in the image's history (first: line {first.line} "
            f"{_short(first.text)}); is this the Dockerfile that built the image?"
        )
    seen = {at for at, _index in pairs}
    extra = [at for at in range(pairs[0][0], len(entries)) if at not in seen]
    if extra:
        at = extra[0]
        note = commit_note(entries[at])
        made = f", {note}" if note else ""
        warnings.append(
            f"{where}: {len(extra)} step(s) of the image's history not in the Dockerfile (first: "
            f"{_short(steps[at].keyword + ' ' + steps[at].text if steps[at].keyword else steps[at].text)}{made})"
        )
    return warnings


def _short(text: str, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters, control characters visible."""
    line = visible(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


BUILDKIT_COMMENT = "buildkit.dockerfile.v0"


def commit_note(entry: dict[str, Any]) -> str | None:
    """What made a history entry that no Dockerfile instruction made: ``docker commit`` (its comment and
    author) or ``docker import``; None for an instruction's entry or one that says nothing."""
    comment = str(entry.get("comment") or "").strip()
    author = str(entry.get("author") or "").strip()
    if read_step(str(entry.get("created_by") or "")).keyword or comment == BUILDKIT_COMMENT:
        return None
    if comment.startswith("Imported from"):
        return f"made by docker import ({_short(comment)})"
    if comment.startswith("container ") and comment.endswith("(not committed)"):
        return f"the writable layer of {_short(comment)}"  # container://: what docker commit would store
    if not comment and not author:
        return None
    said = [f"comment: '{_short(comment)}'"] if comment else []
    said += [f"author: {_short(author)}"] if author else []
    return f"made by docker commit ({', '.join(said)})"
