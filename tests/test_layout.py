"""The package's shape: no import circle anywhere in ``automation/``, no module over
400 lines. Imports are read from the source (function-level ones too, since they tie
modules together as much as top-level ones); ``from automation.pkg import name`` is an
arrow to the package's ``__init__`` unless ``name`` is a module of it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "automation"
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{source}.{alias.name}"
                targets.add(full if full in known else source)
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    found = circles(graph)
    arrows = sum(len(targets) for targets in graph.values())
    print(f"{len(known)} modules, {arrows} imports, {len(found)} circles")
    assert not found, "import circles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_packages_import_one_way() -> None:
    """No circle between packages either (``events`` → ``customers`` → ``events``…): the
    layers of docs/architecture.md, each importing only those below it."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        source = package_of(name)
        targets = {package_of(target) for target in imports(name, path, known)}
        graph.setdefault(source, set()).update(targets - {source})
    found = circles(graph)
    assert not found, "package circles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def package_of(name: str) -> str:
    """``automation.events.imports.rows`` → ``automation.events``."""
    return ".".join(name.split(".")[:2])


def test_the_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_module_over_400_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, "split by what their parts do: " + ", ".join(
        f"{name} ({n} lines)" for name, n in sorted(long.items())
    )
