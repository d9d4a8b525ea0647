"""The security and operability properties of the rendered Kubernetes objects, as checks that
return problems (one string each, naming the object), so a test can show each check fails when
its property is removed."""

from __future__ import annotations

import re

from tests.deploy_manifests.manifests import Obj, containers, pod_specs

SECRET_NAME = re.compile(r"KEY|TOKEN|PASSWORD|SECRET|WEBHOOK|ROUTING|CREDENTIAL", re.IGNORECASE)
OTLP_PORTS = {4317, 4318}


def security_context(objs: list[Obj]) -> list[str]:
    """Non-root, seccomp RuntimeDefault, read-only root, no privilege escalation, no capability."""
    problems = []
    for where, spec in pod_specs(objs):
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or pod.get("runAsUser", 0) == 0:
            problems.append(f"{where}: pod not runAsNonRoot with a non-zero runAsUser")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: service account token mounted")
        for c in containers(spec):
            sc = c.get("securityContext", {})
            name = f"{where} container {c['name']}"
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{name}: root filesystem not read-only")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: privilege escalation allowed")
            if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
                problems.append(f"{name}: capabilities not drop [ALL]")
            if sc.get("runAsUser") == 0 or sc.get("privileged"):
                problems.append(f"{name}: runs as root or privileged")
    return problems


def resources(objs: list[Obj]) -> list[str]:
    """CPU and memory requests and limits on every container, requests not above limits."""
    problems = []
    for where, spec in pod_specs(objs):
        for c in containers(spec):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in res.get(kind, {}):
                        problems.append(f"{where} container {c['name']}: no {kind}.{resource}")
    return problems


def probes(objs: list[Obj]) -> list[str]:
    """Liveness and readiness probes, HTTP, on a port the container declares."""
    problems = []
    for where, spec in pod_specs(objs):
        for c in spec["containers"]:
            declared = {p.get("name") for p in c.get("ports", [])} | {
                p["containerPort"] for p in c.get("ports", [])
            }
            for probe in ("livenessProbe", "readinessProbe"):
                http = c.get(probe, {}).get("httpGet")
                if http is None:
                    problems.append(f"{where} container {c['name']}: no HTTP {probe}")
                elif http["port"] not in declared:
                    problems.append(
                        f"{where} container {c['name']}: {probe} port {http['port']} not declared"
                    )
    return problems


def secrets(objs: list[Obj]) -> list[str]:
    """No Secret object (so no literal secret data); every secret-looking variable from a secretKeyRef."""
    problems = [
        f"Secret/{o['metadata']['name']}: secret data in the manifests" for o in objs if o["kind"] == "Secret"
    ]
    for where, spec in pod_specs(objs):
        for c in containers(spec):
            for env in c.get("env", []):
                if SECRET_NAME.search(env["name"]) and "secretKeyRef" not in env.get("valueFrom", {}):
                    problems.append(f"{where} container {c['name']}: {env['name']} not from a secretKeyRef")
    for o in objs:
        if o["kind"] == "ConfigMap":
            for key, value in o.get("data", {}).items():
                if SECRET_NAME.search(key) and "\n" not in value:  # a setting, not a config file
                    problems.append(f"ConfigMap/{o['metadata']['name']}: {key} is a secret in a ConfigMap")
    return problems


def _selects(policy: Obj, labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def network_policy(objs: list[Obj]) -> list[str]:
    """Default-deny ingress; every pod selected; every ingress peer a selector inside the cluster;
    OTLP admitted to every workload that listens for it."""
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    problems = []
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") for p in policies):
        problems.append("no default-deny ingress NetworkPolicy")
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            peers = rule.get("from", [])
            if not peers:
                problems.append(
                    f"NetworkPolicy/{p['metadata']['name']}: a rule without `from` admits the world"
                )
            for peer in peers:
                if "ipBlock" in peer or not ({"podSelector", "namespaceSelector"} & set(peer)):
                    problems.append(
                        f"NetworkPolicy/{p['metadata']['name']}: peer {peer} is not a cluster selector"
                    )
    for o in objs:
        if o["kind"] not in ("DaemonSet", "Deployment", "StatefulSet"):
            continue
        labels = o["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if p["spec"]["podSelector"] != {} and _selects(p, labels)]
        admitted = {
            port["port"] for p in mine for r in p["spec"].get("ingress", []) for port in r.get("ports", [])
        }
        if not admitted >= OTLP_PORTS:
            problems.append(
                f"{o['kind']}/{o['metadata']['name']}: OTLP not admitted by a NetworkPolicy of its own"
            )
    return problems


CHECKS = {
    "security_context": security_context,
    "resources": resources,
    "probes": probes,
    "secrets": secrets,
    "network_policy": network_policy,
}
