"""Loki's log deletion API, for erasure: build the delete query and send it.

``POST /loki/api/v1/delete?query=<LogQL>&start=<RFC 3339>&end=<RFC 3339>`` answers 204 with no
body; the request id is then read from ``GET /loki/api/v1/delete`` (a list of requests with
``request_id``, ``query`` and ``status``). ``start`` is required by Loki, ``end`` defaults to
now and may not be in the future; ``X-Scope-OrgID`` names the tenant in a multi-tenant Loki. A
Loki behind authentication gets ``Authorization`` from the environment only (never the command
line, where ``ps`` shows it): ``AIBOS_LOKI_BEARER_TOKEN``, or ``AIBOS_LOKI_BASIC_AUTH=user:password``
(Grafana Cloud: the tenant id and a token with ``logs:delete``).

Loki stores OTLP log attributes as structured metadata under normalised names (``user.id`` ->
``user_id``), so the default query is the stream selector followed by one label filter per
``--match`` pair: ``{service_name="checkout"} | user_id="42"``. Loki 3.4.6 accepted such a
request but did not hide the lines at query time (docs/compliance.md); the line-filter form
``{service_name="checkout"} |= "42"`` did, but it matches the value anywhere in the log line (the
record body), so it is offered for distinctive values only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aibos_otel.lifecycle.erasure import EraseError, Match
from aibos_otel.policy.logql import LogQLError, parse_selector

DELETE_PATH = "/loki/api/v1/delete"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FilterForm = Literal["metadata", "line"]

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def metadata_name(attribute_key: str) -> str:
    """The name Loki gives an OTLP attribute (Prometheus label normalisation: ``user.id`` ->
    ``user_id``, a leading digit gets ``key_``, a single leading underscore gets ``key``)."""
    name = _INVALID_LABEL_CHARS.sub("_", attribute_key)
    if name[:1].isdigit():
        return "key_" + name
    if name.startswith("_") and not name.startswith("__"):
        return "key" + name
    return name


def logql_string(value: str) -> str:
    """A double-quoted LogQL string (Go escapes; JSON's escapes are a subset of them)."""
    return json.dumps(value, ensure_ascii=False)


def check_selector(selector: str) -> str:
    """Validate a stream selector such as ``{service_name="checkout"}``; returns it stripped."""
    text = selector.strip()
    try:
        parse_selector(text)
    except LogQLError as exc:
        raise EraseError(f"--selector {selector!r}: {exc}") from None
    return text


def delete_query(selector: str, matches: Sequence[Match], form: FilterForm = "metadata") -> str:
    """The LogQL query of a delete request that selects the records matching every pair."""
    base = check_selector(selector)
    if not matches:
        raise EraseError("at least one --match KEY=VALUE is needed")
    if form == "line":
        return base + "".join(f" |= {logql_string(m.value)}" for m in matches)
    return base + "".join(f" | {metadata_name(m.key)}={logql_string(m.value)}" for m in matches)


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z``: the form Loki's Go ``time.RFC3339`` parser reads."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class DeleteRequest:
    """One delete request, ready to send."""

    base_url: str
    query: str
    start: datetime
    end: datetime | None = None
    tenant: str | None = None
    authorization: str | None = field(default=None, repr=False)  # a secret: kept out of repr

    def params(self) -> dict[str, str]:
        out = {"query": self.query, "start": rfc3339(self.start)}
        if self.end is not None:
            out["end"] = rfc3339(self.end)
        return out

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + DELETE_PATH + "?" + urllib.parse.urlencode(self.params())

    def headers(self) -> dict[str, str]:
        out = {"X-Scope-OrgID": self.tenant} if self.tenant else {}
        if self.authorization:
            out["Authorization"] = self.authorization
        return out

    def describe(self) -> str:
        """The request for the terminal (the credentials' scheme only)."""
        notes = [f"X-Scope-OrgID: {self.tenant}"] if self.tenant else []
        if self.authorization:
            notes.append(f"Authorization: {self.authorization.split(' ', 1)[0]} ...")
        return f"POST {self.url}" + (f" ({', '.join(notes)})" if notes else "")


@dataclass(frozen=True)
class DeleteResult:
    """What Loki answered: the HTTP status and, when listed, the request id and its status."""

    http_status: int
    request_id: str | None = None
    status: str | None = None

    def describe(self) -> str:
        if self.request_id is None:
            return (
                f"Loki accepted the delete request (HTTP {self.http_status}); its id was not in the listing"
            )
        return f"Loki delete request {self.request_id}: {self.status or 'unknown'} (HTTP {self.http_status})"


class LokiError(RuntimeError):
    """Loki refused the request or could not be reached (the message has Loki's answer)."""


def authorization_from(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``Authorization`` header from ``AIBOS_LOKI_BEARER_TOKEN`` or ``AIBOS_LOKI_BASIC_AUTH``."""
    env = os.environ if environ is None else environ
    token = (env.get("AIBOS_LOKI_BEARER_TOKEN") or "").strip()
    basic = (env.get("AIBOS_LOKI_BASIC_AUTH") or "").strip()
    if token and basic:
        raise EraseError("set AIBOS_LOKI_BEARER_TOKEN or AIBOS_LOKI_BASIC_AUTH, not both")
    if token:
        return f"Bearer {token}"
    if basic:
        if ":" not in basic:
            raise EraseError("AIBOS_LOKI_BASIC_AUTH: expected user:password")
        return "Basic " + base64.b64encode(basic.encode("utf-8")).decode("ascii")
    return None


def build_request(
    base_url: str,
    selector: str,
    matches: Sequence[Match],
    *,
    start: datetime | None,
    end: datetime | None,
    tenant: str | None = None,
    authorization: str | None = None,
    form: FilterForm = "metadata",
    now: datetime | None = None,
) -> DeleteRequest:
    """Check the inputs as Loki would (selector, times) and build the request."""
    if not base_url.startswith(("http://", "https://")):
        raise EraseError(f"--loki {base_url!r}: expected an http:// or https:// URL")
    moment = now or datetime.now(UTC)
    if end is not None and end > moment:
        raise EraseError("--end is in the future: Loki refuses deletes in the future")
    begin = start or EPOCH
    if end is not None and begin >= end:
        raise EraseError("--start must be before --end")
    query = delete_query(selector, matches, form)
    return DeleteRequest(base_url, query, begin, end, tenant, authorization)


def send(request: DeleteRequest, *, timeout: float = 30.0) -> DeleteResult:
    """POST the delete request, then look its id up in Loki's list of requests."""
    post = urllib.request.Request(request.url, data=b"", method="POST", headers=request.headers())
    status = _call(post, timeout)[0]
    listing = urllib.request.Request(
        request.base_url.rstrip("/") + DELETE_PATH, method="GET", headers=request.headers()
    )
    try:
        body = _call(listing, timeout)[1]
        entries = json.loads(body or b"[]")
    except (LokiError, ValueError):
        return DeleteResult(status)  # the request went in; only the look-up failed
    found = _newest_with_query(entries, request.query)
    if found is None:
        return DeleteResult(status)
    return DeleteResult(status, str(found.get("request_id")), str(found.get("status") or "") or None)


def _newest_with_query(entries: Any, query: str) -> dict[str, Any] | None:
    if not isinstance(entries, list):
        return None
    same = [e for e in entries if isinstance(e, dict) and e.get("query") == query and e.get("request_id")]
    if not same:
        return None
    newest: dict[str, Any] = max(same, key=lambda e: float(e.get("created_at") or 0))
    return newest


def _call(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(
            request, timeout=timeout
        ) as response:  # http(s) only: build_request checked
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace").strip()
        raise LokiError(f"{request.get_method()} {request.full_url}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LokiError(f"{request.get_method()} {request.full_url}: {reason}") from None
