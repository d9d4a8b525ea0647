"""The shipped Grafana files hang together: provisioning YAML, dashboards, data source uids, variables."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .dashboards import (
    BUILTIN_INTERVALS,
    DASHBOARDS_DIR,
    DATASOURCES_FILE,
    DOCS,
    PROVIDERS_FILE,
    iter_panels,
    iter_targets,
    load_dashboards,
    load_yaml,
    provisioned_datasources,
    referenced_variables,
    variables,
)

DASHBOARDS = load_dashboards()
GRID_WIDTH = 24


def test_there_are_the_monitor_and_logs_dashboards() -> None:
    assert {d["uid"] for d in DASHBOARDS.values()} == {"aibos-monitor", "aibos-logs"}


def test_uids_and_titles_are_unique_and_valid() -> None:
    uids = [d["uid"] for d in DASHBOARDS.values()]
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert len(set(titles)) == len(titles)
    for uid in uids:
        # Grafana's limit and alphabet for uids
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid), uid


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_model(name: str) -> None:
    dashboard = DASHBOARDS[name]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 39
    assert "id" not in dashboard or dashboard["id"] is None, (
        "provisioned dashboards must not pin a database id"
    )
    panels = list(iter_panels(dashboard))
    assert panels
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids), "panel ids are unique within a dashboard"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["title"] and panel.get("description"), panel["id"]
        g = panel["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0
        assert g["x"] + g["w"] <= GRID_WIDTH, f"panel {panel['id']} is wider than the grid"
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"panel {panel['id']} overlaps another"
        cells |= mine
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(set(ref_ids)) == len(ref_ids), panel["id"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_and_target_uses_a_provisioned_datasource(name: str) -> None:
    sources = provisioned_datasources()
    dashboard = DASHBOARDS[name]
    for panel in iter_panels(dashboard):
        ds = panel["datasource"]
        assert ds["uid"] in sources, f"panel {panel['id']}: unknown data source {ds}"
        assert ds["type"] == sources[ds["uid"]]["type"], panel["id"]
    for target in iter_targets(dashboard):
        assert target.datasource["uid"] in sources, target.key
        assert target.datasource["type"] == sources[target.datasource["uid"]]["type"], target.key
    for var in variables(dashboard).values():
        if var["type"] == "query":
            assert var["datasource"]["uid"] in sources, var["name"]
            assert var["datasource"]["type"] == sources[var["datasource"]["uid"]]["type"], var["name"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_a_query_uses_is_defined(name: str) -> None:
    dashboard = DASHBOARDS[name]
    defined = set(variables(dashboard)) | set(BUILTIN_INTERVALS)
    exprs: list[tuple[str, str]] = [(t.key, t.expr) for t in iter_targets(dashboard)]
    exprs += [
        (f"variable {v['name']}", v["query"]) for v in variables(dashboard).values() if v["type"] == "query"
    ]
    for where, expr in exprs:
        assert referenced_variables(expr) <= defined, (where, referenced_variables(expr) - defined)
    # and no variable is dead weight
    used = set().union(*(referenced_variables(expr) for _, expr in exprs))
    assert set(variables(dashboard)) <= used, set(variables(dashboard)) - used


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_list_variables_never_select_everything_with_an_empty_match(name: str) -> None:
    # Loki refuses a selector whose matchers all match "", so "All" must be ".+", never ".*"
    for var in variables(DASHBOARDS[name]).values():
        if var.get("includeAll"):
            assert var["allValue"] == ".+", var["name"]
            assert not re.fullmatch(var["allValue"], "")


def test_datasource_provisioning_file() -> None:
    doc: dict[str, Any] = load_yaml(DATASOURCES_FILE)
    assert doc["apiVersion"] == 1
    sources = doc["datasources"]
    assert {(s["type"], s["uid"]) for s in sources} == {
        ("prometheus", "aibos-prometheus"),
        ("loki", "aibos-loki"),
    }
    assert len({s["name"] for s in sources}) == len(sources)
    assert sum(bool(s.get("isDefault")) for s in sources) == 1
    for source in sources:
        assert source["access"] == "proxy"
        assert re.fullmatch(r"\$\{[A-Z_]+\}", source["url"]), "the URL comes from the environment"


def test_every_environment_variable_of_the_provisioning_files_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for path in (DATASOURCES_FILE, PROVIDERS_FILE):
        # only the values, not the comments: Grafana expands $NAME / ${NAME} in values
        text = "\n".join(line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
        for name in re.findall(r"\$\{?([A-Za-z_]\w*)", text):
            assert f"`{name}`" in docs, f"{name} used in {path.name} but not documented in docs/grafana.md"


def test_dashboard_provider_points_at_the_mounted_dashboards() -> None:
    doc: dict[str, Any] = load_yaml(PROVIDERS_FILE)
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    # The path is inside Grafana's container/host; docs/grafana.md says to mount deploy/grafana/dashboards there.
    docs = DOCS.read_text(encoding="utf-8")
    assert f"deploy/grafana/dashboards:{path}" in docs, (
        "docs/grafana.md gives the mount for the provider path"
    )
    assert sorted(p.name for p in DASHBOARDS_DIR.glob("*.json")) == sorted(DASHBOARDS)
    assert DASHBOARDS, "the mounted folder holds the dashboards"
