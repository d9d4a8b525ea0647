"""``audit()``: one audit-trail event, sent through the normal logging pipeline.

An audit event is an INFO record on the logger ``aibos.audit`` with the attributes

* ``event.name`` = ``aibos.audit`` (what a query or a collector filter selects on);
* ``audit.action``, ``audit.actor``, ``audit.outcome`` and, when given, ``audit.target``;
* the caller's details, flattened like ``extra=`` (``{"user": {"id": 7}}`` -> ``user.id``).

It goes through stdlib ``logging``, so before ``setup()`` it reaches whatever handlers the
application configured, and after ``setup()`` the bridge turns it into an OTLP record that runs
every pipeline stage (bound context, redaction, delivery) like any other record. Redaction keeps
its usual rules: secret-looking details are masked, and so is an identity value that itself looks
like personal data (an e-mail address as actor is masked by the gdpr profile), so use opaque ids
for actors and targets. The key names ``audit.*`` match no key rule and are never masked whole.

The service's log level does not filter audit events: the ``aibos.audit`` logger is set to INFO
unless the application set a level on it itself (which is how to silence them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from aibos_otel.sdk.attributes import flatten
from aibos_otel.sdk.logger import get_logger

AUDIT_LOGGER: Final = "aibos.audit"
EVENT_NAME: Final = "aibos.audit"
ACTION_KEY: Final = "audit.action"
ACTOR_KEY: Final = "audit.actor"
TARGET_KEY: Final = "audit.target"
OUTCOME_KEY: Final = "audit.outcome"
EVENT_NAME_KEY: Final = "event.name"

_IDENTITY_KEYS: Final = frozenset({ACTION_KEY, ACTOR_KEY, TARGET_KEY, OUTCOME_KEY, EVENT_NAME_KEY})
# Names ``logging.LogRecord`` owns: ``extra=`` may not set them (logging raises KeyError), and the
# bridge would not export them as attributes anyway.
_RECORD_FIELDS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


def _audit_logger() -> logging.Logger:
    logger = logging.getLogger(AUDIT_LOGGER)
    if logger.level == logging.NOTSET:
        # An audit trail must not vanish because the service logs at WARNING in production.
        logger.setLevel(logging.INFO)
    # get_logger() also attaches the pipeline's handler when setup(capture_stdlib=False) ran.
    return get_logger(AUDIT_LOGGER)


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"audit(): {name} must be a non-empty string, got {value!r}")
    return value


def audit_attributes(
    action: str, *, actor: str, target: str | None, outcome: str, details: Mapping[str, Any]
) -> dict[str, Any]:
    """The attributes of one audit event (details flattened, identity fields last so they win).

    Raises ``ValueError`` for an empty action, actor or outcome and ``TypeError`` for a detail
    whose name is an identity field or a name ``logging.LogRecord`` reserves.
    """
    attributes = flatten(details)
    clashes = sorted(k for k in attributes if k in _IDENTITY_KEYS or k in _RECORD_FIELDS)
    if clashes:
        raise TypeError(
            f"audit(): detail name(s) {clashes} are reserved (audit identity fields or "
            "logging.LogRecord attributes); choose other names"
        )
    attributes[EVENT_NAME_KEY] = EVENT_NAME
    attributes[ACTION_KEY] = _required("action", action)
    attributes[ACTOR_KEY] = _required("actor", actor)
    if target is not None:
        attributes[TARGET_KEY] = _required("target", target)
    attributes[OUTCOME_KEY] = _required("outcome", outcome)
    return attributes


def audit(
    action: str, *, actor: str, target: str | None = None, outcome: str = "success", **details: Any
) -> None:
    """Record an audit event: who (``actor``) did what (``action``) to what (``target``), and
    how it ended (``outcome``, e.g. ``success``, ``failure``, ``denied``).

    ``details`` become attributes (nested mappings flattened to dotted keys) and are redacted like
    any attribute. Use opaque identifiers for ``actor`` and ``target``; the message body names
    only the action and outcome.

        aibos_otel.audit("user.export", actor="svc:billing", target="user:42", rows=120)
    """
    attributes = audit_attributes(action, actor=actor, target=target, outcome=outcome, details=details)
    _audit_logger().info("audit %s %s", action, outcome, extra=attributes, stacklevel=2)
