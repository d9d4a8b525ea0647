"""Bounded HTTP for the doctor: every answer capped in size and time, only http(s) URLs.

The doctor talks to services an operator names on the command line, but what answers there is
outside data: a wrong URL may point at anything. So a body is read up to a cap (the rest is not
read), a request has a deadline, redirects are not followed to other hosts' schemes, and JSON is
parsed with a nesting limit.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aibos_otel.monitor.jsonlimits import loads_bounded

MAX_BODY_BYTES = 8 * 1024 * 1024  # Loki's /config and a rules listing stay far below this
MAX_JSON_DEPTH = 64
DEFAULT_TIMEOUT_S = 5.0
USER_AGENT = "aibos-otel-doctor"


class ProbeError(Exception):
    """The endpoint could not be reached or answered something unusable."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer (any status: a 404 is evidence too)."""

    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        """The body as JSON (bounded depth); :class:`ProbeError` when it is not JSON."""
        try:
            return loads_bounded(self.body, max_depth=MAX_JSON_DEPTH)
        except (ValueError, RecursionError) as exc:
            raise ProbeError(f"the answer is not JSON: {exc}") from None

    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


def join(base: str, path: str) -> str:
    """``base`` (a URL with or without a trailing slash) followed by ``path``."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; ProbeError otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"not an http(s) URL: {url!r}")
    return url


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_BODY_BYTES,
) -> Answer:
    """Send one request; the answer whatever its status. ProbeError when nothing answered or
    the body is larger than ``max_bytes``."""
    req = urllib.request.Request(
        check_url(url),
        data=body,
        method=method,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # scheme checked by check_url
            return _read(resp.status, resp, max_bytes)
    except urllib.error.HTTPError as exc:
        return _read(exc.code, exc, max_bytes)
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProbeError(f"cannot reach {url}: {reason}") from None


def _read(status: int, resp: Any, max_bytes: int) -> Answer:
    data: bytes = resp.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ProbeError(f"answer larger than {max_bytes} bytes")
    content_type = str(resp.headers.get("Content-Type", "")) if resp.headers else ""
    return Answer(status, data, content_type)


def post_json(url: str, payload: Any, **kwargs: Any) -> Answer:
    """POST ``payload`` as JSON."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return request(url, method="POST", body=json.dumps(payload).encode(), headers=headers, **kwargs)
