"""The package's architecture, checked: dependencies one way (the import-linter ``layers`` contract in
pyproject.toml), no import cycle between modules counting imports inside functions, no ``replication`` import
inside a function, a docstring in every part saying what it owns and may import, and no module over 400 lines."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "replication"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """The package modules ``path`` imports, each with whether the import sits inside a function."""
    out = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((a.name, inside) for a in child.names if a.name.startswith("replication"))
            elif (isinstance(child, ast.ImportFrom) and child.level == 0
                  and (child.module or "").startswith("replication")):
                for a in child.names:  # ``from replication.x import y`` imports the module y when it is one
                    sub = f"{child.module}.{a.name}"
                    out.append((sub if sub in known else child.module, inside))
            visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_layers_contract_is_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_no_import_cycle_counting_imports_inside_functions():
    mods = modules()
    graph = {m: {dep for dep, _ in imports(p, set(mods)) if dep in mods and dep != m} for m, p in mods.items()}
    assert sum(map(len, graph.values())) > 100  # the walk sees the package's imports
    assert cycles(graph) == []


def test_no_package_import_inside_a_function():
    mods = modules()
    inside = {m: sorted({dep for dep, fn in imports(p, set(mods)) if fn}) for m, p in mods.items()}
    assert {m: deps for m, deps in inside.items() if deps} == {}


def test_every_part_says_what_it_owns_and_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        if init.parent.name == "data":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, init


def test_no_module_over_400_lines():
    long = {m: n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
