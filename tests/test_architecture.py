"""The dependency rules of docs/architecture.md, checked on the source."""

import subprocess
import sys
from pathlib import Path

from scripts.import_graph import graph

ROOT = Path(__file__).resolve().parent.parent


def test_sdk_and_monitor_do_not_import_each_other() -> None:
    edges = graph()
    assert "monitor" not in edges.get("sdk", set())
    assert "sdk" not in edges.get("monitor", set())


def test_shared_libraries_depend_on_no_application_layer() -> None:
    edges = graph()
    for library in ("redaction", "policy", "fingerprint", "levels", "alerting", "saferegex", "terminal"):
        assert not edges.get(library, set()) & {"sdk", "monitor", "cli", "distro", "lifecycle"}, library


def test_importing_the_package_loads_no_opentelemetry_sdk_grpc_or_yaml() -> None:
    code = (
        "import sys, aibos_otel; "
        "heavy = [m for m in ('grpc', 'yaml', 'sqlite3', 'opentelemetry.sdk', 'google.protobuf') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_testing_helpers_are_imported_by_no_layer() -> None:
    edges = graph()
    assert edges.get("testing", set()) <= {"sdk"}
    assert not [area for area, targets in edges.items() if "testing" in targets]


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    # Lazy imports inside functions and TYPE_CHECKING imports count too: a circle hidden in a
    # function is still a circle a reader has to walk (docs/architecture.md, "Who imports whom").
    from scripts.import_graph import cycles, module_graph

    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the check can fail
    edges = module_graph()
    assert "aibos_otel.redaction.catalogue_secrets" in edges["aibos_otel.redaction.catalogue"]
    assert cycles(edges) == []


# The monitor's folders follow its flow (docs/monitor.md): each stage may import the ground floor
# (modules directly in aibos_otel/monitor/) and the stages listed for it, nothing else; server.py
# and commands.py wire everything.
MONITOR_STAGES: dict[str, set[str]] = {
    "ground": set(),
    "receive": set(),
    "notify": set(),
    "evaluate": {"receive", "notify"},
    "serve": {"receive", "evaluate", "notify"},
}
WIRING = {"aibos_otel.monitor.server", "aibos_otel.monitor.commands"}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["aibos_otel", "monitor"] or module in WIRING:
        return None
    return parts[2] if len(parts) > 3 and parts[2] in MONITOR_STAGES else "ground"


def test_monitor_stages_point_one_way() -> None:
    from scripts.import_graph import module_graph

    edges = module_graph()
    assert {_stage(m) for m in edges if m.startswith("aibos_otel.monitor.")} >= set(MONITOR_STAGES)
    wrong = []
    for module, targets in edges.items():
        stage = _stage(module)
        if stage is None:
            continue
        for target in targets:
            to = _stage(target)
            if target in WIRING or (to is not None and to not in (stage, "ground", *MONITOR_STAGES[stage])):
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong
