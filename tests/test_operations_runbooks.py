"""The operations docs keep up with the code: every alert the defaults can raise has a runbook
heading in docs/operations.md, and every doctor check name is in docs/doctor.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"
DOCTOR_DOC = ROOT / "docs" / "doctor.md"
DEFAULT_POLICY = ROOT / "aibos_otel" / "policy" / "default.yaml"
PROMETHEUS_RULES = ROOT / "deploy" / "prometheus" / "rules"
DOCTOR_SRC = ROOT / "aibos_otel" / "doctor"
MONITOR_ALERTS = ROOT / "aibos_otel" / "monitor" / "evaluate" / "alerts.py"
# Alerts the monitor raises by itself (not from policy rules): error groups, records with
# alert.* attributes and no name, and the active-alert cap.
MONITOR_BUILTIN = ("new-error-group", "error-regression", "log-alert", "AlertCapReached")


def _headings(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


def _has_heading(headings: list[str], name: str) -> bool:
    return any(f"`{name}`" in h for h in headings)


def _policy_alerts() -> list[str]:
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    return [str(rule["name"]) for rule in doc.get("rules") or []]


def _prometheus_alerts() -> list[str]:
    names = []
    for path in sorted(PROMETHEUS_RULES.glob("*.y*ml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in doc.get("groups") or []:  # promtool test files have no groups
            names.extend(str(r["alert"]) for r in group.get("rules") or [] if "alert" in r)
    return names


def test_the_sources_of_alerts_are_found() -> None:
    assert "error-spike" in _policy_alerts()
    assert "AibosCollectorDown" in _prometheus_alerts()
    source = MONITOR_ALERTS.read_text(encoding="utf-8")
    for name in MONITOR_BUILTIN:
        assert name in source, f"{name} is no longer raised by the monitor: update MONITOR_BUILTIN"


def test_every_default_alert_has_a_runbook() -> None:
    headings = _headings(OPERATIONS)
    alerts = [*_policy_alerts(), *_prometheus_alerts(), *MONITOR_BUILTIN]
    missing = [name for name in alerts if not _has_heading(headings, name)]
    assert not missing, f"docs/operations.md has no runbook heading (### `NAME`) for: {missing}"


def _literal(arg: ast.expr) -> str | None:
    """A string literal, or an f-string's literal text (``f"exporter {x}"`` -> ``exporter``)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        parts = [v.value for v in arg.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        return "".join(parts).strip()
    return None


def _check_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Check names in one module: what is passed as Check's second argument. A variable is
    looked up in the module's assignments, a function parameter in the calls of that function
    in the module; what cannot be read that way is returned apart."""
    assigned: dict[str, ast.expr] = {}
    params: dict[str, tuple[str, int]] = {}  # parameter -> (function, position)
    calls: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
        elif isinstance(node, ast.FunctionDef):
            for i, a in enumerate(node.args.args):
                params.setdefault(a.arg, (node.name, i))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.setdefault(node.func.id, []).append(node)
    names: set[str] = set()
    unresolved: set[str] = set()
    for call in calls.get("Check", []):
        if len(call.args) < 2:
            continue
        candidates = [call.args[1]]
        arg = call.args[1]
        if isinstance(arg, ast.Name):
            if arg.id in assigned:
                candidates = [assigned[arg.id]]
            elif arg.id in params:
                function, position = params[arg.id]
                candidates = [c.args[position] for c in calls.get(function, []) if len(c.args) > position]
            else:
                candidates = []
        texts = [_literal(c) for c in candidates]
        if not texts or None in texts:
            unresolved.add(arg.id if isinstance(arg, ast.Name) else ast.dump(arg))
        names.update(t for t in texts if t is not None)
    return names, unresolved


def doctor_check_names() -> set[str]:
    """Every check name the doctor can print (an f-string's literal text for dynamic ones)."""
    from aibos_otel.doctor.checks_performance import SERIES

    names: set[str] = set()
    for path in sorted(DOCTOR_SRC.glob("*.py")):
        found, unresolved = _check_names(ast.parse(path.read_text(encoding="utf-8")))
        names |= found
        # checks_performance passes SERIES' first elements through a parameter
        assert unresolved <= {"what"}, f"{path.name}: check names the test cannot read: {unresolved}"
    return names | {what for what, _series, _exporter in SERIES}


def test_the_check_names_are_found() -> None:
    names = doctor_check_names()
    assert {"collector health", "dead man's switch", "backup age", "monitor metrics", "outage spool"} <= names
    assert "file backup directory" in names  # through _writable(what, ...)
    assert "exporter" in names and "not given" in names  # from f-strings


def test_every_doctor_check_is_documented() -> None:
    text = DOCTOR_DOC.read_text(encoding="utf-8")
    missing = sorted(name for name in doctor_check_names() if name not in text)
    assert not missing, f"docs/doctor.md does not name the doctor checks: {missing}"


def test_every_doctor_area_is_documented() -> None:
    from aibos_otel.doctor.model import AREAS

    text = DOCTOR_DOC.read_text(encoding="utf-8")
    missing = [f"{area} ({title})" for area, title in AREAS if f"`{area}`" not in text or title not in text]
    assert not missing, f"docs/doctor.md does not name the areas: {missing}"


def test_every_doctor_flag_is_documented() -> None:
    source = (DOCTOR_SRC / "commands.py").read_text(encoding="utf-8")
    flags = set(re.findall(r'"(--[a-z-]+)"', source))
    text = DOCTOR_DOC.read_text(encoding="utf-8")
    missing = sorted(flag for flag in flags if f"`{flag}" not in text)
    assert not missing, f"docs/doctor.md does not document the flags: {missing}"
