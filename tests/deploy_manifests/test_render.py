"""The checker's built-in kustomize renders what ``kubectl kustomize`` renders, byte for byte, so a
machine without kubectl validates the same objects; and it refuses what kubectl refuses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy_manifests.manifests import KUSTOMIZE_DIR, OVERLAYS, kubectl, validate


def _kubectl_or_skip() -> str:
    path = kubectl()
    if path is None:
        pytest.skip("kubectl is not installed: nothing to compare the built-in kustomize with")
    return path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_in_kustomize_matches_kubectl(checker: Path, overlay: str) -> None:
    directory = KUSTOMIZE_DIR / "overlays" / overlay
    ours = validate(checker, "kustomize", str(directory))
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(
        [_kubectl_or_skip(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert ours.stdout == theirs.stdout


def test_built_in_kustomize_refuses_files_outside_its_root(checker: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE_DIR, copy)
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n", encoding="utf-8")
    kustomization = copy / "base" / "kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8")
    kustomization.write_text(
        text.replace("resources:\n", "resources:\n  - ../../outside.yaml\n", 1), encoding="utf-8"
    )
    proc = validate(checker, "kustomize", str(copy / "overlays" / "production"))
    assert proc.returncode != 0
    assert "outside.yaml" in proc.stderr
