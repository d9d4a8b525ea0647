"""Who may use the monitor's ports: bearer tokens, loopback, and same-origin for the API.

The rules (docs/security.md):

- With a token (``--token``), every OTLP export and every API request that changes something
  needs ``Authorization: Bearer <token>``; reading the API stays open.
- Without a token the monitor listens on loopback only; :func:`check_listen_address` refuses
  anything else unless the operator says ``--allow-unauthenticated``.
- On loopback without a token, any web page the user opens can make the browser send requests
  to ``127.0.0.1:8088`` (CSRF), and a hostile DNS name can be re-pointed at 127.0.0.1 (DNS
  rebinding). So every API request must name the monitor in ``Host``; a mutating one must also
  come from the monitor's own origin (``Origin``, when sent) and be ``application/json``, which
  a cross-origin page can only send after a preflight, and preflights are denied.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Protocol
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


class Headers(Protocol):
    """The part of ``http.client.HTTPMessage`` (or a dict) the checks read."""

    def get(self, name: str, /) -> str | None: ...


class AccessDeniedError(Exception):
    """A request the rules refuse, with the HTTP status and the reason to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def bearer_ok(expected: str | None, header: str | None) -> bool:
    """Constant-time check of an ``Authorization: Bearer <token>`` header.

    The scheme is case-insensitive (RFC 9110 section 11.1), the token is not.
    """
    if expected is None:
        return True
    if not header:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def is_loopback(host: str) -> bool:
    """Is ``host`` (an address or a name) a loopback address? Unknown names count as not."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_listen_address(host: str, token: str | None, *, allow_unauthenticated: bool) -> None:
    """Refuse (``ValueError``) to listen beyond loopback without a token, unless told to."""
    if token is None and not allow_unauthenticated and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host} without a bearer token: anyone who can reach it could "
            "send logs and silence alerts. Pass --token SECRET (or AIBOS_MONITOR_TOKEN), or "
            "--allow-unauthenticated if a firewall or network policy already limits who can connect"
        )


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def allowed_authorities(listen_host: str, port: int) -> frozenset[str]:
    """The ``Host`` values that name this listener (loopback: its usual names too)."""
    names = {listen_host.strip("[]").lower()}
    if is_loopback(listen_host):
        names |= {"localhost", "127.0.0.1", "::1"}
    return frozenset(_authority(name, port) for name in names)


def check_same_origin(
    method: str,
    headers: Headers,
    authorities: frozenset[str],
) -> None:
    """Apply the loopback-without-token rules to one API request; raises :class:`AccessDeniedError`."""
    get = headers.get
    host = (get("Host") or "").strip().lower()
    if host not in authorities:
        raise AccessDeniedError(
            421 if host else 400,
            f"Host {host!r} does not name this monitor; use one of {', '.join(sorted(authorities))}",
        )
    if method in ("GET", "HEAD"):
        return
    origin = get("Origin")
    if origin is not None:
        parts = urlsplit(origin.strip().lower())
        if parts.scheme not in ("http", "https") or parts.netloc not in authorities:
            raise AccessDeniedError(403, f"cross-origin request from {origin!r} refused")
    if method == "POST":
        content_type = (get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            raise AccessDeniedError(415, "changes need Content-Type: application/json")
