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

Every setting is one row of :data:`SETTINGS` (its ``setup()`` keyword, its variables in
precedence order, how a variable's text is parsed, its preset, one doc line); ``resolve()``
loops over the table, and the variable lists in README.md and docs/sdk.md are generated from it
(``scripts/settings_table.py``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

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
    disabled: bool = False

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


class SettingArguments(TypedDict, total=False):
    """The keywords of ``setup()`` that are settings (the table's ``argument`` column)."""

    service_name: str | None
    service_version: str | None
    environment: str | None
    level: int | str | None
    endpoint: str | None
    protocol: str | None
    console: bool | None
    capture_stdlib: bool | None
    file_backup: str | os.PathLike[str] | bool | None
    redaction: Sequence[str] | bool | None
    headers: Mapping[str, str] | None
    compression: str | None
    shutdown_timeout: float | None
    resource_attributes: Mapping[str, str] | None
    capture_exceptions: bool | None
    capture_warnings: bool | None
    flush_on_sigterm: bool | None
    spool: str | os.PathLike[str] | bool | None


class Resolving:
    """What a row sees while the table is resolved: the variables, and the rows before it."""

    def __init__(self, environ: Mapping[str, str], given: frozenset[str]) -> None:
        self.environ = environ
        self.given = given  # the setup() keywords that were passed
        self.values: dict[str, Any] = {}

    @property
    def environment(self) -> Environment:
        env: Environment = self.values["environment"]
        return env

    def variable(self, name: str) -> str | None:
        """A variable's stripped text (None when unset or blank); ``NAME[key]`` reads one
        attribute of a comma-separated ``key=value`` list (``OTEL_RESOURCE_ATTRIBUTES``)."""
        if name.endswith("]"):
            name, _, key = name[:-1].partition("[")
            return _list_attribute(_env(name, self.environ), key)
        return _env(name, self.environ)


Parser = Callable[[str, Any], Any]
"""(source, value) -> the setting's value; source is the variable or keyword, for the error."""


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: where a :class:`Settings` field comes from."""

    field: str
    """The :class:`Settings` field."""
    argument: str | None
    """The ``setup()`` keyword (None: variables only)."""
    variables: tuple[str, ...]
    """Environment variables, first one set wins; an argument beats them all."""
    parse: Parser | None
    """Turns a variable's text into the value (None: no variables)."""
    preset: Callable[[Resolving], Any]
    """The value when neither the argument nor a variable is set (may depend on earlier rows)."""
    default: str
    """The preset, in words (for the docs)."""
    doc: str
    """One line for the docs."""
    coerce: Parser | None = None
    """Normalises an argument (None: taken as given)."""
    finish: Callable[[Any, Resolving], Any] | None = None
    """Turns the chosen value into the field's value (for values that name a default)."""
    also: tuple[str, ...] = ()
    """Further variables of this setting, read by ``finish`` or by the component it configures."""

    def resolve(self, argument: Any, context: Resolving) -> Any:
        """This row's value: argument, else the first variable set, else the preset."""
        if self.argument in context.given:
            value = self.coerce(self.argument, argument) if self.coerce is not None else argument
        else:
            value = _UNSET
            for variable in self.variables:
                raw = context.variable(variable)
                if raw is not None:
                    assert self.parse is not None
                    value = self.parse(variable.partition("[")[0], raw)
                    break
            if value is _UNSET:
                value = self.preset(context)
        return self.finish(value, context) if self.finish is not None else value


_UNSET: Any = object()
_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def _list_attribute(raw: str | None, key: str) -> str | None:
    if not raw:
        return None
    for pair in raw.split(","):
        name, _, value = pair.partition("=")
        if name.strip() == key and value.strip():
            from urllib.parse import unquote

            return unquote(value.strip())
    return None


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    raise SettingsError(f"{name}={value!r}: expected true/false")


def _text(name: str, value: str) -> str:
    return value


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None


# A Go-style duration, as the collector configs take it (AIBOS_EXPORT_TIMEOUT is read by both).
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(name: str, value: str) -> float:
    """Seconds as a number (``5``, ``0.5``) or a duration with one unit (``500ms``, ``5s``, ``1m``).

    The collector configs read some of the same variables as Go durations, so one ``.env`` serves
    services and collectors alike.
    """
    match = _DURATION.fullmatch(value.strip()) if len(value) <= 32 else None
    if match is not None:
        return float(match.group(1)) * _DURATION_SECONDS[match.group(2)]
    try:
        return float(value)
    except ValueError:
        raise SettingsError(
            f"{name}={value!r}: expected seconds (5, 0.5) or a duration (500ms, 5s, 1m)"
        ) from None


def _whole(name: str, value: str) -> int:
    return int(_number(name, value))


def _interval(name: str, value: str) -> float:
    # OTEL_METRIC_EXPORT_INTERVAL is in milliseconds, as the OpenTelemetry spec has it.
    return _number(name, value) / (1000 if name.startswith("OTEL_") else 1)


def _path_or_switch(name: str, value: str) -> str | bool:
    lowered = value.lower()
    return True if lowered in _ON else False if lowered in _OFF else value


def parse_environment(value: str, source: str = "environment") -> Environment:
    """Normalise an environment name (accepts dev/stage/prod aliases)."""
    lowered = value.strip().lower()
    if lowered in ENVIRONMENTS:
        return lowered
    if lowered in _ENV_ALIASES:
        return _ENV_ALIASES[lowered]
    raise SettingsError(f"{source}={value!r}: use one of {', '.join(ENVIRONMENTS)}")


def _environment(source: str, value: str) -> Environment:
    return parse_environment(value, source)


def _level(source: str, value: int | str) -> int:
    try:
        return parse_level(value)
    except ValueError as exc:
        raise SettingsError(f"{source}: {exc}") from None


def _protocol(source: str, value: str) -> Protocol:
    if value not in _DEFAULT_PORTS:
        raise SettingsError(f"{source}={value!r}: use 'grpc' or 'http/protobuf'")
    protocol: Protocol = value  # type: ignore[assignment]
    return protocol


def _unknown_service(context: Resolving) -> str:
    return f"unknown_service:{Path(sys.argv[0]).name if sys.argv and sys.argv[0] else 'python'}"


def _default_endpoint(context: Resolving) -> str | None:
    if context.environment == "development":
        return None
    return f"http://localhost:{_DEFAULT_PORTS[context.values['protocol']]}"


def _endpoint(value: str | None, context: Resolving) -> str | None:
    # OTEL_LOGS_EXPORTER=none switches OTLP off unless the code passed an endpoint.
    exporter = (context.variable("OTEL_LOGS_EXPORTER") or "").lower()
    return None if exporter == "none" and "endpoint" not in context.given else value


def _file_backup_dir(value: str | os.PathLike[str] | bool | None, context: Resolving) -> Path | None:
    if value is True:
        return Path(context.variable("AIBOS_FILE_BACKUP_DIR") or DEFAULT_PRODUCTION_FILE_DIR)
    if value is False or value is None:
        return None
    return Path(value)


def _spool_preset(context: Resolving) -> bool:
    return context.environment == "production" or context.variable("AIBOS_SPOOL_DIR") is not None


def _spool_dir(value: str | os.PathLike[str] | bool, context: Resolving) -> Path | None:
    """Where failed batches are spooled: an explicit path, or the default one when switched on."""
    if value is False:
        return None
    if value is True:
        explicit = context.variable("AIBOS_SPOOL_DIR")
        if explicit is not None:
            return Path(explicit)
        service = context.values["service_name"]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in service) or "service"
        return Path(DEFAULT_SPOOL_ROOT) / safe
    return Path(value)


def _constant(value: Any) -> Callable[[Resolving], Any]:
    return lambda context: value


def _in_development(context: Resolving) -> bool:
    return context.environment == "development"


def _switch(field: str, variable: str, doc: str, *, argument: bool = True) -> Setting:
    return Setting(field, field if argument else None, (variable,), _parse_bool, _constant(True), "on", doc)


def _tuning(field: str, variable: str, parse: Parser, default: tuple[float, str], doc: str) -> Setting:
    return Setting(field, None, (variable,), parse, _constant(default[0]), default[1], doc)


SETTINGS: tuple[Setting, ...] = (
    # environment first: the presets of the rows after it depend on it
    Setting(
        "environment",
        "environment",
        ("AIBOS_ENVIRONMENT", "OTEL_RESOURCE_ATTRIBUTES[deployment.environment.name]"),
        _environment,
        _constant("development"),
        "development",
        "development | staging | production (dev/stage/prod accepted); selects the presets",
        coerce=_environment,
    ),
    Setting(
        "service_name",
        "service_name",
        ("AIBOS_SERVICE_NAME", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES[service.name]"),
        _text,
        _unknown_service,
        "unknown_service:PROGRAM",
        "the resource's service.name",
    ),
    Setting(
        "service_version",
        "service_version",
        ("AIBOS_SERVICE_VERSION", "OTEL_RESOURCE_ATTRIBUTES[service.version]"),
        _text,
        _constant(None),
        "none",
        "the resource's service.version",
    ),
    Setting(
        "level",
        "level",
        ("AIBOS_LEVEL",),
        _level,
        lambda context: INFO if context.environment == "production" else DEBUG,
        "DEBUG (INFO in production)",
        "a number or trace/debug/info/warn/error/fatal",
        coerce=_level,
    ),
    Setting(
        "protocol",
        "protocol",
        ("AIBOS_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        _protocol,
        _constant("grpc"),
        "grpc",
        "grpc | http/protobuf",
        coerce=_protocol,
    ),
    Setting(
        "endpoint",
        "endpoint",
        ("AIBOS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        _text,
        _default_endpoint,
        "none in development, else http://localhost:4317 (4318 for http/protobuf)",
        "the collector's OTLP endpoint; OTEL_LOGS_EXPORTER=none switches OTLP off",
        finish=_endpoint,
        also=("OTEL_LOGS_EXPORTER",),
    ),
    Setting(
        "console",
        "console",
        ("AIBOS_CONSOLE",),
        _parse_bool,
        _in_development,
        "on in development",
        "console output: pretty and coloured in development, JSON lines otherwise",
    ),
    Setting(
        "console_pretty",
        None,
        (),
        None,
        _in_development,
        "in development",
        "console lines for people rather than machines (follows the environment)",
    ),
    _switch("capture_stdlib", "AIBOS_CAPTURE_STDLIB", "bridge the root logger (else only get_logger())"),
    Setting(
        "file_backup_dir",
        "file_backup",
        ("AIBOS_FILE_BACKUP",),
        _path_or_switch,
        lambda context: context.environment == "production",
        "on in production, in /var/log/aibos",
        "the JSON-lines file backup: a directory, or true/false (AIBOS_FILE_BACKUP_DIR: where 'true' writes)",
        finish=_file_backup_dir,
        also=("AIBOS_FILE_BACKUP_DIR",),
    ),
    Setting(
        "redaction",
        "redaction",
        (),
        None,
        _constant(None),
        "secrets, pci, gdpr",
        "redaction profiles; False turns redaction off (AIBOS_REDACTION_PROFILES: read by the engine)",
        also=("AIBOS_REDACTION_PROFILES",),
    ),
    Setting(
        "headers",
        "headers",
        (),
        None,
        _constant(None),
        "none",
        "OTLP request headers (OTEL_EXPORTER_OTLP[_LOGS]_HEADERS: read by the exporter)",
        also=("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS"),
    ),
    Setting(
        "compression",
        "compression",
        (),
        None,
        _constant(None),
        "none",
        "gzip | none (OTEL_EXPORTER_OTLP[_LOGS]_COMPRESSION: read by the exporter)",
        also=("OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION"),
    ),
    Setting(
        "shutdown_timeout",
        "shutdown_timeout",
        ("AIBOS_SHUTDOWN_TIMEOUT",),
        _number,
        _constant(5.0),
        "5 s",
        "the deadline of shutdown(), also at exit",
    ),
    _tuning(
        "queue_max_records",
        "AIBOS_QUEUE_MAX_RECORDS",
        _whole,
        (20_000, "20 000"),
        "records queued per exporter",
    ),
    _tuning(
        "queue_max_bytes",
        "AIBOS_QUEUE_MAX_BYTES",
        _whole,
        (64 * 1024 * 1024, "64 MiB"),
        "bytes queued per exporter",
    ),
    _tuning("schedule_delay", "AIBOS_SCHEDULE_DELAY", _number, (1.0, "1 s"), "the longest a batch waits"),
    Setting(
        "metrics_interval",
        None,
        ("AIBOS_METRICS_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"),
        _interval,
        _constant(60.0),
        "60 s",
        "self-metrics export interval (seconds; OTEL_METRIC_EXPORT_INTERVAL in milliseconds)",
    ),
    Setting(
        "export_timeout",
        None,
        ("AIBOS_EXPORT_TIMEOUT",),
        _seconds,
        _constant(None),
        "the exporter's (10 s, OTEL_EXPORTER_OTLP_TIMEOUT)",
        "seconds (or a duration: 500ms, 5s) an export may take; 0 means the exporter's default",
        finish=lambda value, context: value or None,
        also=("OTEL_EXPORTER_OTLP_TIMEOUT",),
    ),
    Setting(
        "resource_attributes",
        "resource_attributes",
        (),
        None,
        lambda context: {},
        "none",
        "extra resource attributes (OTEL_RESOURCE_ATTRIBUTES: read by the resource)",
        coerce=lambda source, value: dict(value),
        also=("OTEL_RESOURCE_ATTRIBUTES",),
    ),
    _switch("capture_exceptions", "AIBOS_CAPTURE_EXCEPTIONS", "uncaught exceptions become FATAL records"),
    _switch("capture_warnings", "AIBOS_CAPTURE_WARNINGS", "warnings become WARN records"),
    _switch("flush_on_sigterm", "AIBOS_FLUSH_ON_SIGTERM", "an unhandled SIGTERM flushes within the deadline"),
    Setting(
        "spool_dir",
        "spool",
        ("AIBOS_SPOOL",),
        _path_or_switch,
        _spool_preset,
        "on in production, in /var/spool/aibos/SERVICE",
        "the disk spool of refused batches: a directory, or true/false (AIBOS_SPOOL_DIR: where, and on)",
        finish=_spool_dir,
        also=("AIBOS_SPOOL_DIR",),
    ),
    _tuning(
        "spool_max_bytes",
        "AIBOS_SPOOL_MAX_BYTES",
        _whole,
        (256 * 1024 * 1024, "256 MiB"),
        "the spool's size cap",
    ),
    _tuning(
        "spool_retry_interval",
        "AIBOS_SPOOL_RETRY_INTERVAL",
        _number,
        (5.0, "5 s"),
        "how often the spool re-sends",
    ),
    _tuning(
        "summary_interval",
        "AIBOS_DROP_SUMMARY_INTERVAL",
        _number,
        (60.0, "60 s"),
        "how often a summary of dropped records is logged",
    ),
    # The rollback switch (docs/operations.md): OTEL_SDK_DISABLED already turns OpenTelemetry's
    # providers into no-ops, so a bridge installed under it would send every record into the void.
    Setting(
        "disabled",
        None,
        ("AIBOS_SDK_DISABLED", "OTEL_SDK_DISABLED"),
        _parse_bool,
        _constant(False),
        "off",
        "true: setup() and the distro change nothing (plain stdlib logging, nothing exported)",
    ),
)
"""The settings table, in resolution order."""


def resolve(*, environ: Mapping[str, str] | None = None, **arguments: Unpack[SettingArguments]) -> Settings:
    """Resolve every setting from arguments, then ``AIBOS_*``, then ``OTEL_*``, then the preset.

    ``arguments`` are ``setup()``'s settings keywords; None (or an empty string) means "not given".
    """
    unknown = set(arguments) - _ARGUMENTS
    if unknown:
        raise TypeError(f"resolve() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    given = frozenset(k for k, v in arguments.items() if v is not None and not (isinstance(v, str) and not v))
    context = Resolving(os.environ if environ is None else environ, given)
    supplied: Mapping[str, Any] = arguments
    for setting in SETTINGS:
        value = supplied.get(setting.argument) if setting.argument is not None else None
        context.values[setting.field] = setting.resolve(value, context)
    return Settings(**context.values)


_ARGUMENTS = frozenset(s.argument for s in SETTINGS if s.argument is not None)
