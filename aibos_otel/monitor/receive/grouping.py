"""The policy's grouping rules (``errors.grouping``) applied to one occurrence on the ingest path.

Only error occurrences reach this (a few per cent of records), and with no rules it is one
``if``. The first rule whose matchers all hold sets the fingerprint; ``{{ default }}`` in its
parts is the fingerprint the monitor computed. Attributes are read from the record only when
some rule matches on them (``Errors.rules_need_attributes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from aibos_otel.monitor.otlp import any_text
from aibos_otel.policy.errors_policy import GroupingRule

USER_KEYS = ("enduser.id", "user.id")
"""Attributes that name the affected user (OpenTelemetry's ``enduser.id``; ``user.id`` as many
SDKs and Sentry's ``user.id`` spell it). The first present wins."""
_USER_KEYS = frozenset(USER_KEYS)
MAX_ATTRIBUTES_READ = 128


def apply_rules(
    rules: Sequence[GroupingRule],
    default: str,
    fields: Mapping[str, str],
    attributes: Mapping[str, str],
) -> tuple[str, str]:
    """``(fingerprint, rule name)``: the first matching rule's fingerprint, else ``(default, "")``."""
    for rule in rules:
        if rule.matches(fields, attributes):
            return rule.fingerprint_for(default), rule.name
    return default, ""


def string_attributes(attributes: Sequence[KeyValue]) -> dict[str, str]:
    """The record's attributes as text (at most :data:`MAX_ATTRIBUTES_READ`)."""
    return {kv.key: any_text(kv.value) for kv in attributes[:MAX_ATTRIBUTES_READ]}


def user_of(attributes: Sequence[KeyValue]) -> str:
    """``enduser.id`` or ``user.id`` of a record, whichever comes first ("" when neither is set).

    Runs for every error record of a batch that mentions ``user.id``: it stops at the first match
    and reads strings and integers without the JSON path of :func:`any_text`."""
    for kv in attributes:
        key = kv.key
        if key in _USER_KEYS:
            value = kv.value
            kind = value.WhichOneof("value")
            if kind == "string_value":
                return value.string_value
            if kind == "int_value":
                return str(value.int_value)
            return any_text(value)
    return ""
