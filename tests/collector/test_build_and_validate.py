"""The build script's contract and `aibos-otelcol validate` on every collector YAML."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.collector.conftest import BUILD_SCRIPT
from tests.collector.harness import CONFIG_DIR, DD_API_KEY

# traces-otlp.yaml is an overlay merged after gateway.yaml (tests/collector/test_traces_pipeline.py).
OVERLAYS = {"traces-otlp.yaml"}
COLLECTOR_YAMLS = sorted(
    p for p in CONFIG_DIR.glob("*.yaml") if p.name != "builder-config.yaml" and p.name not in OVERLAYS
)


def test_second_build_is_a_no_op_printing_the_cached_binary(otelcol_binary: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=60, check=True)
    elapsed = time.monotonic() - started
    assert proc.stdout.strip().splitlines() == [str(otelcol_binary)]
    assert proc.stderr == ""  # nothing installed, generated or compiled
    assert elapsed < 30  # a rebuild takes minutes; the slack is for a busy machine
    # The binary lives outside the repository, in a directory named after the manifest's hash.
    repo = BUILD_SCRIPT.parents[1]
    assert repo not in otelcol_binary.parents
    assert otelcol_binary.name == "aibos-otelcol"


def test_binary_has_every_component_the_configs_need(otelcol_binary: Path) -> None:
    out = subprocess.run(
        [str(otelcol_binary), "components"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    listed = yaml.safe_load(out)
    names = {kind: {c["name"] for c in listed[kind]} for kind in ("receivers", "processors", "exporters")}
    names["connectors"] = {c["name"] for c in listed["connectors"]}
    names["extensions"] = {c["name"] for c in listed["extensions"]}
    assert listed["buildinfo"]["version"] == "0.161.0"
    for path in COLLECTOR_YAMLS:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind, available in names.items():
            for component_id in config.get(kind, {}):
                assert component_id.split("/")[0] in available, f"{path.name}: {kind} {component_id}"


@pytest.mark.parametrize("config", COLLECTOR_YAMLS, ids=lambda p: p.name)
def test_validate_accepts_config_with_only_dd_api_key_set(otelcol_binary: Path, config: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DD_API_KEY": DD_API_KEY,
    }  # nothing else: every other ${env:} has a default
    proc = subprocess.run(
        [str(otelcol_binary), "validate", f"--config={config}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_validate_rejects_a_broken_config(otelcol_binary: Path, tmp_path: Path) -> None:
    # Guards the test above: validate must really parse processors (here an OTTL path typo).
    broken = tmp_path / "broken.yaml"
    text = (CONFIG_DIR / "gateway.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("log.severity_number >= 21", "log.severity_numbr >= 21"), encoding="utf-8")
    proc = subprocess.run(
        [str(otelcol_binary), "validate", f"--config={broken}"],
        env={"PATH": "/usr/bin:/bin", "DD_API_KEY": DD_API_KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "severity_numbr" in proc.stderr
