"""Settings for ``setup()``: argument > ``AIBOS_*`` variable > ``OTEL_*`` variable > preset.

Environment presets (the seed's dev/staging/prod configuration):

=============  ======  =======  ==========================================  ===========
environment    level   console  OTLP                                        file backup
=============  ======  =======  ==========================================  ===========
development    DEBUG   pretty   only when an endpoint is configured         off
staging        DEBUG   off      on (default endpoint localhost), batched    off
production     INFO    off      on (default endpoint localhost), batched    /var/log/aibos
=============  ======  =======  ==========================================  ===========

The disk spool (failed batches kept on disk and re-sent) is on by default in production only,
in ``/var/spool/aibos/<service>`` (``AIBOS_SPOOL``, ``AIBOS_SPOOL_DIR``, ``AIBOS_SPOOL_MAX_BYTES``).
Uncaught exceptions, warnings and the SIGTERM flush are on everywhere unless switched off
(``AIBOS_CAPTURE_EXCEPTIONS``, ``AIBOS_CAPTURE_WARNINGS``, ``AIBOS_FLUSH_ON_SIGTERM``).
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
DEFAULT_SPOOL_ROOT = "/var/spool/aibos"


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
    capture_exceptions: bool = True
    capture_warnings: bool = True
    flush_on_sigterm: bool = True
    spool_dir: Path | None = None
    spool_max_bytes: int = 256 * 1024 * 1024
    spool_retry_interval: float = 5.0
    summary_interval: float = 60.0

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
    capture_exceptions: bool | None = None,
    capture_warnings: bool | None = None,
    flush_on_sigterm: bool | None = None,
    spool: str | os.PathLike[str] | bool | None = None,
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

    def switch(name: str, argument: bool | None, default: bool) -> bool:
        if argument is not None:
            return argument
        raw = _env(name, env)
        return _parse_bool(name, raw) if raw is not None else default

    capture = switch("AIBOS_CAPTURE_STDLIB", capture_stdlib, True)

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

    spool_dir = _spool_dir(spool, env, env_name, name)

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
        capture_exceptions=switch("AIBOS_CAPTURE_EXCEPTIONS", capture_exceptions, True),
        capture_warnings=switch("AIBOS_CAPTURE_WARNINGS", capture_warnings, True),
        flush_on_sigterm=switch("AIBOS_FLUSH_ON_SIGTERM", flush_on_sigterm, True),
        spool_dir=spool_dir,
        spool_max_bytes=int(number("AIBOS_SPOOL_MAX_BYTES", 256 * 1024 * 1024)),
        spool_retry_interval=number("AIBOS_SPOOL_RETRY_INTERVAL", 5.0),
        summary_interval=number("AIBOS_DROP_SUMMARY_INTERVAL", 60.0),
    )


def _spool_dir(
    spool: str | os.PathLike[str] | bool | None, env: Mapping[str, str], env_name: str, service: str
) -> Path | None:
    """Where failed batches are spooled: an explicit path, or the default one when switched on."""
    explicit_dir = _env("AIBOS_SPOOL_DIR", env)
    raw = _env("AIBOS_SPOOL", env)
    if spool is None and raw is not None:
        lowered = raw.lower()
        if lowered in ("0", "false", "no", "off"):
            spool = False
        elif lowered in ("1", "true", "yes", "on"):
            spool = True
        else:
            spool = raw
    if spool is None:
        spool = env_name == "production" or explicit_dir is not None
    if spool is False:
        return None
    if spool is True:
        if explicit_dir is not None:
            return Path(explicit_dir)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in service) or "service"
        return Path(DEFAULT_SPOOL_ROOT) / safe
    return Path(spool)
