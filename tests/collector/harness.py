"""Real processes and recording stand-ins for the collector tests.

- :class:`Collector` runs the real ``aibos-otelcol`` on 127.0.0.1 ports picked at run time.
- :class:`LokiStandIn` records what Loki's native OTLP endpoint (``POST /otlp/v1/logs``) would ingest, with
  Loki's exact content-type rule, and can answer 503 for a while (an outage).
- :class:`DatadogStandIn` records what Datadog's OTLP logs intake (``POST /v1/logs``, ``dd-api-key``) gets.
- :class:`Prometheus` runs the real Prometheus (Debian package) scraping the collector.

Everything listens on 127.0.0.1 only and is stopped by its context manager.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.support.helpers import free_port, wait_for
from tests.support.otlp_receiver import Record, Span, Store

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "collector-config"
SENDER = Path(__file__).with_name("sender_service.py")
RECORD_ID = "test.record_id"
# A syntactically valid Datadog API key (32 hex characters); the stand-in checks it arrives unchanged.
DD_API_KEY = "0123456789abcdef0123456789abcdef"


def record_ids(records: list[Record]) -> Counter[str]:
    """How many times each test record id arrived."""
    return Counter(str(r.attributes[RECORD_ID]) for r in records if RECORD_ID in r.attributes)


# ---------------------------------------------------------------------------------------------- stand-ins


@dataclass
class Request:
    """One HTTP request a stand-in received."""

    path: str
    headers: dict[str, str]
    status: int
    at: float


@dataclass
class _OtlpState:
    store: Store = field(default_factory=Store)
    requests: list[Request] = field(default_factory=list)
    fail_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _OtlpHttpStandIn:
    """A threaded HTTP server that accepts OTLP/HTTP protobuf logs on one path and records them
    (and spans and metrics on ``traces_path`` and ``metrics_path`` when a subclass sets them)."""

    path = "/v1/logs"
    traces_path: str | None = None
    metrics_path: str | None = None
    ok_status = 200

    def __init__(self) -> None:
        self.state = state = _OtlpState()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                status = stand_in._status_for(self.path, dict(self.headers.items()))
                with state.lock:
                    state.requests.append(
                        Request(self.path, dict(self.headers.items()), status, time.monotonic())
                    )
                if status == stand_in.ok_status:
                    if self.headers.get("Content-Encoding") == "gzip":
                        data = gzip.decompress(data)
                    if self.path == stand_in.traces_path:
                        spans = trace_service_pb2.ExportTraceServiceRequest()
                        spans.ParseFromString(data)
                        state.store.add_traces(spans)
                    elif self.path == stand_in.metrics_path:
                        metrics = metrics_service_pb2.ExportMetricsServiceRequest()
                        metrics.ParseFromString(data)
                        state.store.add_metrics(metrics)
                    else:
                        request = logs_service_pb2.ExportLogsServiceRequest()
                        request.ParseFromString(data)
                        state.store.add_logs(request)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _status_for(self, path: str, headers: Mapping[str, str]) -> int:
        if path not in (self.path, self.traces_path, self.metrics_path):
            return 404
        if time.monotonic() < self.state.fail_until:
            return 503
        return self.ok_status

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_for(self, seconds: float) -> None:
        """Answer 503 Service Unavailable for the next ``seconds``."""
        self.state.fail_until = time.monotonic() + seconds

    def records(self) -> list[Record]:
        return self.state.store.snapshot()

    def spans(self) -> list[Span]:
        return self.state.store.span_snapshot()

    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class LokiStandIn(_OtlpHttpStandIn):
    """Loki's ``POST /otlp/v1/logs``: protobuf only with the exact content type, 204 on success.

    Loki matches ``Content-Type`` exactly (``application/x-protobuf`` or ``application/json``; a
    ``; charset=...`` suffix is a 400), accepts ``Content-Encoding: gzip`` and answers 204.
    """

    path = "/otlp/v1/logs"
    ok_status = 204

    def _status_for(self, path: str, headers: Mapping[str, str]) -> int:
        status = super()._status_for(path, headers)
        if status == self.ok_status and headers.get("Content-Type") != "application/x-protobuf":
            return 400
        return status

    @property
    def endpoint(self) -> str:
        """What LOKI_ENDPOINT is set to (the collector appends /v1/logs)."""
        return f"{self.base_url}/otlp"


class DatadogStandIn(_OtlpHttpStandIn):
    """Datadog's OTLP intake: ``POST /v1/logs``, ``/v1/traces`` and ``/v1/metrics`` (http/protobuf)
    authenticated by ``dd-api-key``."""

    path = "/v1/logs"
    traces_path = "/v1/traces"
    metrics_path = "/v1/metrics"
    ok_status = 202

    def __init__(self, api_key: str = DD_API_KEY) -> None:
        super().__init__()
        self.api_key = api_key

    def _status_for(self, path: str, headers: Mapping[str, str]) -> int:
        status = super()._status_for(path, headers)
        lowered = {k.lower(): v for k, v in headers.items()}
        if status == self.ok_status and lowered.get("dd-api-key") != self.api_key:
            return 403
        if status == self.ok_status and lowered.get("content-type") != "application/x-protobuf":
            return 415
        return status

    @property
    def endpoint(self) -> str:
        """What DD_LOGS_ENDPOINT is set to."""
        return f"{self.base_url}/v1/logs"

    @property
    def traces_endpoint(self) -> str:
        """What DD_TRACES_ENDPOINT is set to."""
        return f"{self.base_url}/v1/traces"

    @property
    def metrics_endpoint(self) -> str:
        """What DD_METRICS_ENDPOINT is set to."""
        return f"{self.base_url}/v1/metrics"


class TraceBackendStandIn(_OtlpHttpStandIn):
    """An OTLP/HTTP trace backend (Tempo, Jaeger): ``POST /v1/traces``, 200 on success."""

    path = "/v1/logs"  # answers logs too (404 would be just as good); traces are what it is for
    traces_path = "/v1/traces"


def read_file_backup(path: Path) -> list[Record]:
    """Decode the file exporter's output (one OTLP-JSON ExportLogsServiceRequest per line), rotated too."""
    store = Store()
    for file in sorted(path.parent.glob(f"{path.stem}*{path.suffix}")):
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                store.add_logs(json_format.Parse(line, logs_service_pb2.ExportLogsServiceRequest()))
    return store.snapshot()


# ---------------------------------------------------------------------------------------------- processes


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class CollectorPorts:
    """Every port one collector listens on, picked free at run time."""

    grpc: int = field(default_factory=free_port)
    http: int = field(default_factory=free_port)
    health: int = field(default_factory=free_port)
    pprof: int = field(default_factory=free_port)
    zpages: int = field(default_factory=free_port)
    telemetry: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)

    def env(self) -> dict[str, str]:
        return {
            "AIBOS_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc}",
            "AIBOS_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.http}",
            "AIBOS_HEALTH_ENDPOINT": f"127.0.0.1:{self.health}",
            "AIBOS_PPROF_ENDPOINT": f"127.0.0.1:{self.pprof}",
            "AIBOS_ZPAGES_ENDPOINT": f"127.0.0.1:{self.zpages}",
            "AIBOS_TELEMETRY_HOST": "127.0.0.1",
            "AIBOS_TELEMETRY_PORT": str(self.telemetry),
            "AIBOS_METRICS_ENDPOINT": f"127.0.0.1:{self.metrics}",
        }


# Short retries for tests: production defaults (5s..30s backoff) would make an outage test wait far longer.
FAST_RETRY = {
    "AIBOS_RETRY_INITIAL_INTERVAL": "200ms",
    "AIBOS_RETRY_MAX_INTERVAL": "1s",
    "AIBOS_EXPORT_TIMEOUT": "5s",
    "AIBOS_BATCH_TIMEOUT": "100ms",
    "AIBOS_BACKUP_FLUSH_INTERVAL": "100ms",
}


class Collector:
    """The real aibos-otelcol with one config file, on 127.0.0.1; restartable with the same state."""

    def __init__(
        self,
        binary: Path,
        config: Path,
        workdir: Path,
        env: Mapping[str, str],
        name: str,
        extra_configs: tuple[Path, ...] = (),
    ) -> None:
        self.binary = binary
        self.config = config
        self.extra_configs = extra_configs  # merged after ``config`` (e.g. traces-otlp.yaml)
        self.workdir = workdir
        self.name = name
        self.ports = CollectorPorts()
        self.storage_dir = workdir / f"{name}-queue"
        self.backup_path = workdir / f"{name}-backup" / "logs.jsonl"
        self.log_path = workdir / f"{name}.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "AIBOS_STORAGE_DIR": str(self.storage_dir),
            "AIBOS_BACKUP_PATH": str(self.backup_path),
            **self.ports.env(),
            **FAST_RETRY,
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.grpc}"

    def start(self, timeout: float = 30.0) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [str(self.binary), *(f"--config={c}" for c in (self.config, *self.extra_configs))],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()
        health = f"http://127.0.0.1:{self.ports.health}/"
        proc = self.proc
        if not wait_for(lambda: proc.poll() is not None or _http_ok(health), timeout, 0.05):
            raise RuntimeError(f"{self.name} not healthy within {timeout}s:\n{self.log_tail()}")
        if proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {proc.returncode}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def metrics_text(self) -> str:
        """The derived-metrics endpoint (prometheus exporter) as Prometheus text."""
        url = f"http://127.0.0.1:{self.ports.metrics}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def self_metric(self, name: str, **labels: str) -> float | None:
        """One sample of the collector's own telemetry (the Prometheus endpoint on AIBOS_TELEMETRY_PORT)."""
        from prometheus_client.parser import text_string_to_metric_families

        url = f"http://127.0.0.1:{self.ports.telemetry}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Prometheus:
    """The real Prometheus (Debian package) with deploy/prometheus/ (config and rules), on 127.0.0.1.

    The shipped targets are pointed at the given collector ports and scraped every second.
    """

    def __init__(
        self, workdir: Path, derived_target: str, self_target: str, monitor_target: str | None = None
    ) -> None:
        self.binary = shutil.which("prometheus")
        if self.binary is None:
            raise RuntimeError("prometheus is not installed (scripts/install-debian-packages.sh installs it)")
        self.port = free_port()
        self.workdir = workdir / "prometheus"
        shutil.copytree(REPO / "deploy" / "prometheus", self.workdir)
        self.config = self.workdir / "prometheus.yml"
        text = self.config.read_text(encoding="utf-8")
        for shipped, local in (
            ("aibos-gateway:8889", derived_target),
            ("aibos-gateway:8888", self_target),
            # without a monitor nothing listens there: keeps every lookup and connection on loopback
            ("aibos-monitor:8088", monitor_target or f"127.0.0.1:{free_port()}"),
            ("alertmanager:9093", f"127.0.0.1:{free_port()}"),
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
        ):
            assert shipped in text, shipped
            text = text.replace(shipped, local)
        self.config.write_text(text, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        assert self.binary is not None
        log = (self.workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if not wait_for(lambda: _http_ok(f"{self.url}/-/ready"), 20):
            self.__exit__()
            raise RuntimeError("prometheus did not become ready")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; returns ``data``."""
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; returns the ``result`` vector."""
        return list(self.api("query", query=promql)["result"])


# ---------------------------------------------------------------------------------------------- sender


def run_sender(
    endpoint: str,
    *,
    service: str,
    count: int,
    run_id: str,
    protocol: str = "grpc",
    alert_info: bool = False,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Run sender_service.py as a separate process; returns the records it says it logged."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIBOS_"))
    }  # the sender is configured by its arguments only
    proc = subprocess.run(
        [
            sys.executable,
            str(SENDER),
            f"--endpoint={endpoint}",
            f"--protocol={protocol}",
            f"--service={service}",
            f"--count={count}",
            f"--run-id={run_id}",
            *(["--alert-info"] if alert_info else []),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"sender failed ({proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
    sent: list[dict[str, Any]] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return sent


def by_id(records: list[Record]) -> dict[str, Record]:
    return {str(r.attributes[RECORD_ID]): r for r in records if RECORD_ID in r.attributes}


def iter_test_records(records: list[Record], run_id: str) -> Iterator[Record]:
    return (r for r in records if str(r.attributes.get(RECORD_ID, "")).startswith(run_id))


# ---------------------------------------------------------------------------------------------- raw client

# Secrets a service without the SDK's redaction might log; the gateway's second line must mask each one.
PLANTED_SECRETS = {
    "aws_key": "AKIAIOSFODNN7EXAMPLQ",  # not AWS's documented example key, which both engines keep
    "bearer": "Bearer tok3n.abc-DEF_ghi",
    "basic_auth": "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXRlc3Q",
    "email": "jane.doe@example.com",
    "card": "4111 1111 1111 1111",
    "password": "password=hunter2-Secret",
}


def send_raw_logs(endpoint: str, service: str, records: list[tuple[str, str, dict[str, str]]]) -> None:
    """Send ``(record id, body, attributes)`` as ERROR records over plain OTLP/gRPC: no SDK, so no
    first-line redaction."""
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    now = time.time_ns()
    log_records = [
        LogRecord(
            time_unix_nano=now + i,
            severity_number=SeverityNumber.SEVERITY_NUMBER_ERROR,
            severity_text="ERROR",
            body=AnyValue(string_value=body),
            attributes=[kv(RECORD_ID, record_id), *(kv(k, v) for k, v in attributes.items())],
        )
        for i, (record_id, body, attributes) in enumerate(records)
    ]
    resource = Resource(
        attributes=[kv("service.name", service), kv("deployment.environment.name", "staging")]
    )
    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=log_records)])]
    )
    with grpc.insecure_channel(endpoint) as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
        stub.Export(request, timeout=10)


def send_raw_secret_records(endpoint: str, run_id: str) -> list[str]:
    """One record per planted secret, in the body and in an ordinary attribute, plus an attribute whose
    KEY marks it secret (``db.password``). Returns the record ids."""
    records = [
        (
            f"{run_id}-{name}",
            f"login failed for {secret} at step {i}",
            {"detail": f"value {secret} end", "db.password": "pw-9"},
        )
        for i, (name, secret) in enumerate(sorted(PLANTED_SECRETS.items()))
    ]
    send_raw_logs(endpoint, "legacy-java", records)
    return [record_id for record_id, _, _ in records]
