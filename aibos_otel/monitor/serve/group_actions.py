"""What people do to error groups through the API: resolve, ignore, reopen, in bulk, merge, unmerge.

Each action is validated here (bounded: at most :data:`MAX_BULK` ids, durations up to a year,
counts up to 10^9, actor names of :data:`MAX_ACTOR_CHARS` printable characters) and applied by
the store, which records the transition with its actor and time and emits it as an audit event.

Bodies (JSON, all fields optional):

``resolve``  ``{"release": "1.2"}`` (resolved in release 1.2), ``{"next_release": true}`` (in the
             first release newer than the newest one the group was seen in), or ``{}``;
``ignore``   ``{"for": "2h"}``, ``{"count": 100}`` (reopens on the 101st further occurrence),
             ``{"until_escalating": true}``, or ``{}`` (forever);
``reopen``   ``{}``. Every body may carry ``"actor"``: who acts (default ``api``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aibos_otel.monitor.groupstate import IGNORED, ONGOING, RESOLVED, RESOLVED_IN_RELEASE
from aibos_otel.monitor.releases import MAX_RELEASE_CHARS
from aibos_otel.monitor.store import Store
from aibos_otel.policy.logql import parse_duration

MAX_BULK = 100
MAX_ACTOR_CHARS = 64
MAX_IGNORE_NS = 366 * 86_400 * 10**9
MAX_IGNORE_COUNT = 10**9
ACTIONS = ("resolve", "ignore", "reopen")


class ActionError(ValueError):
    """A request the API refuses with 400."""


def actor_of(body: Mapping[str, Any]) -> str:
    """The acting person or tool: ``actor`` of the body (printable, bounded), else ``api``."""
    actor = body.get("actor", "api")
    if not isinstance(actor, str) or not actor or len(actor) > MAX_ACTOR_CHARS or not actor.isprintable():
        raise ActionError(f"actor must be 1 to {MAX_ACTOR_CHARS} printable characters")
    return actor


def plan(
    action: str, body: Mapping[str, Any], store: Store, fingerprint: str
) -> tuple[str, dict[str, Any], str]:
    """``(state, detail, reason)`` of an action on one group."""
    if action == "reopen":
        return ONGOING, {}, "reopened"
    if action == "resolve":
        return _resolve(body, store, fingerprint)
    if action == "ignore":
        return _ignore(body, store, fingerprint)
    raise ActionError(f"action must be one of {', '.join(ACTIONS)}")


def _resolve(body: Mapping[str, Any], store: Store, fingerprint: str) -> tuple[str, dict[str, Any], str]:
    release, next_release = body.get("release"), body.get("next_release", False)
    if release is not None and next_release:
        raise ActionError("give release or next_release, not both")
    if release is not None:
        if not isinstance(release, str) or not release or len(release) > MAX_RELEASE_CHARS:
            raise ActionError(f"release must be a non-empty string of at most {MAX_RELEASE_CHARS} characters")
        return RESOLVED_IN_RELEASE, {"mode": "release", "release": release}, f"resolved in release {release}"
    if next_release is True:
        after = store.newest_release(fingerprint)
        return (
            RESOLVED_IN_RELEASE,
            {"mode": "next", "after": after},
            f"resolved in the next release after {after or '(none)'}",
        )
    if next_release is not False:
        raise ActionError("next_release must be true or false")
    return RESOLVED, {}, "resolved"


def _ignore(body: Mapping[str, Any], store: Store, fingerprint: str) -> tuple[str, dict[str, Any], str]:
    given = [k for k in ("for", "count", "until_escalating") if body.get(k) not in (None, False)]
    if len(given) > 1:
        raise ActionError("give one of for, count, until_escalating")
    if "for" in given:
        try:
            span = parse_duration(str(body["for"])[:32])
        except ValueError as exc:
            raise ActionError(f"for: {exc}") from None
        if not 0 < span <= MAX_IGNORE_NS:
            raise ActionError("for must be from 1ms to 366d")
        until = time.time_ns() + span
        return (
            IGNORED,
            {"mode": "duration", "until_ns": until, "for": str(body["for"])},
            f"ignored for {body['for']}",
        )
    if "count" in given:
        n = body["count"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IGNORE_COUNT:
            raise ActionError(f"count must be a whole number from 1 to {MAX_IGNORE_COUNT}")
        group = store.error_group(fingerprint)
        base = int(group["count"]) if group else 0
        return (
            IGNORED,
            {"mode": "count", "count": n, "until_count": base + n},
            f"ignored until {n} more occurrences",
        )
    if "until_escalating" in given:
        if body["until_escalating"] is not True:
            raise ActionError("until_escalating must be true")
        return IGNORED, {"mode": "escalating"}, "ignored until it escalates"
    return IGNORED, {"mode": "forever"}, "ignored"


def apply(store: Store, action: str, fingerprints: list[str], body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one action to groups; ``{"changed": [...], "unknown": [...]}``."""
    actor = actor_of(body)
    changed, unknown = [], []
    for fp in dict.fromkeys(fingerprints):
        if store.error_group(fp) is None:
            unknown.append(fp)
            continue
        state, detail, reason = plan(action, body, store, fp)
        if store.change_state(fp, state, detail=detail, actor=actor, reason=reason, now_ns=time.time_ns()):
            changed.append(fp)
        else:
            unknown.append(fp)
    return {"changed": changed, "unknown": unknown}


def ids_of(body: Mapping[str, Any]) -> list[str]:
    """The ``ids`` of a bulk or merge body (1 to :data:`MAX_BULK` strings of at most 128 characters)."""
    ids = body.get("ids")
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_BULK
        or not all(isinstance(i, str) and 0 < len(i) <= 128 for i in ids)
    ):
        raise ActionError(f"ids must be a list of 1 to {MAX_BULK} group fingerprints")
    return ids
