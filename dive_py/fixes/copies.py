"""Provides :class:`CopyFixes`: the fixes of copies and moves made after a COPY (the planner's part for them).

- ``duplicate-content``: ``cp -r A B`` -> ``COPY … B`` when a COPY made A, else ``mv A B``, when no later
  instruction reads A (never exact: A leaves the final file system);
- ``moved``: ``COPY … A`` + ``RUN mv A B`` -> ``COPY … B`` (exact when the folders holding A and B are there
  before the COPY, B is not, and nothing in between names them).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Protocol

from dive_py.analysis.hints import Hint
from dive_py.dockerfile.parse import Instruction
from dive_py.fixes.commands import shell_run
from dive_py.fixes.edits import Apply, Draft, run_commands
from dive_py.fixes.paths import Scope, overlaps
from dive_py.fixes.shell import Command, join_words


class _Fix(Protocol):
    """What the handlers set on a :class:`dive_py.fixes.plan.Fix` (plan.py imports this module)."""

    apply: Apply | None
    scope: list[str]


class CopyFixes:
    """The copy and move handlers of :class:`dive_py.fixes.plan._Planner` (which provides the helpers)."""

    if TYPE_CHECKING:  # the planner's, declared for the type checker only
        scope: Scope

        def _fix(self, key: tuple[object, ...], hint: Hint, item: Instruction, summary: str, why: str) -> _Fix: ...
        def _after(self, item: Instruction) -> list[Instruction]: ...
        def _between(self, first: Instruction, last: Instruction) -> list[Instruction]: ...
        def _named_by(self, items: list[Instruction], paths: list[str], where: str) -> str: ...
        def _copy_to(self, item: Instruction, target: str) -> Instruction | None: ...
        def _exists_before(self, copy: Instruction, folder: str) -> bool: ...
        def _existed_before(self, copy: Instruction, target: str) -> bool: ...

    # -- cp -r A B: copy straight to B, or move --------------------------------------------------------

    def _copy(self, hint: Hint, item: Instruction) -> str:
        if not shell_run(item):
            return f"{item.keyword} copies content already in the image: no automatic fix"
        for command in run_commands(item.original):
            args = [w for w in command.words[1:] if not w.startswith("-")]
            if command.name != "cp" or len(args) != 2:
                continue
            source, dest = (self.scope.resolve(item, a) for a in args)
            if not any(overlaps(dest, p) for p in hint.paths):
                continue
            reads = self._named_by(self._after(item), [source], "after it")
            if reads:
                return f"`cp` -> `mv` would remove {source}, which is read {reads}"
            return self._copy_fix(hint, item, command, source, dest)
        return "no `cp A B` making these paths in its RUN"

    def _copy_fix(self, hint: Hint, item: Instruction, command: Command, source: str, dest: str) -> str:
        origin = self._copy_to(item, source)
        why = f"{source} is no longer in the final file system"
        if origin is not None:
            fix = self._fix(
                ("cp", item, command.start), hint, item, f"COPY to {dest} at line {origin.line}, no `cp`", why
            )

            fix.apply = lambda draft, label: _copy_straight(draft, origin, dest, item, command, label)
            return ""
        why += "; the source's layer still holds it"
        fix = self._fix(("cp", item, command.start), hint, item, "`mv` instead of `cp`", why)
        words = ["mv", *(w for w in command.words[1:] if not w.startswith("-"))]

        def apply_mv(draft: Draft, label: str) -> None:
            text = draft.source(item)
            for current in draft.commands(item):  # its place now, after the edits made before this one
                if current.words == command.words:
                    draft.set(item, text[: current.start] + join_words(words) + text[current.end :], label)
                    return

        fix.apply = apply_mv
        return ""

    # -- COPY to A, then RUN mv A B: COPY to B ----------------------------------------------------------

    def _moved(self, hint: Hint, item: Instruction) -> str:
        if not shell_run(item):
            return f"{item.keyword} moves them: no automatic fix"
        for command in run_commands(item.original):
            args = [w for w in command.words[1:] if not w.startswith("-")]
            if command.name != "mv" or len(args) != 2:
                continue
            source, dest = (self.scope.resolve(item, a) for a in args)
            if not any(overlaps(dest, p) for p in hint.paths):
                continue
            origin = self._copy_to(item, source)
            if origin is None:
                return f"no COPY/ADD to {source} before line {item.line}: make them at {dest} where they are made"
            fix = self._fix(("mv", item, command.start), hint, item, f"COPY to {dest} at line {origin.line}, no `mv`",
                            self._move_review(origin, item, source, dest))  # fmt: skip
            fix.scope.append(dest)
            fix.apply = lambda draft, label, o=origin, d=dest, c=command: _copy_straight(draft, o, d, item, c, label)
            return ""
        return "no `mv A B` making these paths in its RUN"

    def _move_review(self, origin: Instruction, item: Instruction, source: str, dest: str) -> str:
        """Why COPY straight to ``dest`` may not give the same file system as COPY to ``source`` then mv."""
        review = self._named_by(
            self._between(origin, item), [source, dest], f"between lines {origin.line} and {item.line}"
        )
        for folder in (posixpath.dirname(source), posixpath.dirname(dest)):
            if not review and not self._exists_before(origin, folder):
                review = f"{folder} is not there before line {origin.line}: the COPY would make it"
        if not review and (self._exists_before(item, dest) or self._existed_before(item, dest)):
            review = f"{dest} exists before line {item.line}: `mv` moves into it"
        return review


def _copy_straight(
    draft: Draft, origin: Instruction, dest: str, item: Instruction, command: Command, label: str
) -> None:
    """``COPY … A`` + ``cp``/``mv A B`` in a later RUN -> ``COPY … B``, and the ``cp``/``mv`` removed."""
    text = draft.source(origin)
    draft.set(origin, text[: text.rstrip().rfind(" ") + 1] + dest, label)
    for current in draft.commands(item):
        if current.words == command.words:
            draft.remove(item, current, label)
            return
