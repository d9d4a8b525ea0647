"""YAML with line numbers and ``${ENV}`` substitution, for errors that name the line and field.

The document is composed into PyYAML nodes (which carry their position) and turned into plain
Python values while a side table records the line of every field path. Scalars get
``${NAME}`` / ``${NAME:-default}`` substitution; ``$${`` is a literal ``${``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a policy file."""

    line: int
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '(top level)'}: {self.message}"


@dataclass
class Source:
    """The parsed document, its line table and the issues found while reading it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 0)


def dotted(path: Path) -> str:
    """``("rules", 0, "expr")`` -> ``rules[0].expr``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _substitute(text: str, env: Mapping[str, str], path: Path, line: int, issues: list[Issue]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        issues.append(
            Issue(line, dotted(path), f"environment variable {name} is not set (use ${{{name}:-default}})")
        )
        return ""

    return _ENV.sub(repl, text)


def load(text: str, env: Mapping[str, str] | None = None) -> Source:
    """Parse ``text``; YAML syntax errors become issues, not exceptions."""
    env = os.environ if env is None else env
    source = Source(None)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        source.issues.append(Issue(line, "", f"YAML syntax error: {problem}"))
        return source
    if root is None:
        source.data = {}
        return source
    constructor = yaml.SafeLoader("")

    def convert(node: yaml.Node, path: Path) -> Any:
        source.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    source.issues.append(
                        Issue(key_node.start_mark.line + 1, dotted((*path, key)), "duplicate key")
                    )
                out[key] = convert(value_node, (*path, key))
                source.lines[(*path, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, (*path, i)) for i, item in enumerate(node.value)]
        value = constructor.construct_object(node, deep=True)
        if isinstance(value, str):
            value = _substitute(value, env, path, node.start_mark.line + 1, source.issues)
        return value

    try:
        source.data = convert(root, ())
    except yaml.YAMLError as exc:
        source.issues.append(Issue(0, "", f"YAML error: {exc}"))
    return source
