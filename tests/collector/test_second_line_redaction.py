"""The gateway's second line: the collector's own ``aibosredaction`` processor, with no SDK in the path.

Every case of the conformance file (every catalogue example and negative of the default profiles, every
public-corpus line, every redaction-probe shape) goes as raw OTLP through the real gateway.yaml; what
the Loki stand-in receives must be what the Python engine makes of the same text -- except the cases
listed in the Go package's known_divergences.txt, which must still be masked where the SDK masked.
So on the corpus the second line's recall and false positives are the SDK's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.conftest import gateway_env
from tests.collector.harness import (
    Collector,
    DatadogStandIn,
    LokiStandIn,
    by_id,
    record_ids,
    send_raw_logs,
    wait_for,
)
from tests.support.otlp_receiver import GrpcReceiver, Record

REPO = Path(__file__).resolve().parents[2]
COMPONENT = REPO / "collector-components" / "aibosredactionprocessor"
GATEWAY = REPO / "collector-config" / "gateway.yaml"
RENDER_SCRIPT = REPO / "collector-config" / "render_redaction.py"


def conformance() -> list[dict[str, str]]:
    document = json.loads((COMPONENT / "testdata" / "conformance.json").read_text(encoding="utf-8"))
    cases: list[dict[str, str]] = document["cases"]
    return cases


def known_divergences() -> set[str]:
    lines = (COMPONENT / "testdata" / "known_divergences.txt").read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


CASES = conformance()
OVERSIZED = "start " + "a" * (1 << 20) + " password=Summer2611!Qx"


@pytest.fixture(scope="module")
def gateway_run(otelcol_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every conformance case (and one oversized value) through the real gateway; what Loki got."""
    workdir = tmp_path_factory.mktemp("second-line")
    with LokiStandIn() as loki, DatadogStandIn() as datadog, GrpcReceiver() as monitor:
        env = gateway_env(loki, datadog, monitor)
        with Collector(otelcol_binary, GATEWAY, workdir, env, "gateway") as gateway:
            records = [(f"c{i:05d}", case["text"], {}) for i, case in enumerate(CASES)]
            for offset in range(0, len(records), 200):
                send_raw_logs(gateway.grpc_endpoint, "no-sdk", records[offset : offset + 200])
            send_raw_logs(
                gateway.grpc_endpoint, "no-sdk", [("oversized", OVERSIZED, {"db.password": "pw-9"})]
            )
            ids = {record_id for record_id, _, _ in records} | {"oversized"}
            assert wait_for(lambda: ids <= set(record_ids(loki.records())), 60), gateway.log_tail()
            failures = {"value": None}

            def failures_exported() -> bool:
                failures["value"] = gateway.self_metric("aibos_redaction_failures_total")
                return failures["value"] is not None

            assert wait_for(failures_exported, 30, 0.5), gateway.log_tail()
            yield {
                "records": by_id(loki.records()),
                "failures": failures["value"],
                "records_total": gateway.self_metric("aibos_redaction_records_total", signal="logs"),
                "masked_email": gateway.self_metric("aibos_redaction_masked_total", detector="email"),
                # The telemetry endpoint names series without unit or type suffixes (as for otelcol_*).
                "duration_count": gateway.self_metric("aibos_redaction_duration_count", signal="logs"),
            }


def body_of(run: dict[str, Any], index: int) -> str:
    record: Record = run["records"][f"c{index:05d}"]
    return str(record.body)


def test_every_case_is_redacted_as_the_sdk_redacts_it(gateway_run: dict[str, Any]) -> None:
    known = known_divergences()
    differ = [
        (case["id"], case["expected"], body_of(gateway_run, i))
        for i, case in enumerate(CASES)
        if body_of(gateway_run, i) != case["expected"] and case["id"] not in known
    ]
    assert not differ, differ[:20]


def test_every_catalogue_example_is_masked(gateway_run: dict[str, Any]) -> None:
    examples = [(i, case) for i, case in enumerate(CASES) if case["id"].startswith("example:")]
    assert len(examples) > 300  # guards against checking nothing
    unmasked = [case["id"] for i, case in examples if "[REDACTED:" not in body_of(gateway_run, i)]
    assert not unmasked


def test_corpus_recall_and_false_positives_equal_the_sdks(gateway_run: dict[str, Any]) -> None:
    corpus = next(
        (
            base / "shared" / "corpus" / "redaction-public.jsonl"
            for base in REPO.parents
            if (base / "shared" / "corpus" / "redaction-public.jsonl").exists()
        ),
        None,
    )
    if corpus is None:  # as tests/redaction/test_corpus.py: the labels live only in ../shared
        pytest.skip("public corpus not present beside the checkout")
    rows = {f"corpus:{row['id']}": row for row in map(json.loads, corpus.read_text().splitlines()) if row}
    index = {case["id"]: i for i, case in enumerate(CASES)}
    sdk = collector = (0, 0)
    for case_id, row in rows.items():
        case = CASES[index[case_id]]
        body = body_of(gateway_run, index[case_id])
        if row["secret"]:
            sdk = (sdk[0] + (row["secret"] not in case["expected"]), sdk[1])
            collector = (collector[0] + (row["secret"] not in body), collector[1])
        else:
            sdk = (sdk[0], sdk[1] + (case["expected"] != row["text"]))
            collector = (collector[0], collector[1] + (body != row["text"]))
    assert collector == sdk, (collector, sdk)


def test_oversized_value_head_scanned_rest_masked_and_counted(gateway_run: dict[str, Any]) -> None:
    record: Record = gateway_run["records"]["oversized"]
    body = str(record.body)
    assert body.startswith("start aaaa") and body.endswith("[REDACTED:redaction-oversized]")
    assert "Summer2611" not in body
    assert record.attributes["db.password"] == "[REDACTED:sensitive-key]"
    assert gateway_run["failures"] is not None and gateway_run["failures"] >= 1


def test_processor_metrics_on_the_telemetry_endpoint(gateway_run: dict[str, Any]) -> None:
    assert gateway_run["records_total"] is not None and gateway_run["records_total"] >= len(CASES)
    assert gateway_run["masked_email"] is not None and gateway_run["masked_email"] >= 1
    assert gateway_run["duration_count"] is not None and gateway_run["duration_count"] >= 1


def test_generated_catalogue_and_conformance_files_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(RENDER_SCRIPT), "--check"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
