"""The package's layers import only downward, and no modules import each other in a circle.

Every ``import`` of the package is read with ``ast``, those inside functions and under
``TYPE_CHECKING`` included: a lazy import is still a dependency, and closing a cycle by moving
an import into a function is exactly what this test is here to stop.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import newsletter

PACKAGE = Path(newsletter.__file__).parent

#: Each layer may import from the layers before it, and from itself.
LAYERS = (
    ("record", "errors", "files", "processes"),
    ("model",),
    ("mail",),
    ("pipeline",),
    ("workspace",),
    ("targets",),
    ("delivery", "fetch"),
    ("commands",),
    ("cli",),
    ("__init__", "__main__"),
)


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """The package modules ``path`` imports, as dotted names under ``newsletter``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "newsletter" or node.module.startswith("newsletter."):
                base = node.module.removeprefix("newsletter").lstrip(".")
                for alias in node.names:  # "from newsletter.model import mergefields"
                    candidate = f"{base}.{alias.name}" if base else alias.name
                    yield candidate if _exists(candidate) else base or "__init__"
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: use absolute imports (from newsletter... import ...)")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("newsletter."):
                    yield alias.name.removeprefix("newsletter.")


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"newsletter.{module} is in no layer: add its package to LAYERS")


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = _module(path)
        graph[module] = {target for target in _imports(path) if target != module}
    return graph


def test_every_import_goes_down_the_layers() -> None:
    upward = [
        f"newsletter.{module} (layer {LAYERS[_layer(module)][0]}) imports newsletter.{target} "
        f"(layer {LAYERS[_layer(target)][0]})"
        for module, targets in sorted(_graph().items())
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert upward == [], "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = _graph()
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        raise AssertionError(f"an import cycle: {' -> '.join(error.args[1])}") from None


def test_the_graph_is_read_right() -> None:
    """The walker sees lazy and TYPE_CHECKING imports, and submodules named in a from-import."""
    graph = _graph()
    assert "pipeline.checks" in graph["workspace"]  # imported inside a function
    assert "model.mergefields" in graph["pipeline.load"]  # from newsletter.model import mergefields
    assert "model.artifact" in graph["pipeline.checks"]  # under TYPE_CHECKING
