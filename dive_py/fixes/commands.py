"""Provides what the fixes write into a RUN: the cache-cleaning commands, the flag rewrites, the ``rm`` moves.

Each helper reads or edits one instruction's text; :mod:`dive_py.fixes.plan` decides which to use where.
"""

from __future__ import annotations

import re

from dive_py.analysis.hints import Hint
from dive_py.analysis.tree_walk import CACHES
from dive_py.dockerfile.parse import Instruction
from dive_py.fixes.edits import Draft, run_commands
from dive_py.fixes.paths import Scope
from dive_py.fixes.shell import Command, join_words, readable

PIP = (
    re.compile(r"\b(pip3?(?:\.\d+)?|python3?(?:\.\d+)? -m pip) install\b(?![^&;|]*--no-cache-dir)"),
    r"\1 install --no-cache-dir",
    "`pip install --no-cache-dir`",
)
APK = (
    re.compile(r"\bapk add\b(?![^&;|]*--no-cache)"),
    "apk add --no-cache",
    "`apk add --no-cache`",
)


def rewrite(
    draft: Draft, item: Instruction, pattern: re.Pattern[str], repl: str, label: str, apk_update: object
) -> None:
    """Rewrites the RUN with ``pattern``; a true ``apk_update`` (the RUN runs ``apk update``) also cleans its index."""
    text = pattern.sub(repl, draft.source(item))
    draft.set(item, text, label)
    if apk_update:  # `apk update` filled /var/cache/apk: --no-cache alone leaves that index behind
        draft.append(item, "rm -rf /var/cache/apk/*", label)


def apt_clean(hints: list[Hint]) -> str:
    """The apt cleanup the hints' caches call for (``apt-get clean``, the lists removed)."""
    names = {name for hint in hints for name in cache_names(hint)}
    parts = (["apt-get clean"] if "apt_archives" in names else []) + (
        ["rm -rf /var/lib/apt/lists/*"] if "apt_lists" in names else []
    )
    return " && ".join(parts)


def cache_names(hint: Hint) -> list[str]:
    """The caches (:data:`CACHES`' group names) a hint's paths lie in, biggest path first."""
    names = []
    for path in hint.paths:
        found = CACHES.match(path.lstrip("/") + "/")
        if found is not None and found.lastgroup and found.lastgroup not in names:
            names.append(found.lastgroup)
    return names


def cache_name(hint: Hint) -> str:
    """The name of the first cache a hint's paths are in, or empty."""
    names = cache_names(hint)
    return names[0] if names else ""


def cache_roots(hint: Hint) -> list[str]:
    """The cache folders a hint's paths lie in (``/var/cache/apt``), else the paths themselves."""
    roots = []
    for path in hint.paths:
        found = CACHES.match(path.lstrip("/") + "/")
        name = found.lastgroup if found is not None else None
        roots.append("/" + found.group(name) if found is not None and name else path)
    return list(dict.fromkeys(roots))


def shell_run(item: Instruction) -> bool:
    """Whether an instruction is a shell-form RUN whose commands can be read."""
    return item.keyword == "RUN" and not item.json and readable(item.value) and bool(run_commands(item.original))


def ownership(command: Command) -> tuple[str, str] | None:
    """``("--chmod=755", "/opt/x")`` for ``chmod -R 755 /opt/x`` (octal modes only), likewise chown."""
    words = list(command.words)
    if command.name not in ("chmod", "chown") or "-R" not in words:
        return None
    args = [w for w in words[1:] if not w.startswith("-")]
    if len(args) != 2:
        return None
    value, target = args
    if command.name == "chmod":
        return (f"--chmod={value}", target) if re.fullmatch(r"[0-7]{3,4}", value) else None
    return (f"--chown={value}", target) if re.fullmatch(r"[\w.-]+(:[\w.-]+)?", value) else None


def drop_targets(draft: Draft, later: Instruction, targets: list[str], label: str, scope: Scope) -> None:
    """Removes ``targets`` from the later RUN's ``rm`` (the whole command when nothing else is left)."""
    for command in draft.commands(later):
        if command.name != "rm":
            continue
        kept = [w for w in command.words[1:] if w.startswith("-") or scope.resolve(later, w) not in targets]
        if [w for w in kept if not w.startswith("-")] == [w for w in command.words[1:] if not w.startswith("-")]:
            continue
        if not [w for w in kept if not w.startswith("-")]:
            draft.remove(later, command, label)
        else:
            text = draft.source(later)
            draft.set(later, text[: command.start] + join_words(["rm", *kept]) + text[command.end :], label)
        return
