"""Generated: every catalogue example's secret, in a dozen log styles, never survives; and
values that are not secrets (ids, UUIDs, digests, timestamps, versions, masks) in the same
styles are never changed.

The secrets come from the catalogue itself (each detector's examples, the span its own
pattern marks), so a new detector is covered as soon as it has an example. Each style writes
the secret under a credential-like name, the way applications log configuration, requests
and errors; the engine must find it by its shape, by the name in front of it, or both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import pytest

from aibos_otel.redaction import Redactor
from aibos_otel.redaction.catalogue import KEY_RULES, all_detectors
from aibos_otel.redaction.scanner import Scanner

Style = Callable[[str, str], str | None]
"""(key, value) -> a log text holding the value under that key, or None if it cannot."""


def _single_line(value: str) -> bool:
    return "\n" not in value and "\r" not in value


def _plain(key: str, value: str) -> str | None:
    if not _single_line(value):
        return f"2024-05-01 12:00:00,123 INFO [config] {key}: {value}"
    return f"2024-05-01 12:00:00,123 INFO [config] loaded {key}: {value} from vault"


def _logfmt(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    if any(c in value for c in ' "\\='):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"ts=2024-05-01T12:00:00Z level=info msg=connecting {key}={value} retries=3"


def _json(key: str, value: str) -> str | None:
    return json.dumps({"level": "info", "msg": "connecting", key: value, "retries": 3})


def _json_in_string(key: str, value: str) -> str | None:
    return json.dumps({"msg": "request received", "body": json.dumps({"user": "bob", key: value})})


def _json_in_log_line(key: str, value: str) -> str | None:
    return "2024-05-01T12:00:00Z DEBUG payload=" + json.dumps(json.dumps({key: value, "n": 1}))


def _xml(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    return (
        f'<configuration><property name="{key}" value={quoteattr(value)[1:-1]!r}/></configuration>'.replace(
            "'", '"'
        )
    )


def _yaml(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    if "'" not in value:
        quoted = f"'{value}'"
    elif '"' not in value and "\\" not in value:
        quoted = f'"{value}"'
    else:
        return None
    return f"service:\n  name: checkout\n  {key}: {quoted}\n  retries: 3\n"


def _http_headers(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    header = "-".join(part.capitalize() for part in key.split("_"))
    return f"GET /v1/orders HTTP/1.1\r\nHost: api.internal\r\n{header}: {value}\r\nAccept: */*\r\n"


def _curl(key: str, value: str) -> str | None:
    if not _single_line(value) or "'" in value:
        return None
    header = "-".join(part.capitalize() for part in key.split("_"))
    return f"+ curl -sS -H 'Accept: application/json' -H '{header}: {value}' https://api.example.com/v1"


def _python_traceback(key: str, value: str) -> str | None:
    if not _single_line(value) or '"' in value or "\\" in value:
        return None
    return (
        "Traceback (most recent call last):\n"
        '  File "/app/client.py", line 42, in connect\n'
        f'    session = Client({key}="{value}")\n'
        f'ValueError: upstream rejected {key}="{value}"'
    )


def _java_traceback(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    return (
        f"java.lang.IllegalStateException: login failed for {key}={value}\n"
        "\tat com.acme.client.Client.connect(Client.java:42)\n"
        "\tat com.acme.Main.main(Main.java:7)"
    )


def _url_query(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    return f'lb-internal - - "GET /v1/orders?user=bob&{key}={quote(value, safe="")}&page=2 HTTP/1.1" 302'


def _percent_encoded(key: str, value: str) -> str | None:
    if not _single_line(value):
        return None
    return f"redirecting to /login?next={quote(f'/cb?{key}={value}&x=1', safe='')}"


STYLES: dict[str, Style] = {
    "plain": _plain,
    "logfmt": _logfmt,
    "json": _json,
    "json-in-string": _json_in_string,
    "json-in-log-line": _json_in_log_line,
    "xml": _xml,
    "yaml": _yaml,
    "http-headers": _http_headers,
    "curl": _curl,
    "python-traceback": _python_traceback,
    "java-traceback": _java_traceback,
    "url-query": _url_query,
    "percent-encoded": _percent_encoded,
}


def _example_secrets() -> list[tuple[str, str]]:
    """(detector id, secret) for every span a detector's own pattern marks in its examples."""
    out: list[tuple[str, str]] = []
    for detector in all_detectors():
        scanner = Scanner([detector], use_hyperscan=False)
        for example in detector.examples:
            for finding in scanner.find(example):
                secret = example[finding.start : finding.end]
                if len(secret) >= 4:
                    out.append((detector.id, secret))
    return list(dict.fromkeys(out))


SECRETS = _example_secrets()
# Key names the catalogue's own key rules give as examples, written as logs write them.
SENSITIVE_KEYS = ("api_key", "password", "client_secret", "auth_token")
NEUTRAL_KEYS = ("request_id", "trace_id", "commit", "version", "created_at", "status")


def _leaked(out: str, value: str, template: str) -> bool:
    """True when ``out`` holds a form of ``value`` more often than the style's own text does
    (a value such as "password" also occurs as a key name)."""
    return any(out.count(form) > template.count(form) for form in _forms(value))


def _forms(value: str) -> set[str]:
    """The value as written in any of the styles (raw, JSON-escaped, percent-encoded ...)."""
    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1], json.dumps(json.dumps(value)[1:-1])[1:-1]}
    return {form for form in forms if len(form) >= 4}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(["secrets", "pci", "gdpr", "hipaa"], use_hyperscan=False)


def test_the_generator_covers_every_detector_with_examples() -> None:
    covered = {detector_id for detector_id, _ in SECRETS}
    with_examples = {d.id for d in all_detectors() if d.examples}
    assert with_examples - covered == set()
    assert len(STYLES) >= 10


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_no_catalogue_secret_survives_any_style(style: str, redactor: Redactor) -> None:
    render = STYLES[style]
    leaks: list[str] = []
    for index, (detector_id, secret) in enumerate(SECRETS):
        key = SENSITIVE_KEYS[index % len(SENSITIVE_KEYS)]
        text = render(key, secret)
        if text is None:
            continue
        out = redactor.redact_text(text)
        if _leaked(out, secret, render(key, "\x00") or ""):
            leaks.append(f"{detector_id}: {text!r} -> {out!r}")
    assert leaks == [], "\n".join(leaks)


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_key_rule_examples_mask_their_values_in_every_style(style: str, redactor: Redactor) -> None:
    value = "Qz8!vR2#wL5p"  # no shape: only the name in front of it makes it secret
    leaks: list[str] = []
    for rule in KEY_RULES:
        for key in rule.examples:
            text = STYLES[style](key, value)
            if text is None:
                continue
            out = redactor.redact_text(text)
            if _leaked(out, value, STYLES[style](key, "\x00") or ""):
                leaks.append(f"{rule.id}: {text!r} -> {out!r}")
    assert leaks == [], "\n".join(leaks)


NON_SECRETS = (
    "3f2c1a9e-8b7d-4c6e-9f01-2a3b4c5d6e7f",  # UUID
    "9fceb02d0ae598e95dc970b74767f19372d61af8",  # git SHA-1
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # SHA-256 digest
    "2024-05-01T12:00:00.123Z",
    "2024-05-01 12:00:00,123",
    "1714564800",  # epoch seconds
    "v1.24.3",
    "1.2.3-rc.1+build.5",
    "req-48213",
    "order_77321",
    "4bf92f3577b34da6a3ce929d0e0e4736",  # trace id
    "00f067aa0ba902b7",  # span id
    "[REDACTED:api-key]",
    "eu-west-1",
)


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_non_secrets_are_left_alone_in_every_style(style: str, redactor: Redactor) -> None:
    changed: list[str] = []
    for index, value in enumerate(NON_SECRETS):
        key = NEUTRAL_KEYS[index % len(NEUTRAL_KEYS)]
        text = STYLES[style](key, value)
        if text is None:
            continue
        out = redactor.redact_text(text)
        if out != text:
            changed.append(f"{text!r} -> {out!r}")
    assert changed == []


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_already_masked_values_under_sensitive_keys_stay_as_they_are(style: str, redactor: Redactor) -> None:
    for key in SENSITIVE_KEYS:
        text = STYLES[style](key, "[REDACTED:password-assignment]")
        if text is not None and style not in ("json", "json-in-string", "json-in-log-line"):
            assert redactor.redact_text(text) == text
