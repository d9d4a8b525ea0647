"""deploy/ matches what gateway.yaml sends: Loki (AGPL: checked structurally only) and Prometheus (promtool)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.collector.harness import CONFIG_DIR, REPO

LOKI = REPO / "deploy" / "loki" / "loki.yaml"
# The retention per level.
RETENTION = {"trace": "1d", "debug": "7d", "info": "30d", "warn": "90d", "error": "365d", "fatal": "7y"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def gateway_levels() -> set[str]:
    """The `level` values gateway.yaml's transform/level can produce."""
    statements = load(CONFIG_DIR / "gateway.yaml")["processors"]["transform/level"]["log_statements"]
    levels = set()
    for statement in statements:
        match = re.fullmatch(r'set\(log\.attributes\["level"\], "(\w+)"\)( where .+)?', statement)
        assert match, statement
        levels.add(match.group(1))
    return levels


def test_retention_per_level_matches_the_policy_and_covers_every_gateway_level() -> None:
    streams = load(LOKI)["limits_config"]["retention_stream"]
    by_level = {}
    for stream in streams:
        match = re.fullmatch(r'\{level="(\w+)"\}', stream["selector"])
        assert match, stream["selector"]
        by_level[match.group(1)] = stream["period"]
    assert by_level == RETENTION
    # Every level the gateway emits has its own rule, except "unknown" (no severity), which falls back
    # to retention_period.
    assert gateway_levels() - set(by_level) == {"unknown"}
    assert load(LOKI)["limits_config"]["retention_period"] == "720h"


def test_level_resource_attribute_is_an_index_label() -> None:
    config = load(LOKI)
    rules = config["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"]
    assert {"action": "index_label", "attributes": ["level"]} in rules
    # The gateway lifts `level` from the record to the resource, where Loki looks for index labels.
    assert load(CONFIG_DIR / "gateway.yaml")["processors"]["groupbyattrs/level"]["keys"] == ["level"]
    # Retention selectors can only match index labels, which need TSDB v13 with a 24h index period.
    schema = config["schema_config"]["configs"][-1]
    assert (schema["store"], schema["schema"], schema["index"]["period"]) == ("tsdb", "v13", "24h")
    assert config["limits_config"]["allow_structured_metadata"] is True


def test_deletes_are_enabled_for_erasure() -> None:
    config = load(LOKI)
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert config["limits_config"]["deletion_mode"] == "filter-and-delete"


def test_ruler_reads_the_rendered_rules_and_notifies_alertmanager() -> None:
    """`aibos-otel render loki-rules -o $LOKI_DIR/rules` writes where this ruler reads (docs/deploy.md)."""
    config = load(LOKI)
    assert config["common"]["storage"]["filesystem"]["rules_directory"] == "${LOKI_DIR:-/var/lib/loki}/rules"
    ruler = config["ruler"]
    assert ruler["alertmanager_url"].startswith("${ALERTMANAGER_URL:-http")
    assert ruler["rule_path"] != config["common"]["storage"]["filesystem"]["rules_directory"]


def test_gateway_sends_protobuf_to_lokis_native_otlp_endpoint() -> None:
    exporter = load(CONFIG_DIR / "gateway.yaml")["exporters"]["otlp_http/loki"]
    assert exporter["endpoint"] == "${env:LOKI_ENDPOINT:-http://loki:3100/otlp}"  # + /v1/logs
    assert exporter["encoding"] == "proto"
    assert load(LOKI)["server"]["http_listen_port"] == 3100


def test_prometheus_config_and_collector_alert_rules_pass_promtool() -> None:
    import shutil
    import subprocess

    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus Debian package"
    prometheus_dir = REPO / "deploy" / "prometheus"
    for args in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "rules/aibos-otelcol.yml"],
        ["test", "rules", "rules/aibos-otelcol.test.yml"],  # the alerts fire, and only when they should
    ):
        proc = subprocess.run(
            [promtool, *args], cwd=prometheus_dir, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
