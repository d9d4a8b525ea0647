"""The dashboards type-check against Grafana's own published dashboard types (@grafana/schema).

No Grafana runs here (AGPL), but Grafana publishes the classic dashboard model and each panel's
options as TypeScript types in the Apache-2.0 npm package @grafana/schema. Each dashboard, and
each panel with its panel type's options, is written out as a typed TypeScript object literal and
compiled with ``tsc --noEmit``: unknown fields (object-literal excess property checks), wrong
value types and invalid enum values fail. Versions are pinned in schema/package-lock.json and
installed once with ``npm ci`` into the cache (``$AIBOS_CACHE_DIR``, default ~/.cache/aibos-otel).
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from .dashboards import iter_panels, load_dashboards

SCHEMA = Path(__file__).parent / "schema"
COMPOSABLE = "@grafana/schema/dist/esm/raw/composable"
# Panel type -> the TypeScript type its JSON must satisfy. Options and custom field config are
# deep-partial (Grafana fills defaults), but every key given must exist and have the right type.
PANEL_TYPES = {
    "timeseries": "Checked<timeseries.Options, timeseries.FieldConfig>",
    "stat": "Checked<stat.Options>",
    "logs": "Checked<logs.Options>",
}
PRELUDE = f"""\
import type {{ Dashboard, Panel }} from "@grafana/schema";
import type * as timeseries from "{COMPOSABLE}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type * as stat from "{COMPOSABLE}/stat/panelcfg/x/StatPanelCfg_types.gen";
import type * as logs from "{COMPOSABLE}/logs/panelcfg/x/LogsPanelCfg_types.gen";

// What JSON can hold for T: every key optional, string enums as their string values.
type Json<T> = T extends string
  ? `${{T}}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? {{ [K in keyof T]?: Json<T[K]> }}
        : T;

// Panel<TOptions> leaves `options` as Record<string, unknown>; type it with the panel's own options.
type Checked<Options, FieldConfig = Record<string, unknown>> = Omit<Panel<unknown, Json<FieldConfig>>, "options"> & {{
  options?: Json<Options>;
}};
"""


def _cache_root() -> Path | None:
    configured = os.environ.get("AIBOS_CACHE_DIR")
    if configured == "off":
        return None
    return Path(configured) if configured else Path.home() / ".cache" / "aibos-otel"


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with node_modules/{@grafana/schema,typescript} as pinned by the lockfile."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed to type-check the dashboards against @grafana/schema")
    digest = hashlib.sha256(
        (SCHEMA / "package.json").read_bytes() + (SCHEMA / "package-lock.json").read_bytes()
    ).hexdigest()[:16]
    cache = _cache_root()
    root = (cache / "grafana-schema" / digest) if cache else tmp_path_factory.mktemp("grafana-schema")
    root.mkdir(parents=True, exist_ok=True)
    # Serialised: concurrent test runs on one machine share the cache
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "node_modules" / ".package-lock.json").exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(SCHEMA / name, root / name)
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=root,
                check=False,  # the output goes into the assertion
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stdout + done.stderr
    return root


def typescript_for(dashboard: Mapping[str, Any]) -> str:
    """The dashboard and each of its panels as typed constants."""
    parts = [PRELUDE, f"export const dashboard: Dashboard = {json.dumps(dashboard, indent=2)};\n"]
    for panel in iter_panels(dashboard):
        assert panel["type"] in PANEL_TYPES, f"add the options type of panel type {panel['type']!r}"
        parts.append(
            f"export const panel{panel['id']}: {PANEL_TYPES[panel['type']]} = {json.dumps(panel)};\n"
        )
    return "\n".join(parts)


def compile_errors(toolchain: Path, sources: Mapping[str, str]) -> str:
    """Run tsc over the sources (written beside the toolchain's node_modules); its diagnostics."""
    with tempfile.TemporaryDirectory(dir=toolchain, prefix="check-") as tmp:
        files = []
        for name, text in sources.items():
            path = Path(tmp) / f"{name}.ts"
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        done = subprocess.run(
            [
                shutil.which("node") or "node",
                str(toolchain / "node_modules" / "typescript" / "bin" / "tsc"),
                "--noEmit",
                "--strict",
                "--skipLibCheck",  # check our literals, not the package's own declarations
                "--moduleResolution",
                "bundler",
                "--module",
                "esnext",
                "--target",
                "es2022",
                *files,
            ],
            cwd=tmp,  # tsc names files relative to it
            check=False,  # diagnostics are the result
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert (done.returncode == 0) == (output.strip() == ""), output
        return output


def test_dashboards_type_check_against_grafana_schema(toolchain: Path) -> None:
    sources = {Path(name).stem: typescript_for(d) for name, d in load_dashboards().items()}
    assert compile_errors(toolchain, sources) == ""


def _mutations() -> Iterator[tuple[str, dict[str, Any], str]]:
    """Broken copies of a shipped dashboard, and what tsc must say about each."""
    dashboards = load_dashboards()
    logs = dashboards["aibos-logs.json"]
    monitor = dashboards["aibos-monitor.json"]

    broken = copy.deepcopy(logs)
    broken["panels"][0]["gridpos"] = broken["panels"][0].pop("gridPos")
    yield "misspelled_panel_field", broken, "'\"gridpos\"' does not exist"

    broken = copy.deepcopy(monitor)
    panel = next(p for p in broken["panels"] if p["type"] == "timeseries")
    panel["options"]["legend"]["placment"] = "right"
    yield "misspelled_option", broken, "'\"placment\"' does not exist"

    broken = copy.deepcopy(logs)
    panel = next(p for p in broken["panels"] if p["type"] == "logs")
    panel["options"]["sortOrder"] = "Newest"
    yield "invalid_enum_value", broken, '"Newest"'

    broken = copy.deepcopy(monitor)
    broken["templating"]["list"][0]["refresh"] = "on load"
    yield "wrong_value_type", broken, "VariableRefresh"


def test_the_check_rejects_broken_dashboards(toolchain: Path) -> None:
    # Without this, a type that resolved to `any` would pass everything above.
    mutations = list(_mutations())
    output = compile_errors(toolchain, {name: typescript_for(d) for name, d, _ in mutations})
    for name, _, expected in mutations:
        mine = [line for line in output.splitlines() if line.startswith(f"{name}.ts(")]
        assert any(expected in line for line in mine), (name, expected, output)
