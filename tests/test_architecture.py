"""The package's shape: no import cycles between modules, no module over 500 lines, a headless command line.

The import graph is read from the source with ``ast``: every ``import`` and ``from ... import`` anywhere in
a module, inside functions and ``TYPE_CHECKING`` blocks too, so a cycle hidden in a function body counts.
The package-level direction (which package may import which) is in pyproject.toml's import-linter contracts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.paths import REPO, child_env
from tests.fixtures.stand_ins import built

PACKAGE = REPO / "dive_py"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import names (relative imports resolved against the importer)."""
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def known(name: str) -> str | None:
    """The dive_py module ``name`` is, or is inside (``dive_py.model.FileEntry`` is ``dive_py.model``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str) -> set[str]:
    """Every dive_py module that ``name`` imports, anywhere in its body.

    ``import a.b.c`` also runs ``a`` and ``a.b``, but an edge to each package ``__init__`` on the way would
    make every sub-module that its package imports look like a cycle: the edge goes to the module named.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"), str(MODULES[name]))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, node)
            targets = [f"{base}.{alias.name}" for alias in node.names]  # a sub-module, or a name in base
        else:
            continue
        for target in targets:
            module = known(target)
            if module and module != name:
                found.add(module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "dive_py.layers.scan" in graph and "dive_py.model" in graph["dive_py.layers.scan"]
    # dive_py.cli.main starts the explorer from inside a function: that edge must be in the graph
    assert any(target.startswith("dive_py.ui") for target in graph["dive_py.cli.main"])
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles between modules:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_module_over_500_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    over = {name: lines for name, lines in sorted(sizes.items()) if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


DOMAIN = {name: path for name, path in MODULES.items() if name.split(".")[1:2] not in (["ui"], ["cli"])}
DOMAIN_MAX_LINES = 400
MAX_FUNCTION_LINES = 60


def test_the_domain_is_small_modules_of_short_functions() -> None:
    """Issue 26: no domain module over 400 lines, no function over 60 (docstring included); ruff's C901 the
    complexity."""
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in DOMAIN.items()}
    assert not {name: n for name, n in sizes.items() if n > DOMAIN_MAX_LINES}
    long = {}
    for name, path in DOMAIN.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
    assert len(DOMAIN) > 100 and "dive_py.layers.tarscan" in DOMAIN  # the walk sees the package


HEADLESS_IMPORTS = [
    "dive_py.cli.main",
    "dive_py.cli.diff",
    "dive_py.cli.build",
    "dive_py.ui",  # the package itself loads Textual lazily
    "dive_py.trees.rows",
    *sorted(name for name in MODULES if name.split(".")[1:2] not in (["ui"], ["cli"], ["__main__"])),
]


def test_the_command_line_and_the_domain_import_without_textual() -> None:
    """Importing the command line, the ui package and every domain module leaves Textual unloaded."""
    code = (
        "import importlib, sys\n"
        f"for name in {HEADLESS_IMPORTS!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'textual' not in sys.modules, f'{name} imported textual'\n"
        "print('HEADLESS')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=child_env(), capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "HEADLESS", done.stderr[-2000:]


@pytest.mark.parametrize(
    "argv",
    [
        ["--ci", "IMAGE"],
        ["--ci", "--json", "out.json", "IMAGE"],
        ["diff", "IMAGE", "IMAGE", "--json", "diff.json"],
    ],
    ids=["ci", "ci-json", "diff-json"],
)
def test_the_ci_paths_run_without_textual(argv: list[str], tmp_path: Path) -> None:
    """A whole --ci run (load, analysis, rules, report) never loads Textual."""
    image = str(built("test-docker-image.tar"))
    argv = [image if arg == "IMAGE" else arg for arg in argv]
    code = (
        "import sys; from dive_py.cli.main import main\n"
        f"rc = main({argv!r})\n"
        "print('TEXTUAL' if 'textual' in sys.modules else 'HEADLESS', rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=child_env(), capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1:] in (["HEADLESS 0"], ["HEADLESS 1"]), done.stderr[-2000:]
