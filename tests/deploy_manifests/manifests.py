"""Render deploy/kubernetes (kubectl, else the checker's own kustomize), run the deploy/validate
checker, and read the objects."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZE_DIR = REPO / "deploy" / "kubernetes"
COMPOSE_DIR = REPO / "deploy" / "compose"
VALIDATE_BUILD = REPO / "deploy" / "validate" / "build.sh"
OVERLAYS = ("single-node", "production")

Obj = dict[str, Any]


def kubectl() -> str | None:
    """kubectl's path, or None: without it the checker's built-in kustomize renders (the same
    library, and the same bytes: tests/deploy_manifests/test_render.py)."""
    return shutil.which("kubectl")


def validator_binary() -> Path:
    """deploy/validate/build.sh's binary (built once, then a cached no-op)."""
    proc = subprocess.run(
        ["bash", str(VALIDATE_BUILD)], capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"deploy/validate/build.sh failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def render(overlay_dir: Path) -> str:
    """One overlay (or the base) rendered: ``kubectl kustomize``, else ``aibos-deploy-validate
    kustomize`` where kubectl is not installed. The multi-document YAML."""
    path = kubectl()
    argv = [path, "kustomize"] if path else [str(validator_binary()), "kustomize"]
    proc = subprocess.run([*argv, str(overlay_dir)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def validate(binary: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the checker (``k8s -`` with stdin, or ``compose ...``)."""
    return subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def objects(rendered: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def find(objs: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].startswith(name)]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


WORKLOADS = ("DaemonSet", "Deployment", "StatefulSet")


def pod_specs(objs: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(kind/name, pod spec) of every workload."""
    for o in objs:
        if o["kind"] in WORKLOADS:
            yield f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"]


def containers(spec: Obj) -> list[Obj]:
    return [*spec.get("initContainers", []), *spec["containers"]]
