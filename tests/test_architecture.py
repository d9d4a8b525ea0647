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
    for library in ("redaction", "policy", "fingerprint", "levels", "saferegex", "terminal"):
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
