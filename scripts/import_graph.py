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
