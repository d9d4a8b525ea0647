"""Security and operability of the rendered objects (both overlays), and proof that each check
fails when its property is taken out of a copy of the objects."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

import pytest

from tests.deploy_manifests.manifests import OVERLAYS, Obj, find, objects
from tests.deploy_manifests.properties import CHECKS


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_objects_have_the_property(rendered: dict[str, str], overlay: str, check: str) -> None:
    assert CHECKS[check](objects(rendered[overlay])) == []


def _container(objs: list[Obj], kind: str, name: str) -> Obj:
    container: Obj = find(objs, kind, name)["spec"]["template"]["spec"]["containers"][0]
    return container


def _pod(objs: list[Obj], kind: str, name: str) -> Obj:
    pod: Obj = find(objs, kind, name)["spec"]["template"]["spec"]
    return pod


def _drop_np(objs: list[Obj], name: str) -> None:
    objs.remove(find(objs, "NetworkPolicy", name))


def _open_to_world(objs: list[Obj]) -> None:
    find(objs, "NetworkPolicy", "aibos-agent")["spec"]["ingress"][0]["from"] = [
        {"ipBlock": {"cidr": "0.0.0.0/0"}}
    ]


def _inline_secret(objs: list[Obj]) -> None:
    env = _container(objs, "Deployment", "aibos-gateway")["env"]
    env[:] = [
        {"name": "DD_API_KEY", "value": "0123456789abcdef0123456789abcdef"}
        if e["name"] == "DD_API_KEY"
        else e
        for e in env
    ]


# (check, what is removed, mutation): each must make its check report a problem.
MUTATIONS: list[tuple[str, str, Callable[[list[Obj]], None]]] = [
    (
        "security_context",
        "runAsNonRoot",
        lambda o: _pod(o, "DaemonSet", "aibos-agent")["securityContext"].pop("runAsNonRoot"),
    ),
    (
        "security_context",
        "seccomp",
        lambda o: _pod(o, "StatefulSet", "aibos-monitor")["securityContext"].pop("seccompProfile"),
    ),
    (
        "security_context",
        "read-only root",
        lambda o: _container(o, "Deployment", "aibos-gateway")["securityContext"].update(
            readOnlyRootFilesystem=False
        ),
    ),
    (
        "security_context",
        "drop ALL",
        lambda o: _container(o, "StatefulSet", "aibos-monitor")["securityContext"].pop("capabilities"),
    ),
    (
        "security_context",
        "escalation",
        lambda o: _container(o, "DaemonSet", "aibos-agent")["securityContext"].pop(
            "allowPrivilegeEscalation"
        ),
    ),
    (
        "resources",
        "memory limit",
        lambda o: _container(o, "Deployment", "aibos-gateway")["resources"]["limits"].pop("memory"),
    ),
    (
        "resources",
        "cpu request",
        lambda o: _container(o, "DaemonSet", "aibos-agent")["resources"]["requests"].pop("cpu"),
    ),
    ("probes", "readiness", lambda o: _container(o, "StatefulSet", "aibos-monitor").pop("readinessProbe")),
    ("probes", "liveness", lambda o: _container(o, "DaemonSet", "aibos-agent").pop("livenessProbe")),
    ("secrets", "secretKeyRef", _inline_secret),
    (
        "secrets",
        "Secret object",
        lambda o: o.append({"kind": "Secret", "metadata": {"name": "dd"}, "stringData": {"api-key": "x"}}),
    ),
    ("network_policy", "default deny", lambda o: _drop_np(o, "default-deny-ingress")),
    ("network_policy", "gateway policy", lambda o: _drop_np(o, "aibos-gateway")),
    ("network_policy", "cluster-only peers", _open_to_world),
]


@pytest.mark.parametrize(("check", "removed", "mutate"), MUTATIONS, ids=[f"{c}-{r}" for c, r, _ in MUTATIONS])
def test_check_fails_when_the_property_is_removed(
    rendered: dict[str, str], check: str, removed: str, mutate: Callable[[list[Obj]], None]
) -> None:
    objs = copy.deepcopy(objects(rendered["production"]))
    mutate(objs)
    assert CHECKS[check](objs) != [], f"{check} did not notice: {removed}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_collector_probes_hit_the_health_check_port(rendered: dict[str, str], overlay: str) -> None:
    objs = objects(rendered[overlay])
    for kind, name, config in (
        ("DaemonSet", "aibos-agent", "agent.yaml"),
        ("Deployment", "aibos-gateway", "gateway.yaml"),
    ):
        container = _container(objs, kind, name)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/", "port": "health"}
        configmap = find(objs, "ConfigMap", "aibos-otelcol-config-")["data"][config]
        port = re.search(r"AIBOS_HEALTH_ENDPOINT:-0\.0\.0\.0:(\d+)", configmap)
        assert port is not None and ports["health"] == int(port.group(1))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitor_is_one_replica_with_data_and_probes_on_its_health_routes(
    rendered: dict[str, str], overlay: str
) -> None:
    objs = objects(rendered[overlay])
    monitor = find(objs, "StatefulSet", "aibos-monitor")
    assert monitor["spec"]["replicas"] == 1
    container = monitor["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (claim,) = monitor["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert f"--data-dir={mounts[claim['metadata']['name']]}" in container["args"]
    assert "--host=0.0.0.0" in container["args"]  # so it needs the token: the check in test_validate
    assert any(e["name"] == "AIBOS_MONITOR_TOKEN" for e in container["env"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_sends_the_monitor_token_and_mounts_queues(rendered: dict[str, str], overlay: str) -> None:
    objs = objects(rendered[overlay])
    gateway = _container(objs, "Deployment", "aibos-gateway")
    assert gateway["args"] == [
        "--config=/etc/aibos-otelcol/gateway.yaml",
        "--config=/etc/aibos-otelcol/gateway-monitor-token.yaml",
    ]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in gateway["env"] if "valueFrom" in e}
    monitor = _container(objs, "StatefulSet", "aibos-monitor")
    monitor_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in monitor["env"] if "valueFrom" in e}
    assert refs["AIBOS_MONITOR_TOKEN"] == monitor_refs["AIBOS_MONITOR_TOKEN"]  # one Secret, both sides
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    data_mount = {m["name"]: m["mountPath"] for m in gateway["volumeMounts"]}["data"]
    assert env["AIBOS_STORAGE_DIR"].startswith(data_mount + "/")
    assert env["AIBOS_BACKUP_PATH"].startswith(data_mount + "/")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_is_node_local(rendered: dict[str, str], overlay: str) -> None:
    objs = objects(rendered[overlay])
    service = find(objs, "Service", "aibos-agent")
    assert service["spec"]["internalTrafficPolicy"] == "Local"
    assert {p["port"] for p in service["spec"]["ports"]} == {4317, 4318}
    agent = _container(objs, "DaemonSet", "aibos-agent")
    assert all("hostPort" not in p for p in agent["ports"])


def test_production_scales_the_gateway_and_single_node_does_not(rendered: dict[str, str]) -> None:
    prod = objects(rendered["production"])
    hpa = find(prod, "HorizontalPodAutoscaler", "aibos-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "aibos-gateway",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = find(prod, "PodDisruptionBudget", "aibos-gateway")
    gateway = find(prod, "Deployment", "aibos-gateway")
    assert (
        pdb["spec"]["selector"]["matchLabels"].items()
        <= gateway["spec"]["template"]["metadata"]["labels"].items()
    )
    single = objects(rendered["single-node"])
    assert not [o for o in single if o["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")]
    assert find(single, "Deployment", "aibos-gateway")["spec"]["replicas"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_pin_the_images(rendered: dict[str, str], overlay: str) -> None:
    images = {
        c["image"]
        for o in objects(rendered[overlay])
        if o["kind"] in ("DaemonSet", "Deployment", "StatefulSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 2  # the collector and the monitor
    for image in images:
        assert not image.endswith(":dev"), image  # the base's placeholder tag
        if overlay == "production":
            assert re.fullmatch(r"\S+@sha256:[0-9a-f]{64}", image), image
