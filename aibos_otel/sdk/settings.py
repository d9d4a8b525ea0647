"""Settings for ``setup()``: argument > ``AIBOS_*`` variable > ``OTEL_*`` variable > preset.

Environment presets (the seed's dev/staging/prod configuration):

=============  ======  =======  ==========================================  ===========
environment    level   console  OTLP                                        file backup
=============  ======  =======  ==========================================  ===========
development    DEBUG   pretty   only when an endpoint is configured         off
staging        DEBUG   off      on (default endpoint localhost), batched    off
production     INFO    off      on (default endpoint localhost), batched    /var/log/aibos
=============  ======  =======  ==========================================  ===========
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aibos_otel.sdk.levels import DEBUG, INFO, parse_level

Environment = Literal["development", "staging", "production"]
Protocol = Literal["grpc", "http/protobuf"]

ENVIRONMENTS: tuple[Environment, ...] = ("development", "staging", "production")
_ENV_ALIASES: dict[str, Environment] = {
    "dev": "development",
    "develop": "development",
    "local": "development",
    "stage": "staging",
    "stg": "staging",
    "prod": "production",
    "prd": "production",
}
_DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318}
DEFAULT_PRODUCTION_FILE_DIR = "/var/log/aibos"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting and its source."""


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true/false")


def _resource_attribute(key: str, environ: Mapping[str, str]) -> str | None:
    raw = _env("OTEL_RESOURCE_ATTRIBUTES", environ)
    if not raw:
        return None
    for pair in raw.split(","):
        name, _, value = pair.partition("=")
        if name.strip() == key and value.strip():
            from urllib.parse import unquote

            return unquote(value.strip())
    return None


def parse_environment(value: str, source: str = "environment") -> Environment:
    """Normalise an environment name (accepts dev/stage/prod aliases)."""
    lowered = value.strip().lower()
    if lowered in ENVIRONMENTS:
        return lowered
    if lowered in _ENV_ALIASES:
        return _ENV_ALIASES[lowered]
    raise SettingsError(f"{source}={value!r}: use one of {', '.join(ENVIRONMENTS)}")


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one ``setup()`` call."""

    service_name: str
    service_version: str | None
    environment: Environment
    level: int
    endpoint: str | None
    protocol: Protocol
    console: bool
    console_pretty: bool
    capture_stdlib: bool
    file_backup_dir: Path | None
    redaction: Sequence[str] | bool | None
    headers: Mapping[str, str] | None = None
    compression: str | None = None
    shutdown_timeout: float = 5.0
    queue_max_records: int = 20_000
    queue_max_bytes: int = 64 * 1024 * 1024
    schedule_delay: float = 1.0
    metrics_interval: float = 60.0
    export_timeout: float | None = None
    resource_attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def logs_endpoint(self) -> str | None:
        """The endpoint the log exporter is given (HTTP gets ``/v1/logs`` appended to a base URL)."""
        if self.endpoint is None:
            return None
        if self.protocol == "http/protobuf" and not self.endpoint.rstrip("/").endswith("/v1/logs"):
            return self.endpoint.rstrip("/") + "/v1/logs"
        return self.endpoint

    @property
    def metrics_endpoint(self) -> str | None:
        """The endpoint for the self-metrics exporter (same collector as the logs)."""
        if self.endpoint is None:
            return None
        if self.protocol == "http/protobuf":
            base = self.endpoint.rstrip("/").removesuffix("/v1/logs")
            return base + "/v1/metrics"
        return self.endpoint


def resolve(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    level: int | str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    console: bool | None = None,
    capture_stdlib: bool | None = None,
    file_backup: str | os.PathLike[str] | bool | None = None,
    redaction: Sequence[str] | bool | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    shutdown_timeout: float | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting from arguments, then ``AIBOS_*``, then ``OTEL_*``, then the preset."""
    env = os.environ if environ is None else environ

    def number(name: str, default: float) -> float:
        raw = _env(name, env)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r}: expected a number") from None

    raw_environment = (
        environment
        or _env("AIBOS_ENVIRONMENT", env)
        or _resource_attribute("deployment.environment.name", env)
    )
    source = "environment" if environment else "AIBOS_ENVIRONMENT"
    env_name = parse_environment(raw_environment, source) if raw_environment else "development"
    development = env_name == "development"

    name = (
        service_name
        or _env("AIBOS_SERVICE_NAME", env)
        or _env("OTEL_SERVICE_NAME", env)
        or _resource_attribute("service.name", env)
        or f"unknown_service:{Path(sys.argv[0]).name if sys.argv and sys.argv[0] else 'python'}"
    )
    version = (
        service_version or _env("AIBOS_SERVICE_VERSION", env) or _resource_attribute("service.version", env)
    )

    raw_level = level if level is not None else _env("AIBOS_LEVEL", env)
    try:
        level_no = (
            parse_level(raw_level) if raw_level is not None else (INFO if env_name == "production" else DEBUG)
        )
    except ValueError as exc:
        raise SettingsError(f"level: {exc}") from None

    raw_protocol = (
        protocol
        or _env("AIBOS_PROTOCOL", env)
        or _env("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", env)
        or _env("OTEL_EXPORTER_OTLP_PROTOCOL", env)
        or "grpc"
    )
    if raw_protocol not in _DEFAULT_PORTS:
        raise SettingsError(f"protocol={raw_protocol!r}: use 'grpc' or 'http/protobuf'")
    chosen_protocol: Protocol = raw_protocol  # type: ignore[assignment]

    chosen_endpoint = (
        endpoint
        or _env("AIBOS_ENDPOINT", env)
        or _env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", env)
        or _env("OTEL_EXPORTER_OTLP_ENDPOINT", env)
    )
    if chosen_endpoint is None and not development:
        chosen_endpoint = f"http://localhost:{_DEFAULT_PORTS[chosen_protocol]}"
    if (_env("OTEL_LOGS_EXPORTER", env) or "").lower() == "none" and endpoint is None:
        chosen_endpoint = None

    raw_console = _env("AIBOS_CONSOLE", env)
    if console is not None:
        want_console = console
    elif raw_console is not None:
        want_console = _parse_bool("AIBOS_CONSOLE", raw_console)
    else:
        want_console = development

    raw_capture = _env("AIBOS_CAPTURE_STDLIB", env)
    if capture_stdlib is not None:
        capture = capture_stdlib
    elif raw_capture is not None:
        capture = _parse_bool("AIBOS_CAPTURE_STDLIB", raw_capture)
    else:
        capture = True

    file_dir: Path | None
    raw_file = _env("AIBOS_FILE_BACKUP", env)
    if file_backup is True or (file_backup is None and raw_file is None and env_name == "production"):
        file_dir = Path(_env("AIBOS_FILE_BACKUP_DIR", env) or DEFAULT_PRODUCTION_FILE_DIR)
    elif file_backup is False:
        file_dir = None
    elif file_backup is not None:
        file_dir = Path(file_backup)
    elif raw_file is not None:
        if raw_file.lower() in ("0", "false", "no", "off"):
            file_dir = None
        elif raw_file.lower() in ("1", "true", "yes", "on"):
            file_dir = Path(_env("AIBOS_FILE_BACKUP_DIR", env) or DEFAULT_PRODUCTION_FILE_DIR)
        else:
            file_dir = Path(raw_file)
    else:
        file_dir = None

    return Settings(
        service_name=name,
        service_version=version,
        environment=env_name,
        level=level_no,
        endpoint=chosen_endpoint,
        protocol=chosen_protocol,
        console=want_console,
        console_pretty=development,
        capture_stdlib=capture,
        file_backup_dir=file_dir,
        redaction=redaction,
        headers=headers,
        compression=compression,
        shutdown_timeout=shutdown_timeout
        if shutdown_timeout is not None
        else number("AIBOS_SHUTDOWN_TIMEOUT", 5.0),
        queue_max_records=int(number("AIBOS_QUEUE_MAX_RECORDS", 20_000)),
        queue_max_bytes=int(number("AIBOS_QUEUE_MAX_BYTES", 64 * 1024 * 1024)),
        schedule_delay=number("AIBOS_SCHEDULE_DELAY", 1.0),
        metrics_interval=number(
            "AIBOS_METRICS_INTERVAL", number("OTEL_METRIC_EXPORT_INTERVAL", 60_000) / 1000
        ),
        export_timeout=number("AIBOS_EXPORT_TIMEOUT", 0) or None,
        resource_attributes=dict(resource_attributes or {}),
    )
