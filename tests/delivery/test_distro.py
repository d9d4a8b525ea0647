"""The distro picks its own configurator even when another one is installed and listed first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.delivery.conftest import ROOT, clean_env, run_instrumented
from tests.delivery.receiver import OtlpReceiver

PROBE = """
import logging
from opentelemetry import trace
logging.getLogger("probe").warning("hello from probe")
with trace.get_tracer("probe").start_as_current_span("work") as span:
    span.set_attribute("db.statement", "UPDATE users SET password=hunter2-Secret")
    logging.getLogger("probe").error("inside a span")
"""


def _rival_package(site: Path) -> None:
    # A second configurator that, if it ran, would announce itself and build the stock pipeline.
    (site / "rival_conf.py").write_text(
        "from opentelemetry.sdk._configuration import _OTelSDKConfigurator\n"
        "class Rival(_OTelSDKConfigurator):\n"
        "    def _configure(self, **kwargs):\n"
        "        print('RIVAL CONFIGURATOR RAN', flush=True)\n"
        "        super()._configure(**kwargs)\n"
    )
    dist = site / "rival_conf-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rival-conf\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[opentelemetry_configurator]\nrival = rival_conf:Rival\n")


def test_aibos_configurator_wins_over_a_rival_listed_first(tmp_path: Path, receiver: OtlpReceiver) -> None:
    _rival_package(tmp_path)
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = clean_env(
        PYTHONPATH=f"{tmp_path}:{ROOT}",  # the rival comes first in entry-point order
        # Only standard OTEL_* variables here: the aibos settings must follow them.
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="probe",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=staging,team=payments",
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_LOGS_EXPORTER="otlp",  # what users of the stock distro set: must not export twice
        OTEL_PYTHON_DISTRO="aibos",
    )
    result = run_instrumented(script, env)
    assert result.returncode == 0, result.stderr
    assert "RIVAL CONFIGURATOR RAN" not in result.stdout
    assert "Overriding of current LoggerProvider" not in result.stderr
    assert receiver.wait_for(lambda logs: len(logs) >= 2, timeout=10)
    logs = [r for r in receiver.snapshot() if r["scope"] == "probe"]
    assert sorted(r["body"] for r in logs) == ["hello from probe", "inside a span"]  # once each
    inside = next(r for r in logs if r["body"] == "inside a span")
    assert inside["trace_id"] != "" and int(inside["trace_id"], 16) != 0
    for record in logs:
        assert record["resource"]["telemetry.distro.name"] == "aibos-otel"
        assert record["resource"]["service.name"] == "probe"
        assert record["resource"]["deployment.environment.name"] == "staging"
        assert record["resource"]["team"] == "payments"
    # the stock configurator exported the span to the same collector, with the same resource
    assert [(s["name"], s["service"], s["trace_id"]) for s in receiver.spans] == [
        ("work", "probe", inside["trace_id"])
    ]
    # ... redacted by the same engine as the logs (the stock exporter sits behind the aibos wrapper)
    [span] = receiver.spans
    assert "hunter2" not in span["attributes"]["db.statement"]
    assert "[REDACTED:" in span["attributes"]["db.statement"]


def test_distro_defaults_follow_the_aibos_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from aibos_otel.distro import AibosDistro

    # The distro writes os.environ itself; monkeypatch only restores names it saw set, so set
    # each one first (then delete) to have every name the distro may write put back afterwards.
    for name in (
        "OTEL_PYTHON_CONFIGURATOR",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "AIBOS_ENDPOINT",
        "AIBOS_ENVIRONMENT",
        "AIBOS_PROTOCOL",
    ):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    # Development without an endpoint: spans exist, nothing retries against a missing collector.
    AibosDistro()._configure()
    assert os.environ["OTEL_PYTHON_CONFIGURATOR"] == "aibos"
    assert (os.environ["OTEL_TRACES_EXPORTER"], os.environ["OTEL_METRICS_EXPORTER"]) == ("none", "none")
    for name in ("OTEL_PYTHON_CONFIGURATOR", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        monkeypatch.delenv(name)
    # An HTTP endpoint for the logs becomes the base endpoint of the stock trace/metric exporters.
    monkeypatch.setenv("AIBOS_ENDPOINT", "http://collector:4318/v1/logs")
    monkeypatch.setenv("AIBOS_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")  # an explicit choice is kept
    AibosDistro()._configure()
    assert os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert os.environ["OTEL_TRACES_EXPORTER"] == "console"
    assert os.environ["OTEL_METRICS_EXPORTER"] == "otlp"
