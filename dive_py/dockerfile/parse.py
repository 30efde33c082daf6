"""Provides :func:`parse_dockerfile`: a Dockerfile's stages and instructions, each with its lines.

The parsing is BuildKit's own (the ``dockerfile`` package wraps its Go parser), so continuation lines,
heredocs, escape directives and JSON forms are read exactly as ``docker build`` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dive_py.errors import DivepyError

INSTALL_HINT = "pip install 'divepy[dockerfile]'"


@dataclass(frozen=True)
class Instruction:
    """One instruction of a Dockerfile, where it is and what it says."""

    path: str
    """The Dockerfile's path as given."""
    line: int
    """1-based first line."""
    end_line: int
    """1-based last line (continuations, heredocs)."""
    keyword: str
    """Upper case: RUN, COPY, ADD, ENV, ... (``ONBUILD`` keeps its trigger in :attr:`value`)."""
    value: str
    """The arguments after the keyword as written, flags included, continuation lines joined."""
    flags: tuple[str, ...]
    """The ``--name=value`` flags, e.g. ``('--chown=1000:1000',)``."""
    stage: str
    """The stage's name, or its index as a string when it has none."""
    stage_index: int
    original: str
    """The exact source text of lines :attr:`line` .. :attr:`end_line`."""
    args: tuple[str, ...] = ()
    """The arguments as BuildKit splits them (flags left out; a shell-form RUN is one argument)."""
    json: bool = False
    """Written in JSON (exec) form."""

    @property
    def text(self) -> str:
        """``KEYWORD value`` on one line, as reports show it."""
        first = self.value.split("\n", 1)[0]  # a heredoc's body stays out
        return " ".join(f"{self.keyword} {first}".split())


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` and the instructions under it (the ``FROM`` itself first)."""

    index: int
    name: str | None
    base: str
    """The image or stage named by ``FROM`` as written (``${ARG}`` left unexpanded)."""
    instructions: tuple[Instruction, ...]

    @property
    def label(self) -> str:
        """The stage's name, or its index when unnamed (as ``--target`` and ``COPY --from`` name it)."""
        return self.name if self.name is not None else str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile."""

    path: str
    text: str
    stages: tuple[Stage, ...]
    global_args: tuple[Instruction, ...] = ()
    """The ``ARG`` instructions before the first ``FROM``."""

    def stage(self, target: str | None) -> Stage:
        """The stage named (or numbered) ``target``; the last one when None.

        Raises:
            DivepyError: no stage has that name.
        """
        if target is None:
            return self.stages[-1]
        found = self.base_stage(target)
        if found is None:
            names = ", ".join(stage.label for stage in self.stages)
            raise DivepyError(f"{self.path}: no stage named {target!r} (stages: {names})")
        return found

    def base_stage(self, ref: str) -> Stage | None:
        """The stage a ``FROM`` or ``--from`` names (stage names are case-insensitive), or None."""
        lowered = ref.lower()
        for stage in self.stages:
            if stage.name is not None and stage.name.lower() == lowered:
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def chain(self, target: str | None) -> list[Stage]:
        """The stages whose instructions built ``target``'s image, oldest first (``FROM stage`` follows it)."""
        stages = [self.stage(target)]
        while len(stages) <= len(self.stages):
            base = self.base_stage(self.expand(stages[0].base))
            if base is None or base.index >= stages[0].index:
                break
            stages.insert(0, base)
        return stages

    def expand(self, text: str) -> str:
        """``text`` with ``$NAME``/``${NAME}`` replaced by the defaults of the ARGs before the first FROM (what a
        ``FROM ${BASE}`` names when no ``--build-arg`` changes it); unknown names are left as written."""
        defaults = {}
        for item in self.global_args:
            for arg in item.args:
                name, eq, value = arg.partition("=")
                if eq:
                    defaults[name] = value.strip('"')

        def default_of(found: re.Match[str]) -> str:
            name = found.group(1) or found.group(2)
            return defaults.get(name, found.group(0))

        return _REF.sub(default_of, text)


_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def parse_dockerfile(path: str) -> Dockerfile:
    """Reads and parses the Dockerfile at ``path``.

    Raises:
        DivepyError: the file cannot be read, is not a Dockerfile, or the parser is not installed (one line).
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise DivepyError(f"cannot read the Dockerfile {path}: {error.strerror or error}") from None
    return parse_text(raw.decode("utf-8", errors="replace"), path)


def parse_text(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parses a Dockerfile's text; ``path`` is how instructions name it."""
    commands = _parse(text, path)
    lines = text.splitlines(keepends=True)
    stages: list[Stage] = []
    global_args: list[Instruction] = []
    current: list[Instruction] = []
    name: str | None = None
    base = ""
    for command in commands:
        keyword = command.cmd.upper()
        if keyword == "FROM":
            if stages or current:
                stages.append(Stage(len(stages), name, base, tuple(current)))
            base, name = _from_args(command.value)
            current = []
        label = name if name is not None else str(len(stages))
        instruction = _instruction(command, keyword, path, lines, label, len(stages))
        if keyword == "ARG" and not stages and not current and not base:
            global_args.append(instruction)
        else:
            current.append(instruction)
    if not base:
        raise DivepyError(f"{path}: not a Dockerfile (no FROM instruction)")
    stages.append(Stage(len(stages), name, base, tuple(current)))
    return Dockerfile(path, text, tuple(stages), tuple(global_args))


def _parse(text: str, path: str) -> tuple[Any, ...]:
    """BuildKit's parse of ``text``; one-line errors."""
    try:
        import dockerfile
    except ImportError:
        raise DivepyError(f"reading Dockerfiles needs the dockerfile package: {INSTALL_HINT}") from None
    try:
        commands: tuple[Any, ...] = dockerfile.parse_string(text)  # of dockerfile.Command (no type information)
        return commands
    except dockerfile.GoParseError as error:
        message = " ".join(str(error).split()) or "unparsable"
        raise DivepyError(f"{path}: not a readable Dockerfile: {message}") from None


def _from_args(value: tuple[str, ...]) -> tuple[str, str | None]:
    """The base and the stage name of ``FROM base [AS name]``."""
    base = value[0] if value else ""
    name = value[2] if len(value) >= 3 and value[1].lower() == "as" else None
    return base, name


def _instruction(command: Any, keyword: str, path: str, lines: list[str], stage: str, index: int) -> Instruction:
    """An :class:`Instruction` from the parser's command."""
    original = "".join(lines[command.start_line - 1 : command.end_line]).rstrip("\r\n")
    parts = command.original.split(None, 1)
    value = parts[1].rstrip("\n") if len(parts) > 1 else ""
    return Instruction(
        path=path,
        line=command.start_line,
        end_line=command.end_line,
        keyword=keyword,
        value=value,
        flags=tuple(command.flags),
        stage=stage,
        stage_index=index,
        original=original,
        args=tuple(command.value),
        json=bool(command.json),
    )
