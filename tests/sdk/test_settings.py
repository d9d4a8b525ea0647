"""Settings precedence: argument > AIBOS_* > OTEL_* > environment preset."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

import aibos_otel
from aibos_otel.sdk.console import ConsoleProcessor
from aibos_otel.sdk.settings import SettingsError, resolve
from tests.support.otlp_receiver import HttpReceiver


def test_presets() -> None:
    dev = resolve(environ={})
    assert (dev.environment, dev.level, dev.console, dev.console_pretty, dev.endpoint) == (
        "development",
        logging.DEBUG,
        True,
        True,
        None,
    )
    staging = resolve(environ={"AIBOS_ENVIRONMENT": "staging"})
    assert (staging.level, staging.console, staging.endpoint) == (
        logging.DEBUG,
        False,
        "http://localhost:4317",
    )
    prod = resolve(environ={"AIBOS_ENVIRONMENT": "prod", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    assert (prod.environment, prod.level, prod.console) == ("production", logging.INFO, False)
    assert prod.endpoint == "http://localhost:4318"
    assert prod.logs_endpoint == "http://localhost:4318/v1/logs"
    assert prod.file_backup_dir == Path("/var/log/aibos")


def test_argument_beats_aibos_variable_beats_otel_variable() -> None:
    environ = {
        "OTEL_SERVICE_NAME": "from-otel",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317",
        "OTEL_RESOURCE_ATTRIBUTES": "service.version=9.9,deployment.environment.name=staging",
    }
    assert resolve(environ=environ).service_name == "from-otel"
    assert resolve(environ=environ).service_version == "9.9"
    assert resolve(environ=environ).environment == "staging"
    environ |= {"AIBOS_SERVICE_NAME": "from-aibos", "AIBOS_ENDPOINT": "http://aibos:4317"}
    assert resolve(environ=environ).service_name == "from-aibos"
    assert resolve(environ=environ).endpoint == "http://aibos:4317"
    assert resolve(service_name="arg", endpoint="http://arg:1", environ=environ).service_name == "arg"
    assert resolve(service_name="arg", endpoint="http://arg:1", environ=environ).endpoint == "http://arg:1"
    assert (
        resolve(environ={"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs:4317"}).endpoint
        == "http://logs:4317"
    )


@pytest.mark.parametrize(
    ("kwargs", "environ", "message"),
    [
        ({"environment": "qa"}, {}, "environment='qa': use one of development, staging, production"),
        ({}, {"AIBOS_ENVIRONMENT": "qa"}, "AIBOS_ENVIRONMENT='qa'"),
        ({"protocol": "udp"}, {}, "protocol='udp'"),
        ({"level": "loud"}, {}, "unknown log level 'loud'"),
        ({}, {"AIBOS_CONSOLE": "maybe"}, "AIBOS_CONSOLE='maybe': expected true/false"),
        ({}, {"AIBOS_SHUTDOWN_TIMEOUT": "soon"}, "AIBOS_SHUTDOWN_TIMEOUT='soon': expected a number"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, str], environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(environ=environ, **kwargs)  # type: ignore[arg-type]


def test_otel_headers_and_compression_reach_the_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,authorization=Bearer%20t0ken")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    with HttpReceiver() as receiver:
        handle = aibos_otel.setup(
            service_name="hdr",
            environment="staging",
            endpoint=receiver.endpoint,
            protocol="http/protobuf",
            redaction=False,
        )
        logging.getLogger("tests.hdr").warning("with headers")
        assert handle.force_flush(5000)
        handle.shutdown()
    assert [r.body for r in receiver.store.snapshot()] == ["with headers"]
    headers = receiver.requests[0]
    assert headers["x-tenant"] == "acme"
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["content-encoding"] == "gzip"


def test_console_writes_json_lines_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")  # staging without a collector: console only
    stream = io.StringIO()
    handle = aibos_otel.setup(service_name="json", environment="staging", console=True, redaction=False)
    assert handle.settings.endpoint is None and handle.deliveries == ()
    handle.pipeline._downstream = (ConsoleProcessor(pretty=False, stream=stream),)
    logging.getLogger("tests.json").error("as json", extra={"n": 3})
    handle.shutdown()
    line = json.loads(stream.getvalue().splitlines()[0])
    assert (line["message"], line["level"], line["attributes"], line["service.name"]) == (
        "as json",
        "error",
        {"n": 3},
        "json",
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5", 5.0), ("0.5", 0.5), ("5s", 5.0), ("500ms", 0.5), ("1m", 60.0), (" 30s ", 30.0)],
)
def test_export_timeout_reads_the_collectors_duration_format_too(value: str, seconds: float) -> None:
    # collector-config/*.yaml read AIBOS_EXPORT_TIMEOUT as a Go duration ("30s"): one .env serves both.
    assert resolve(environ={"AIBOS_EXPORT_TIMEOUT": value}).export_timeout == seconds


@pytest.mark.parametrize("value", ["5 parsecs", "s", "1.5.5s", "9" * 40 + "s"])
def test_export_timeout_rejects_what_is_neither_seconds_nor_a_duration(value: str) -> None:
    with pytest.raises(SettingsError, match="AIBOS_EXPORT_TIMEOUT"):
        resolve(environ={"AIBOS_EXPORT_TIMEOUT": value})
