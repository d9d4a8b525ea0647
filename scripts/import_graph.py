#!/usr/bin/env python3
"""Print which aibos_otel areas import which (from the source, not by importing it).

    python3 scripts/import_graph.py            # markdown table for docs/architecture.md
    python3 scripts/import_graph.py --json     # the raw graph

An "area" is a top-level subpackage (sdk, redaction, monitor, policy, lifecycle) or a top-level
module (cli, distro, fingerprint). tests/test_architecture.py checks the dependency rules on
the same graph.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aibos_otel"


def area_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "aibos_otel":
        return None
    return parts[1] if len(parts) > 1 else "aibos_otel"


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = area_of(module) or "aibos_otel"
        if source.endswith("__init__"):
            source = "aibos_otel"
        targets = edges.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = area_of(name)
                if target and target != source:
                    targets.add(target)
    return edges


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def module_graph() -> dict[str, set[str]]:
    """Module -> the aibos_otel modules it imports (any import statement, lazy ones included).

    ``from package import name`` is an import of the submodule when ``name`` is one, else of the
    package. An import of a module's own enclosing package is left out: Python runs every
    enclosing ``__init__`` before any submodule anyway, so it is no choice the module made.
    """
    modules = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = edges.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    found.append(submodule if submodule in modules else base)
            for target in found:
                if target in modules and target != module and not module.startswith(target + "."):
                    targets.add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``edges``: each strongly connected set of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    edges = graph()
    if "--json" in sys.argv:
        print(json.dumps({k: sorted(v) for k, v in sorted(edges.items())}, indent=2))
        return 0
    print("| area | imports |")
    print("| --- | --- |")
    for area, targets in sorted(edges.items()):
        print(f"| `{area}` | {', '.join(f'`{t}`' for t in sorted(targets)) or '—'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
