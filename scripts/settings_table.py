#!/usr/bin/env python3
"""Render the SDK's settings table (aibos_otel.sdk.settings.SETTINGS) into the docs.

    python3 scripts/settings_table.py           # rewrite README.md and docs/sdk.md in place
    python3 scripts/settings_table.py --check   # exit 1 when either is out of date

Each file has one generated block between ``<!-- settings-table:begin -->`` and
``<!-- settings-table:end -->``: README.md a short one (keyword and variables), docs/sdk.md the
full one (with preset and meaning). tests/sdk/test_settings_table.py runs the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aibos_otel.sdk.settings import SETTINGS, Setting  # noqa: E402

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def _code(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "—"


def _keyword(setting: Setting) -> str:
    return f"`{setting.argument}`" if setting.argument else f"— (`{setting.field}`)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bare pipe would end the table cell


def short_table() -> str:
    """Keyword and variables, for the README."""
    lines = [
        "| `setup()` keyword | environment variables (first one set wins) | also read |",
        "| --- | --- | --- |",
    ]
    for s in SETTINGS:
        if s.variables or s.also:
            lines.append(f"| {_keyword(s)} | {_code(s.variables)} | {_code(s.also)} |")
    return "\n".join(lines)


def full_table() -> str:
    """Every row with its preset and doc line, for docs/sdk.md."""
    lines = [
        "| `setup()` keyword | variables (first one set wins) | also read | preset | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        cells = (_keyword(s), _code(s.variables), _code(s.also), _cell(s.default), _cell(s.doc))
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


TARGETS = {ROOT / "README.md": short_table, ROOT / "docs" / "sdk.md": full_table}


def render(text: str, table: str) -> str:
    """``text`` with its generated block replaced by ``table``."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"no {BEGIN} ... {END} block")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main() -> int:
    stale = []
    for path, table in TARGETS.items():
        text = path.read_text(encoding="utf-8")
        wanted = render(text, table())
        if wanted != text:
            stale.append(path)
            if "--check" not in sys.argv:
                path.write_text(wanted, encoding="utf-8")
    if stale and "--check" in sys.argv:
        print("out of date (run scripts/settings_table.py):", *map(str, stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
