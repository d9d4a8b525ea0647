"""Both overlays and the compose file pass the strict offline checker; typos are named; the configs
inside the rendered ConfigMaps pass the real collector's and the policy's own validation."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aibos_otel.cli import main as aibos_otel
from scripts import render_deploy
from tests.collector.conftest import built_binary
from tests.collector.harness import DD_API_KEY
from tests.deploy_manifests.manifests import (
    COMPOSE_DIR,
    KUSTOMIZE_DIR,
    OVERLAYS,
    find,
    objects,
    render,
    validate,
)

ENV_EXAMPLE = COMPOSE_DIR / ".env.example"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_validation(checker: Path, rendered: dict[str, str], overlay: str) -> None:
    proc = validate(checker, "k8s", "-", stdin=rendered[overlay])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"valid: {len(objects(rendered[overlay]))} objects"


def test_unknown_field_in_a_copy_is_rejected_with_object_and_field(checker: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE_DIR, copy)
    gateway = copy / "base" / "gateway.yaml"
    text = gateway.read_text(encoding="utf-8")
    assert text.count("          image: aibos-otelcol\n") == 1
    gateway.write_text(
        text.replace(
            "          image: aibos-otelcol\n",
            "          image: aibos-otelcol\n          imagePullPolcy: Always\n",
        ),
        encoding="utf-8",
    )
    proc = validate(checker, "k8s", "-", stdin=render(copy / "overlays" / "production"))
    assert proc.returncode == 1
    problems = proc.stderr.strip().splitlines()
    assert len(problems) == 1, problems  # only the object with the typo
    assert problems[0].startswith("Deployment/aibos-gateway (apps/v1): ")
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolcy"' in problems[0]


def test_wrong_value_type_in_a_copy_is_rejected(checker: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE_DIR, copy)
    monitor = copy / "base" / "monitor.yaml"
    text = monitor.read_text(encoding="utf-8")
    monitor.write_text(text.replace("  replicas: 1 #", "  replicas: one #", 1), encoding="utf-8")
    proc = validate(checker, "k8s", "-", stdin=render(copy / "overlays" / "single-node"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("StatefulSet/aibos-monitor (apps/v1): "), proc.stderr


def test_compose_file_passes_schema_validation(checker: Path) -> None:
    proc = validate(checker, "compose", "--env-file", str(ENV_EXAMPLE), str(COMPOSE_DIR / "compose.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "valid: 9 services"  # agent, gateway, monitor, Loki, Prometheus, ...


def test_unknown_compose_key_in_a_copy_is_rejected_with_service_and_key(
    checker: Path, tmp_path: Path
) -> None:
    text = (COMPOSE_DIR / "compose.yaml").read_text(encoding="utf-8")
    anchor = "  aibos-gateway:\n    <<: *hardening\n"
    assert text.count(anchor) == 1
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace(anchor, anchor + "    restat: always\n"), encoding="utf-8")
    proc = validate(checker, "compose", "--env-file", str(ENV_EXAMPLE), str(broken))
    assert proc.returncode == 1
    assert "services.aibos-gateway.restat: unknown key" in proc.stderr, proc.stderr


def test_compose_refuses_to_load_without_the_keys(checker: Path, tmp_path: Path) -> None:
    # No .env: the secrets have no default, so compose stops before starting anything.
    shutil.copy(COMPOSE_DIR / "compose.yaml", tmp_path / "compose.yaml")
    proc = validate(checker, "compose", str(tmp_path / "compose.yaml"))
    assert proc.returncode == 1
    for name in ("DD_API_KEY", "AIBOS_MONITOR_TOKEN", "GRAFANA_ADMIN_PASSWORD"):
        assert f"required variable {name} is missing a value" in proc.stderr


def test_base_copies_match_their_sources() -> None:
    assert render_deploy.stale() == []


def test_a_drifted_copy_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(render_deploy.TARGET, tmp_path / "config")
    monkeypatch.setattr(render_deploy, "TARGET", tmp_path / "config")
    assert render_deploy.main(["--check"]) == 0
    (tmp_path / "config" / "gateway.yaml").write_text("exporters: {}\n", encoding="utf-8")
    assert render_deploy.main(["--check"]) == 1
    assert render_deploy.stale() == ["gateway.yaml"]


def _otelcol_validate(binary: Path, *configs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "validate", *(f"--config={c}" for c in configs)],
        env={"PATH": "/usr/bin:/bin", "DD_API_KEY": DD_API_KEY, "AIBOS_MONITOR_TOKEN": "t" * 32},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_collector_configs_in_the_configmap_pass_otelcol_validate(
    rendered: dict[str, str], overlay: str, tmp_path: Path
) -> None:
    data = find(objects(rendered[overlay]), "ConfigMap", "aibos-otelcol-config-")["data"]
    assert set(data) == {"agent.yaml", "gateway.yaml", "gateway-monitor-token.yaml"}
    for name, text in data.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    binary = built_binary()
    agent = _otelcol_validate(binary, tmp_path / "agent.yaml")
    assert agent.returncode == 0, agent.stderr
    # The gateway runs with both files (deploy/kubernetes/base/gateway.yaml's args).
    gateway = _otelcol_validate(binary, tmp_path / "gateway.yaml", tmp_path / "gateway-monitor-token.yaml")
    assert gateway.returncode == 0, gateway.stderr


def test_otelcol_validate_catches_a_broken_fragment(tmp_path: Path) -> None:
    # Guards the test above: the fragment is really merged and checked.
    (tmp_path / "gateway.yaml").write_text(
        (KUSTOMIZE_DIR / "base/config/gateway.yaml").read_text(), encoding="utf-8"
    )
    (tmp_path / "token.yaml").write_text(
        "exporters:\n  otlp_grpc/monitor:\n    headerz: {a: b}\n", encoding="utf-8"
    )
    proc = _otelcol_validate(built_binary(), tmp_path / "gateway.yaml", tmp_path / "token.yaml")
    assert proc.returncode != 0
    assert "headerz" in proc.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_policy_in_the_configmap_passes_aibos_otel_validate(
    rendered: dict[str, str], overlay: str, tmp_path: Path
) -> None:
    data = find(objects(rendered[overlay]), "ConfigMap", "aibos-otel-policy-")["data"]
    (tmp_path / "aibos-otel.yaml").write_text(data["aibos-otel.yaml"], encoding="utf-8")
    assert aibos_otel(["validate", str(tmp_path / "aibos-otel.yaml")]) == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_env_names_are_variables_of_gateway_yaml(rendered: dict[str, str], overlay: str) -> None:
    # A misspelt name (LOKI_ENDPONT) would be ignored by the collector and the default used.
    data = find(objects(rendered[overlay]), "ConfigMap", "aibos-gateway-env-")["data"]
    gateway = (KUSTOMIZE_DIR / "base" / "config" / "gateway.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{env:([A-Z0-9_]+)", gateway))
    assert set(data) <= used, set(data) - used
