"""Reading the shipped Grafana files: dashboards, their targets, and Grafana's variable interpolation.

Grafana itself is not available here (AGPL, and no package), so the tests interpolate template
variables the way Grafana does for a single selected value or for "All" with the dashboard's
``allValue``, and hand the resulting expressions to the real engines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS_DIR = GRAFANA / "dashboards"
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "aibos.yaml"
PROVIDERS_FILE = GRAFANA / "provisioning" / "dashboards" / "aibos.yaml"
DOCS = REPO / "docs" / "grafana.md"

# Grafana's built-in interval variables, replaced by a fixed window for evaluation.
BUILTIN_INTERVALS = ("__rate_interval", "__interval", "__auto", "__range")
# $name, ${name} and ${name:format}; Grafana's [[name]] form is not used in these files.
VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::\w+)?\}|(?P<bare>\w+))")


@dataclass(frozen=True)
class Target:
    """One query of one panel."""

    dashboard: str  # uid
    panel_id: int
    panel_title: str
    panel_type: str
    ref_id: str
    datasource: Mapping[str, str]
    expr: str
    legend: str  # legendFormat, "" for none

    @property
    def key(self) -> str:
        """``dashboard/panel-id/refId``, stable for test ids and allow-lists."""
        return f"{self.dashboard}/{self.panel_id}/{self.ref_id}"


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON file, by file name."""
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS_DIR.glob("*.json"))}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def provisioned_datasources() -> dict[str, dict[str, Any]]:
    """The provisioned data sources by uid."""
    return {ds["uid"]: ds for ds in load_yaml(DATASOURCES_FILE)["datasources"]}


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def iter_targets(dashboard: Mapping[str, Any]) -> Iterator[Target]:
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            yield Target(
                dashboard=dashboard["uid"],
                panel_id=panel["id"],
                panel_title=panel["title"],
                panel_type=panel["type"],
                ref_id=target["refId"],
                datasource=target.get("datasource", panel.get("datasource")),
                expr=target["expr"],
                legend=target.get("legendFormat", ""),
            )


def all_targets(datasource_type: str) -> list[Target]:
    """The targets of every shipped dashboard that query a data source of this type."""
    return [
        t
        for d in load_dashboards().values()
        for t in iter_targets(d)
        if t.datasource["type"] == datasource_type
    ]


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The dashboard's template variables by name."""
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def referenced_variables(expr: str) -> set[str]:
    return {m.group("braced") or m.group("bare") for m in VARIABLE.finditer(expr)}


def legend_labels(legend: str) -> set[str]:
    """The labels a legendFormat such as ``{{channel}} {{outcome}}`` names."""
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))


def interpolate(expr: str, values: Mapping[str, str], interval: str = "1m") -> str:
    """Replace ``$var`` / ``${var}`` by ``values`` and Grafana's interval variables by ``interval``.

    An unknown variable raises ``KeyError``: a query must not reach an engine half-interpolated.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        return interval if name in BUILTIN_INTERVALS else values[name]

    return VARIABLE.sub(replace, expr)


def all_values(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """What Grafana substitutes with every variable at its default "All" (or empty textbox)."""
    out: dict[str, str] = {}
    for name, var in variables(dashboard).items():
        if var["type"] == "textbox":
            out[name] = var.get("query", "")
        else:
            assert var.get("includeAll"), f"{name}: every list variable offers All"
            out[name] = var["allValue"]
    return out


def dashboard_by_uid(uid: str) -> dict[str, Any]:
    return next(d for d in load_dashboards().values() if d["uid"] == uid)
