"""Provides :func:`plan_fixes`: the Dockerfile edits that close an image's hints, each exact or for review.

Per hint, at the instruction that made its layer (:class:`~dive_py.dockerfile.lines.DockerfileLines`):

- ``package-cache``: apt lists and archives removed in the RUN that installs (``apt-get clean && rm -rf
  /var/lib/apt/lists/*``), ``pip install --no-cache-dir``, ``apk add --no-cache``, ``npm cache clean
  --force``, ``yarn cache clean``, else the cache's folders removed in that RUN;
- ``temp-files``: the files removed in the RUN that made them;
- ``deleted-later``: the later ``rm`` folded into the RUN that made the files (a RUN left empty is dropped);
- ``metadata-only``: ``COPY`` + ``RUN chown/chmod -R`` on what it copied -> ``COPY --chown``/``--chmod``
  (``--chmod`` only when the build uses BuildKit: the legacy builder rejects it);
- ``duplicate-content``: ``cp -r A B`` -> ``COPY … B`` when a COPY made A, else ``mv A B``, when no later
  instruction reads A; ``moved``: ``COPY … A`` + ``RUN mv A B`` -> ``COPY … B`` (:mod:`dive_py.fixes.copies`).

A fix is *exact* when the final file system provably stays the same outside the hint's paths: what it
removes lies under them, and no instruction between the old and the new place of a command (nor after it,
for caches) names those paths. The others are *for review*: printed as comments, applied only on request.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dive_py.analysis.hints import Hint
from dive_py.dockerfile.parse import Instruction
from dive_py.fixes.commands import (
    APK,
    PIP,
    apt_clean,
    cache_name,
    cache_roots,
    drop_targets,
    ownership,
    rewrite,
    shell_run,
)
from dive_py.fixes.copies import CopyFixes
from dive_py.fixes.edits import Apply, Draft, add_flag, run_commands
from dive_py.fixes.paths import Scope, overlaps
from dive_py.fixes.shell import Command, join_words
from dive_py.format import size as format_bytes
from dive_py.model import Image
from dive_py.safe_text import visible

TEMP_ROOTS = ("/tmp", "/var/tmp")


@dataclass
class Fix:
    """One change that closes one or more hints."""

    hints: list[Hint]
    summary: str
    exact: bool
    why_review: str = ""
    """Why the fix is not exact (empty when it is)."""
    apply: Apply | None = field(default=None, repr=False)
    """``apply(draft, label)``: makes the edit; None when there is only advice."""
    instruction: Instruction | None = None
    scope: list[str] = field(default_factory=list)
    """The in-image paths the fix may change (its hints' paths and the folders it cleans)."""

    @property
    def bytes(self) -> int:
        """The bytes of the hints the fix closes."""
        return sum(hint.bytes for hint in self.hints)

    @property
    def label(self) -> str:
        """What the fix closes, as one line of visible text."""
        kinds = ", ".join(dict.fromkeys(hint.kind for hint in self.hints))
        paths = ", ".join(dict.fromkeys(path for hint in self.hints for path in hint.paths[:2]))
        return visible(f"closes {kinds} {paths} ({format_bytes(self.bytes)})")


@dataclass
class FixPlan:
    """The fixes of one image's hints, in Dockerfile order, and the hints no edit closes."""

    fixes: list[Fix]
    unfixed: list[tuple[Hint, str]]
    buildkit: bool

    def exact(self) -> list[Fix]:
        """The fixes safe to apply as they are."""
        return [fix for fix in self.fixes if fix.exact]

    def review(self) -> list[Fix]:
        """The fixes a person should review before applying."""
        return [fix for fix in self.fixes if not fix.exact]

    def draft(self, text: str, include_review: bool = False) -> Draft:
        """The Dockerfile's edits: the exact fixes (and the others with ``include_review``)."""
        draft = Draft(text)
        for fix in self.fixes:
            if fix.apply is not None and (fix.exact or include_review):
                fix.apply(draft, fix.label)
        return draft


def plan_fixes(
    hints: Sequence[Hint],
    layers: Sequence[Instruction | None],
    stage: Sequence[Instruction],
    image: Image,
    buildkit: bool,
) -> FixPlan:
    """The fixes of ``hints``.

    Args:
        hints: the image's hints.
        layers: per layer of the image, the instruction that made it (None: the base image's).
        stage: the instructions of the stage that built the image, in order (FROM first or not).
        image: the image (which layers hold which paths).
        buildkit: whether the build uses BuildKit (``COPY --chmod``).
    """
    planner = _Planner(list(stage), layers, image, buildkit)
    for hint in sorted(hints, key=lambda h: (h.layer, h.kind)):
        item = layers[hint.layer] if 0 <= hint.layer < len(layers) else None
        if item is None:
            planner.unfixed.append((hint, "its layer matches no instruction (the base image's, or a mismatch)"))
            continue
        if not all(path.isprintable() and "\\" not in path for path in hint.paths):
            planner.unfixed.append((hint, "a path has control characters: not written into the Dockerfile"))
            continue
        planner.plan(hint, item)
    fixes = sorted(planner.fixes.values(), key=lambda f: f.instruction.line if f.instruction else 0)
    return FixPlan(fixes, planner.unfixed, buildkit)


class _Planner(CopyFixes):
    def __init__(self, stage: list[Instruction], layers: Sequence[Instruction | None], image: Image, buildkit: bool):
        self.stage = stage
        self.layers = list(layers)
        self.image = image
        self.buildkit = buildkit
        self.scope = Scope(stage)
        self.fixes: dict[tuple[object, ...], Fix] = {}
        self.unfixed: list[tuple[Hint, str]] = []

    def plan(self, hint: Hint, item: Instruction) -> None:
        handler = {
            "package-cache": self._cache,
            "temp-files": self._temp,
            "deleted-later": self._deleted,
            "metadata-only": self._metadata,
            "duplicate-content": self._copy,
            "moved": self._moved,
        }.get(hint.kind)
        reason = handler(hint, item) if handler else f"no automatic fix for {hint.kind}: {hint.fix}"
        if reason:
            self.unfixed.append((hint, reason))

    # -- caches and temp files: cleaned in the RUN that fills them --------------------------------------

    def _cache(self, hint: Hint, item: Instruction) -> str:
        if not shell_run(item):
            return f"{item.keyword} is not a shell-form RUN"
        name = cache_name(hint)
        roots = cache_roots(hint)
        review = self._read_later(item, roots)
        if name in ("apt_lists", "apt_archives"):
            later_apt = [i for i in self._after(item) if re.search(r"\bapt(-get)?\s+install\b", i.value)]
            if later_apt and not any(re.search(r"\bapt(-get)?\s+update\b", i.value) for i in later_apt):
                review = review or f"line {later_apt[0].line} installs with apt without `apt-get update`"
            fix = self._fix(
                ("apt", item), hint, item, "clean apt's lists and archives in the RUN that installs", review
            )
            fix.scope.extend(roots)
            fix.apply = lambda draft, label, fix=fix: draft.append(item, apt_clean(fix.hints), label)
            return ""
        flag = {"pip": PIP, "apk": APK}.get(name)
        if flag is not None and flag[0].search(item.original):
            pattern, repl, what = flag
            fix = self._fix((name, item), hint, item, what, review)
            fix.scope.extend(roots)
            extra = name == "apk" and re.search(r"\bapk\s+update\b", item.original)
            fix.apply = lambda draft, label: rewrite(draft, item, pattern, repl, label, extra)
            return ""
        command = {"npm": "npm cache clean --force", "yarn": "yarn cache clean"}.get(name)
        summary = (
            f"`{command}` in the RUN that fills the cache" if command else "remove the cache in the RUN that fills it"
        )
        fix = self._fix((name, item), hint, item, summary, review)
        fix.scope.extend(roots)

        def apply(draft: Draft, label: str) -> None:
            # Every hint of this cache and RUN: their folders, read when the edit is made.
            folders = list(dict.fromkeys(root for h in fix.hints for root in cache_roots(h)))
            draft.append(item, command or "rm -rf " + join_words(folders), label)

        fix.apply = apply
        return ""

    def _temp(self, hint: Hint, item: Instruction) -> str:
        if not shell_run(item):
            return f"{item.keyword} adds them: copy them elsewhere or use a build stage"
        review = self._read_later(item, list(hint.paths))
        fix = self._fix(("temp", item), hint, item, "remove the temporary files in the RUN that makes them", review)

        def apply(draft: Draft, label: str) -> None:
            targets = [p + "/*" if p in TEMP_ROOTS else p for h in fix.hints for p in h.paths]
            draft.append(item, "rm -rf " + join_words(list(dict.fromkeys(targets))), label)

        fix.apply = apply
        return ""

    # -- deleted later: the rm moves up into the RUN that made the files --------------------------------

    def _deleted(self, hint: Hint, item: Instruction) -> str:
        found = self._deleter(hint, item)
        if found is None:
            return "no later `rm` of these paths found in the stage"
        later, command, targets = found
        if not shell_run(item):
            return f"{item.keyword} adds them and line {later.line} deletes them: leave them out of the copy"
        between = self._between(item, later)
        review = self._named_by(between, targets, f"between lines {item.line} and {later.line}")
        rest = [c for c in run_commands(later.original) if c != command]
        if not review and any(self.scope.names(later, c.words, targets) for c in rest if c.start < command.start):
            review = f"line {later.line} reads them before it deletes them"
        summary = f"delete them in the RUN that makes them (line {item.line}), not at line {later.line}"
        fix = self._fix(("deleted", item, later), hint, item, summary, review)
        fix.scope.extend(t for t in targets if t not in fix.scope)

        def apply(draft: Draft, label: str) -> None:
            # Every hint folded from this later RUN into this one: their targets, read when the edit is made.
            moved = [t for t in fix.scope if any(t == r for h in fix.hints for r in self._targets_of(h, later))]
            draft.append(item, "rm -rf " + join_words(moved), label)
            if not self._others_write(moved, item, later):
                drop_targets(draft, later, moved, label, self.scope)

        fix.apply = apply
        return ""

    def _targets_of(self, hint: Hint, later: Instruction) -> list[str]:
        """The words of ``later``'s ``rm`` commands (resolved) that delete the hint's paths."""
        found = []
        for command in run_commands(later.original):
            if command.name == "rm":
                for word in command.words[1:]:
                    resolved = self.scope.resolve(later, word)
                    if not word.startswith("-") and any(overlaps(resolved, p) for p in hint.paths):
                        found.append(resolved)
        return found

    def _deleter(self, hint: Hint, item: Instruction) -> tuple[Instruction, Command, list[str]] | None:
        for later in self._after(item):
            for command in run_commands(later.original) if shell_run(later) else []:
                if command.name != "rm":
                    continue
                args = [w for w in command.words[1:] if not w.startswith("-")]
                targets = [w for w in args if any(overlaps(self.scope.resolve(later, w), p) for p in hint.paths)]
                if targets:
                    return later, command, [self.scope.resolve(later, w) for w in targets]
        return None

    def _others_write(self, targets: list[str], item: Instruction, later: Instruction) -> bool:
        """Whether a layer other than ``item``'s, before ``later``, holds files under ``targets``."""
        own = {index for index, made in enumerate(self.layers) if made == item}
        until = min((index for index, made in enumerate(self.layers) if made == later), default=len(self.layers))
        roots = [t.strip("/").rstrip("*").rstrip("/") for t in targets]
        for index in range(until):
            if index in own:
                continue
            for path in self.image.layers[index].scan.entries:
                if any(path == root or path.startswith(root + "/") for root in roots):
                    return True
        return False

    # -- chmod/chown -R after a COPY: the COPY's flags ---------------------------------------------------

    def _metadata(self, hint: Hint, item: Instruction) -> str:
        if not shell_run(item):
            return f"{item.keyword} stores them again: no automatic fix"
        commands = run_commands(item.original)
        owned = [(c, ownership(c)) for c in commands]
        changes = [(c, flag, target) for c, found in owned if found for flag, target in [found]]
        if not changes:
            return "no `chmod -R`/`chown -R` in its RUN"
        target = self.scope.resolve(item, changes[0][2])
        copy = self._copy_to(item, target)
        if copy is None:
            return f"no COPY/ADD to {target} before line {item.line}"
        flags = [flag for _c, flag, t in changes if self.scope.resolve(item, t) == target]
        if any(f.startswith("--chmod") for f in flags) and not self.buildkit:
            return "`COPY --chmod` needs BuildKit; this image was built by the legacy builder"
        review = self._named_by(self._between(copy, item), [target], f"between lines {copy.line} and {item.line}")
        if not review and self._existed_before(copy, target):
            review = f"{target} held files before line {copy.line}: `-R` changed those too"
        parent = posixpath.dirname(target.rstrip("/")) or "/"
        if not review and self.buildkit and not self._exists_before(copy, parent):
            review = f"BuildKit gives the folders COPY creates ({parent}) the same owner and mode"
        if not review and len(changes) < len(commands):
            review = f"line {item.line} does more than chmod/chown"
        summary = f"`COPY {' '.join(flags)}` at line {copy.line} instead of line {item.line}'s RUN"
        fix = self._fix(("meta", item), hint, copy, summary, review)
        fix.scope.append(target)

        def apply(draft: Draft, label: str) -> None:
            source = draft.source(copy)
            for flag in flags:
                source = add_flag(copy, source, flag)
            draft.set(copy, source, label)
            for command, _flag, _t in reversed(changes):
                current = [c for c in draft.commands(item) if c.words == command.words]
                if current:
                    draft.remove(item, current[0], label)

        fix.apply = apply
        return ""

    # -- helpers -----------------------------------------------------------------------------------------

    def _fix(self, key: tuple[object, ...], hint: Hint, item: Instruction, summary: str, why_review: str) -> Fix:
        fix = self.fixes.get(key)
        if fix is None:
            fix = self.fixes[key] = Fix([], summary, not why_review, why_review, None, item)
        elif why_review and fix.exact:
            fix.exact, fix.why_review = False, why_review
        fix.hints.append(hint)
        fix.scope.extend(p for p in hint.paths if p not in fix.scope)
        return fix

    def _after(self, item: Instruction) -> list[Instruction]:
        return self.stage[self.stage.index(item) + 1 :] if item in self.stage else []

    def _between(self, first: Instruction, last: Instruction) -> list[Instruction]:
        if first not in self.stage or last not in self.stage:
            return []
        return self.stage[self.stage.index(first) + 1 : self.stage.index(last)]

    def _named_by(self, items: list[Instruction], paths: list[str], where: str) -> str:
        for other in items:
            if self.scope.touches(other, paths):
                named = next((path for path in paths if self.scope.touches(other, [path])), paths[0])
                return f"line {other.line} ({other.keyword}) {where} names {named}"
        return ""

    def _read_later(self, item: Instruction, paths: list[str]) -> str:
        """Which later instruction may read ``paths`` (removed at the end of ``item``): COPY, ADD and WORKDIR only
        write their destination, which removing files before them cannot change."""
        readers = [other for other in self._after(item) if other.keyword not in ("COPY", "ADD", "WORKDIR")]
        return self._named_by(readers, self._removed_by(item, paths), "after it")

    def _removed_by(self, item: Instruction, roots: list[str]) -> list[str]:
        """What removing ``roots`` at the end of ``item`` removes: the paths under them in the image up to
        ``item``'s layer (a later ``mv /tmp/x`` does not read the ``/tmp/y`` removed), else ``roots``."""
        last = max((index for index, made in enumerate(self.layers) if made == item), default=-1)
        prefixes = tuple(root.strip("/").removesuffix("/*").rstrip("/") + "/" for root in roots)
        found = {
            "/" + path
            for index in range(last + 1)
            for path in self.image.layers[index].scan.entries
            if path.startswith(prefixes)
        }
        return sorted(found) or list(roots)

    def _copy_to(self, item: Instruction, target: str) -> Instruction | None:
        """The latest COPY/ADD before ``item`` (no ``--from``) whose destination is ``target``."""
        before = self.stage[: self.stage.index(item)] if item in self.stage else []
        for other in reversed(before):
            if other.keyword in ("COPY", "ADD") and not other.json and other.args:
                if self.scope.resolve(other, other.args[-1]).rstrip("/") == target.rstrip("/"):
                    return other
        return None

    def _exists_before(self, copy: Instruction, folder: str) -> bool:
        """Whether ``folder`` is in the file system before ``copy``'s layer (``/`` always is)."""
        first = min((i for i, made in enumerate(self.layers) if made == copy), default=0)
        root = folder.strip("/")
        return not root or any(root in self.image.layers[index].scan.entries for index in range(first))

    def _existed_before(self, copy: Instruction, target: str) -> bool:
        first = min((i for i, made in enumerate(self.layers) if made == copy), default=0)
        root = target.strip("/")
        return any(
            path.startswith(root + "/") for index in range(first) for path in self.image.layers[index].scan.entries
        )
