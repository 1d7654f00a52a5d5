"""The package's structure in numbers: import cycles, the largest module, the longest function,
and the lines of logic of each CLI command module.

    python bench/structure.py [PACKAGE_DIR]

Reads the source with ``ast`` (relative and absolute imports, lazy ones too); runs nothing.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path


def _module(package: Path, path: Path) -> str:
    parts = list(path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(package: Path, path: Path, modules: set[str]) -> set[str]:
    own = _module(package, path)
    base = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*anchor, *([node.module] if node.module else [])])
        elif node.module and node.module.startswith("newsletter"):
            target = node.module.removeprefix("newsletter").lstrip(".")
        else:
            continue
        for alias in node.names:
            sub = f"{target}.{alias.name}" if target else alias.name
            found.add(sub if sub in modules else target)
    return found - {own}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """An import cycle (its modules, the first one again at the end), or ``[]`` for none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def _logic_lines(node: ast.AST) -> int:
    """Statements, not counting docstrings, decorators or the lines of one statement twice."""
    lines: set[int] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.stmt) and not (
            isinstance(child, ast.Expr) and isinstance(child.value, ast.Constant)
        ):
            lines.add(child.lineno)
    return len(lines)


def main(package: Path) -> None:
    files = sorted(package.rglob("*.py"))
    modules = {_module(package, p) for p in files}
    graph = {_module(package, p): _imports(package, p, modules) for p in files}
    cycle = _cycle(graph)
    sizes = {p: len(p.read_text().splitlines()) for p in files}
    largest = max(sizes, key=lambda p: sizes[p])
    functions = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                functions.append((length, f"{path.relative_to(package)}:{node.name}"))
    functions.sort(reverse=True)
    print(f"| import cycles | {' -> '.join(cycle) if cycle else 'none'} |")
    print(f"| largest module | {largest.relative_to(package)} ({sizes[largest]} lines) |")
    print(f"| longest function | {functions[0][1]} ({functions[0][0]} lines) |")
    print(f"| modules / lines | {len(files)} / {sum(sizes.values())} |")
    cli = package / "cli"
    rows = []
    for path in sorted(cli.glob("*.py")):
        tree = ast.parse(path.read_text())
        commands = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "command"]
        if commands:
            total = sum(
                _logic_lines(n) for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)
            )
            rows.append(f"{path.stem} {_logic_lines(commands[0])}/{total}")
    print(f"| CLI lines of logic (command/module) | {', '.join(rows)} |")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "newsletter"
    )
