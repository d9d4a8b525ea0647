"""Properties of deploy/compose/compose.yaml read as written (before interpolation): loopback
ports, health checks, hardening, secrets only from .env, and mounts of the repository's files."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.deploy_manifests.manifests import COMPOSE_DIR, REPO

COMPOSE = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text(encoding="utf-8"))
ONE_SHOT = {"render", "doctor"}  # exit when done: nothing to health-check
OURS = {"render", "aibos-agent", "aibos-gateway", "aibos-monitor", "doctor"}
SECRET = re.compile(r"KEY|TOKEN|PASSWORD|SECRET|WEBHOOK", re.IGNORECASE)
LOOPBACK = ("127.0.0.1:", "${AIBOS_PUBLISH_ADDRESS:-127.0.0.1}:")


def problems(compose: dict[str, Any]) -> list[str]:
    found = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if not str(port).startswith(LOOPBACK):
                found.append(f"{name}: port {port} not bound to 127.0.0.1")
        if name not in ONE_SHOT and "test" not in service.get("healthcheck", {}):
            found.append(f"{name}: no healthcheck")
        if service.get("read_only") is not True or service.get("cap_drop") != ["ALL"]:
            found.append(f"{name}: not read_only with cap_drop [ALL]")
        for key, value in service.get("environment", {}).items():
            if SECRET.search(key) and not re.fullmatch(
                r"\$\{" + key.replace("GF_SECURITY_ADMIN_", "GRAFANA_ADMIN_") + r":\?[^}]+\}", str(value)
            ):
                found.append(f"{name}: {key} is not a required ${{...}} from .env")
    return found


def test_compose_has_the_properties() -> None:
    assert problems(COMPOSE) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["services"]["loki"]["ports"].append("3101:3100"),
        lambda c: c["services"]["aibos-gateway"].pop("healthcheck"),
        lambda c: c["services"]["aibos-monitor"].update(read_only=False),
        lambda c: c["services"]["aibos-gateway"]["environment"].update(
            DD_API_KEY="0123456789abcdef0123456789abcdef"
        ),
    ],
    ids=["port-on-all-addresses", "no-healthcheck", "writable-root", "inlined-key"],
)
def test_each_property_check_can_fail(mutate: Any) -> None:
    broken = copy.deepcopy(COMPOSE)
    mutate(broken)
    assert problems(broken) != []


def test_the_stack_has_every_part() -> None:
    parts = {"aibos-agent", "aibos-gateway", "aibos-monitor", "loki", "prometheus", "alertmanager", "grafana"}
    assert parts <= set(COMPOSE["services"])
    assert COMPOSE["services"]["doctor"]["profiles"] == ["tools"]  # not started by `up`


def test_bind_mounts_are_repository_files() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", volume).split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), f"{name}: {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name}: {source} is not a named volume"


def test_env_example_defines_every_required_variable() -> None:
    text = (COMPOSE_DIR / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    example = (COMPOSE_DIR / ".env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert required and required <= defined, required - defined


def test_prometheus_and_gateway_targets_are_compose_services() -> None:
    # deploy/prometheus/prometheus.yml and gateway.yaml's defaults name hosts; Compose's DNS must know them.
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    targets = [
        t for job in prometheus["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    ]
    targets += prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    gateway_env = COMPOSE["services"]["aibos-gateway"]["environment"]
    targets += [
        gateway_env["AIBOS_MONITOR_ENDPOINT"],
        gateway_env["LOKI_ENDPOINT"].split("//")[1].split("/")[0],
    ]
    for target in targets:
        assert target.split(":")[0] in COMPOSE["services"], target
    # The collectors' telemetry that Prometheus scrapes listens beyond the container's loopback.
    assert gateway_env["AIBOS_TELEMETRY_HOST"] == "0.0.0.0"


def test_collector_and_monitor_files_mounted_are_the_ones_kubernetes_uses() -> None:
    gateway = COMPOSE["services"]["aibos-gateway"]
    assert "../../collector-config/gateway.yaml:/etc/aibos-otelcol/gateway.yaml:ro" in gateway["volumes"]
    assert (
        "../collector/gateway-monitor-token.yaml:/etc/aibos-otelcol/gateway-monitor-token.yaml:ro"
        in gateway["volumes"]
    )
    assert gateway["command"] == [
        "--config=/etc/aibos-otelcol/gateway.yaml",
        "--config=/etc/aibos-otelcol/gateway-monitor-token.yaml",
    ]
