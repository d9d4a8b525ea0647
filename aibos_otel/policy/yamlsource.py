"""YAML with line numbers and ``${ENV}`` substitution, for errors that name the line and field.

The document is composed into PyYAML nodes (which carry their position) and turned into plain
Python values while a side table records the line of every field path. Scalars get
``${NAME}`` / ``${NAME:-default}`` substitution; ``$${`` is a literal ``${``.

A policy file may come from anyone who can open a pull request, so reading it is bounded:
at most :data:`MAX_BYTES`, nesting at most :data:`MAX_DEPTH` levels, and no aliases (``*name``,
also in ``<<: *name`` merge keys): an alias is a reference, and nine nested lists of nine aliases
("billion laughs") fit in 1 KB but expand to 10^9 values. Templates (``templates:``) are the
policy's own way to repeat a rule. Each of these is an :class:`Issue` with the line and field,
never an exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
MAX_BYTES = 256 * 1024  # the default policy is ~4 KB; a real one with many rules stays far below
MAX_DEPTH = 64  # a policy needs about 6 levels; PyYAML's composer recurses once per level
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


class _Refused(yaml.ScalarNode):
    """Stands where the composer refused a node (an alias, or a node nested too deep), so that
    :func:`load` can report it with its field path; it reads as null."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__("tag:yaml.org,2002:null", "", mark, mark)
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer never follows an alias and stops at :data:`MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            return _Refused(
                event.start_mark,
                f"YAML alias *{event.anchor} is not allowed in a policy file (repeat the value)",
            )
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            self._skip_node()
            return _Refused(mark, f"nested deeper than {MAX_DEPTH} levels")
        self._depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def _skip_node(self) -> None:
        """Consume one node's events without building it (iteratively: no recursion)."""
        open_collections = 0
        while True:
            event = self.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                open_collections += 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                open_collections -= 1
            if open_collections == 0:
                return


def read_bounded(path: str | os.PathLike[str]) -> str:
    """The text of a policy file, reading at most one byte past :data:`MAX_BYTES` (so that
    ``/dev/zero`` or a multi-gigabyte file is refused by :func:`load`, not read to the end)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:  # the cut may split a character; load() refuses the size anyway
        return data.decode("utf-8", "replace")
    return data.decode("utf-8")


def load(text: str, env: Mapping[str, str] | None = None) -> Source:
    """Parse ``text``; YAML syntax errors and the limits above become issues, not exceptions."""
    env = os.environ if env is None else env
    source = Source(None)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        source.issues.append(Issue(0, "", f"the policy file is larger than {MAX_BYTES // 1024} KiB"))
        return source
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
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
        if isinstance(node, _Refused):
            source.issues.append(Issue(node.start_mark.line + 1, dotted(path), node.message))
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if _refused_inside(key_node):
                    line = key_node.start_mark.line + 1
                    source.issues.append(Issue(line, dotted(path), "a key must be a plain value"))
                    continue
                if key_node.tag == "tag:yaml.org,2002:merge":
                    key: Any = "<<"  # no merge keys: a plain key, so the field is named in errors
                else:
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


def _refused_inside(node: yaml.Node) -> bool:
    """Whether a (key) node holds a refused node; keys are built by PyYAML itself, which would
    read a refused node as null. Bounded: the composer stopped at :data:`MAX_DEPTH`."""
    if isinstance(node, _Refused):
        return True
    if isinstance(node, yaml.SequenceNode):
        return any(_refused_inside(item) for item in node.value)
    if isinstance(node, yaml.MappingNode):
        return any(_refused_inside(k) or _refused_inside(v) for k, v in node.value)
    return False
