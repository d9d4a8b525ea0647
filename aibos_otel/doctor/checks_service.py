"""Service-side checks: what ``setup()`` resolves from this environment.

Run doctor with the service's environment (the same variables its deployment sets) and it shows
where that service's records will go, which redaction profiles apply, and whether the file backup
and the outage spool can be written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aibos_otel.doctor.model import Check, Status
from aibos_otel.redaction.detector import DEFAULT_PROFILES
from aibos_otel.redaction.engine import PROFILES_ENV, resolve_profiles
from aibos_otel.sdk.settings import Settings, SettingsError, resolve
from aibos_otel.terminal import escape

AREA = "service"


def check_service(env: Mapping[str, str]) -> list[Check]:
    """Resolve the settings as ``setup()`` would and check each part that matters in production."""
    try:
        settings = resolve(environ=env)
    except (SettingsError, ValueError) as exc:
        return [Check(AREA, "settings", Status.FAIL, escape(exc), "fix the variable named above")]
    if settings.disabled:
        return [
            Check(
                AREA,
                "settings",
                Status.FAIL if settings.environment == "production" else Status.WARN,
                "the SDK is switched off (AIBOS_SDK_DISABLED or OTEL_SDK_DISABLED): plain stdlib logging, "
                "nothing is redacted or exported",
                "unset AIBOS_SDK_DISABLED and OTEL_SDK_DISABLED when the rollback is over "
                "(docs/operations.md)",
            )
        ]
    checks = [
        Check(
            AREA,
            "settings",
            Status.PASS,
            f"service {escape(settings.service_name)}, environment {settings.environment}",
        ),
        _endpoint(settings),
        _redaction(settings, env),
    ]
    if settings.file_backup_dir is not None:
        checks.append(_writable("file backup directory", settings.file_backup_dir, "AIBOS_FILE_BACKUP"))
    checks.append(_spool(settings))
    return checks


def _endpoint(settings: Settings) -> Check:
    if settings.endpoint:
        return Check(AREA, "otlp endpoint", Status.PASS, f"{escape(settings.endpoint)} ({settings.protocol})")
    status = Status.FAIL if settings.environment == "production" else Status.WARN
    return Check(
        AREA,
        "otlp endpoint",
        status,
        "no OTLP endpoint: records go only to the console (when on) and the file backup (when on)",
        "set OTEL_EXPORTER_OTLP_ENDPOINT to the node's agent (e.g. http://127.0.0.1:4317)",
    )


def _redaction(settings: Settings, env: Mapping[str, str]) -> Check:
    if settings.redaction is False:
        return Check(
            AREA,
            "redaction profiles",
            Status.FAIL,
            "redaction is switched off",
            "remove redaction=False / the variable that disables it; the default is secrets, pci, gdpr",
        )
    try:
        if isinstance(settings.redaction, (list, tuple)):
            profiles = resolve_profiles(settings.redaction)
        else:
            profiles = resolve_profiles(env.get(PROFILES_ENV) or None)
    except ValueError as exc:
        return Check(AREA, "redaction profiles", Status.FAIL, escape(exc), f"fix {PROFILES_ENV}")
    missing = [p for p in DEFAULT_PROFILES if p not in profiles]
    if missing:
        return Check(
            AREA,
            "redaction profiles",
            Status.FAIL,
            f"profiles {', '.join(profiles) or 'none'}; off: {', '.join(missing)}",
            f"set {PROFILES_ENV}={','.join(dict.fromkeys([*profiles, *DEFAULT_PROFILES]))}",
        )
    return Check(AREA, "redaction profiles", Status.PASS, f"profiles {', '.join(profiles)}")


def _spool(settings: Settings) -> Check:
    if settings.spool_dir is None:
        status = Status.WARN if settings.environment == "production" else Status.PASS
        return Check(
            AREA,
            "outage spool",
            status,
            "no spool: records beyond the in-memory queue are dropped during a collector outage",
            "" if status is Status.PASS else "set AIBOS_SPOOL=on (or AIBOS_SPOOL_DIR) in production",
        )
    return _writable("outage spool", settings.spool_dir, "AIBOS_SPOOL_DIR")


def _writable(what: str, path: Path, variable: str) -> Check:
    """Pass when ``path`` can be written, or created under a parent that can be."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        where = "exists" if existing == path else f"can be created under {escape(existing)}"
        return Check(AREA, what, Status.PASS, f"{escape(path)} {where}")
    return Check(
        AREA,
        what,
        Status.FAIL,
        f"{escape(path)} cannot be written by uid {os.getuid()} (nearest existing: {escape(existing)})",
        f"make {escape(path)} writable for the service's user, or point {variable} elsewhere",
    )
