"""The floor plan in figures: largest files and functions, import cycles, and imports that climb a floor.

Usage: ``venv/bin/python bench/structure.py [ROOT]`` (default: this checkout). Reads the product's Python
files (tests, fakes, benchmarks and scripts excluded) with :mod:`ast`; runs nothing of the project.

Floors, from the ground up: ``config`` and ``workflows.scripts`` < ``components`` < ``workflows``, ``ops``,
``policy`` < ``program`` (and ``__main__``), by the folder a module lives in. ``workflows/scripts/`` are the
standard-library-only scripts the generated workflows inline: they import nothing of the project but each
other, so they stand on the ground floor, and the Railway provider reuses CI's deploy checks from there. An
import from a lower floor into a higher one is an *upward import*; the goal is 0.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PRODUCT = ("config", "components", "workflows", "ops", "policy")
FLOORS = {"config": 0, "components": 1, "workflows": 2, "ops": 2, "policy": 2, "program": 3, "__main__": 3}


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    for top in (*PRODUCT, "program.py", "__main__.py"):
        path = root / top
        files = [path] if path.is_file() else sorted(path.rglob("*.py")) if path.is_dir() else []
        for file in files:
            parts = file.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, file


#: Folders whose floor is not their top folder's (see the module docstring).
SUBFLOORS = {"workflows.scripts": 0}


def floor(module: str) -> int:
    for prefix, level in SUBFLOORS.items():
        if module == prefix or module.startswith(prefix + "."):
            return level
    return FLOORS.get(module.split(".")[0], -1)


def imports(tree: ast.AST, names: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def main(root: Path) -> None:
    files = dict(modules(root))
    names = set(files)
    graph: dict[str, set[str]] = {}
    functions: list[tuple[int, str]] = []
    sizes: list[tuple[int, str]] = []
    for name, path in files.items():
        text = path.read_text()
        tree = ast.parse(text)
        sizes.append((len(text.splitlines()), str(path.relative_to(root))))
        # an __init__ that re-exports its own submodules is not a cycle of the design
        graph[name] = {m for m in imports(tree, names) if m != name and not m.startswith(name + ".")}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                functions.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(root)}:{node.name}"))
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if -1 < floor(a) < floor(b))
    print(f"product modules: {len(files)}, lines: {sum(n for n, _ in sizes)}")
    print("largest files:", ", ".join(f"{p} ({n})" for n, p in sorted(sizes, reverse=True)[:3]))
    print("largest functions:", ", ".join(f"{p} ({n})" for n, p in sorted(functions, reverse=True)[:5]))
    found = cycles(graph)
    print(f"import cycles: {len(found)}", *(" <-> ".join(c) for c in found), sep="\n  " if found else "")
    print(f"upward imports: {len(upward)}", *upward, sep="\n  " if upward else "")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
