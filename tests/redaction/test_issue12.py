"""Issue 12: values that reached the OTLP receiver unmasked with ``default_redactor()``.

Each case names the secret that must not survive; every case runs through both first passes.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from aibos_otel.redaction import Detector, Redactor
from aibos_otel.redaction._examples import ALNUM, URLSAFE, fake
from aibos_otel.redaction.views import percent_view, unicode_view, views
from aibos_otel.saferegex import UnsafePatternError

STRIPE = "sk_live_" + fake(ALNUM, 24, "issue12-stripe")
JWT = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ"
    + fake(ALNUM, 20, "issue12-jwt")
    + "."
    + fake(URLSAFE, 43, "issue12-sig")
)
PW = "Summer2611!Qx"

URL_USERINFO = {
    "sub-delim-password": ("postgres://app:Summer6276!Qx@db:5432/x", "Summer6276!Qx"),
    "empty-user": ("redis://:S3cr3tPassw0rdQ9@cache:6379/0", "S3cr3tPassw0rdQ9"),
    "short-host": ("amqp://guest:Kx9!mQ2@mq", "Kx9!mQ2"),
    "percent-escapes": ("mongodb://admin:p%40ss%3Aw0rd@mongo:27017/admin", "p%40ss%3Aw0rd"),
}
JSON_UNDER_KEYS = {
    "json-in-a-string": ('{"outer": "{\\"password\\": \\"Summer2611!Qx\\"}"}', "Summer2611!Qx"),
    "authorization-without-scheme": (
        '{"authorization": "dXNlcjpTM2NyM3RQYXNzdzByZFE5"}',
        "dXNlcjpTM2NyM3RQYXNzdzByZFE5",
    ),
    "tax-id": ('{"tax_id": "12-3456789"}', "12-3456789"),
    "session-no-detector-fires": ('{"session": "abc"}', "abc"),
    "name-value-pair": ('{"name": "password", "value": "Summer2611!Qx"}', "Summer2611!Qx"),
    "name-value-pair-in-a-line": ('params [{"key": "api_key", "value": "Summer2611!Qx"}]', "Summer2611!Qx"),
}
PERCENT = {
    "email": ("email=alice.smith%40contoso-mail.com", "alice.smith%40contoso-mail.com"),
    "aws-key-in-next": ("next=%2Fapi%3Fkey%3DAKIAIOSFODNN7EXAMPLQ", "AKIAIOSFODNN7EXAMPLQ"),
    "card-after-3d": ("pay?c=x%3D4111111111111111", "4111111111111111"),
    "jwt-after-3d": (f"redirect?next=%2Fcb%3Fid_token%3D{JWT}", JWT[40:]),
    "double-encoded": ("next=%252Fapi%253Fpassword%253DSummer2611Qx", "Summer2611Qx"),
}
UNICODE = {
    "card-nbsp": ("card 4111\u00a01111\u00a01111\u00a01111", "1111\u00a01111"),
    "card-thin-space": ("card 4111\u20091111\u20091111\u20091111", "1111\u20091111"),
    "card-en-dash": ("card 4111\u20131111\u20131111\u20131111", "1111\u20131111"),
    "card-dot": ("card 4111.1111.1111.1111", "1111.1111"),
    "card-slash": ("card 4111/1111/1111/1111", "1111/1111"),
    "card-underscore": ("card 4111_1111_1111_1111", "1111_1111"),
    "card-tab": ("card 4111\t1111\t1111\t1111", "1111\t1111"),
    "card-full-width": ("card \uff14\uff11\uff11\uff11 1111 1111 1111", "1111 1111"),
    "iban-lower-case": ("iban de89370400440532013000", "de89370400440532013000"),
    "idn-email": ("mail j\u00f6rg@m\u00fcller-mail.de", "j\u00f6rg@m\u00fcller-mail.de"),
    "stripe-zero-width": (f"key {STRIPE[:12]}\u200b{STRIPE[12:]}", STRIPE[12:]),
    "stripe-soft-hyphen": (f"key {STRIPE[:12]}\u00ad{STRIPE[12:]}", STRIPE[12:]),
    "jwt-zero-width-in-signature": (f"token={JWT[:60]}\u200d{JWT[60:]}", JWT[60:]),
}
KEYED_SYNTAXES = {
    "logfmt": (f"level=info msg=login smtp_password={PW} user=bob", PW),
    "env-dump": (f"DB_PASSWORD={PW}", PW),
    "yaml": (f"db:\n  password: '{PW}'\n", PW),
    "xml-property": (f'<property name="password" value="{PW}"/>', PW),
    "xml-add-key": (f'<add key="ApiSecret" value="{PW}"/>', PW),
    "xml-entry": (f'<entry key="password">{PW}</entry>', PW),
    "http-authorization": (
        "Authorization: Basic dXNlcjpTM2NyM3RQYXNzdzByZFE5",
        "dXNlcjpTM2NyM3RQYXNzdzByZFE5",
    ),
    "cookie-header": (f"Cookie: theme=dark; sessionid={PW}", PW),
    "set-cookie-jsessionid": (
        "Set-Cookie: JSESSIONID=ABCDEF0123456789; Path=/; HttpOnly",
        "ABCDEF0123456789",
    ),
    "phpsessid": ("PHPSESSID=k2j3h4g5f6d7s8a9", "k2j3h4g5f6d7s8a9"),
    "connect-sid": (f"connect.sid=s%3A{PW}", PW),
    "laravel-session": (f"laravel_session={PW}", PW),
    "rails-session-id": (f"_session_id={PW}", PW),
    "cli-long-flag": (f"--password {PW}", PW),
    "cli-short-flag-mysql": (f"mysql -uroot -p{PW} db", PW),
    "cli-short-flag-sshpass": (f"sshpass -p '{PW}' ssh deploy@host", PW),
    "connection-string": (f"Server=db;User Id=sa;Password={PW};", PW),
    "prose-setting-to": (f"setting smtp_password to '{PW}'", PW),
    "prose-loaded-from-env": (f"loaded DB_PASSWORD from env ({PW})", PW),
    "escaped-json-in-line": (f'payload="{{\\"password\\": \\"{PW}\\"}}"', PW),
    "credential-pair": ("AKIAIOSFODNN7EXAMPLQ:wJalrXUtnFqMI/K7MDENG/bPxRfiCYz8Xq3ZgkQ9", "wJalrXUtnFqMI"),
    "pgpassword": (f"export PGPASSWORD={PW}", PW),
}


def _cases(*tables: dict[str, tuple[str, str]]) -> list[object]:
    return [pytest.param(text, secret, id=name) for table in tables for name, (text, secret) in table.items()]


@pytest.fixture
def redactor(use_hyperscan: bool) -> Redactor:
    redactor = Redactor(use_hyperscan=use_hyperscan)
    assert redactor.scanner.wait_ready(120)
    return redactor


@pytest.mark.parametrize(
    ("text", "secret"), _cases(URL_USERINFO, JSON_UNDER_KEYS, PERCENT, UNICODE, KEYED_SYNTAXES)
)
def test_issue12_value_is_masked(redactor: Redactor, text: str, secret: str) -> None:
    out = redactor.redact_text(text)
    assert secret not in out, out
    assert "[REDACTED:" in out


def test_key_layer_runs_without_any_value_detector_candidate(redactor: Redactor) -> None:
    # No detector keyword here: before issue 12, redact() returned before the key rules ran.
    result = redactor.redact("session=abc")
    assert result.text == "session=[REDACTED:sensitive-key]"
    assert result.counts == Counter({"sensitive-key": 1})


@pytest.mark.parametrize(
    "text",
    [
        "tests pass=12 fail=0",
        "auth_method=oauth session.count=3 token_count=512",
        "password: ${DB_PASSWORD}",
        "api_key=<your-api-key>",
        "credentials: new AWS.SharedIniFileCredentials({ profile: 'dev' })",
        "token = fetch_token(scope)",
        "password=[REDACTED:password-assignment]",
        "secret: null",
        "the session expired after 30 minutes",
        "https://url:8000 @something else",
        "GET /v1/items?page=2&sort=desc 200 in 12 ms (canary 10%)",
        "Gr\u00f6\u00dfe 42 \u2013 caf\u00e9 cr\u00e8me, 12\u00a0000 \u20ac",
    ],
)
def test_keyed_and_view_negatives_stay_unchanged(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text) == text


def test_views_map_spans_back_to_the_raw_text() -> None:
    raw = "a%40b x%253Dy"
    view = percent_view(raw)
    assert view is not None and view.text == "a@b x%3Dy"
    at = view.text.index("@")
    assert raw[slice(*view.span_to_raw(at, at + 1))] == "%40"
    assert [v.text for v in views(raw)] == ["a@b x%3Dy", "a@b x=y"]
    raw = "k\u200bey\u00a0\u00f6"
    folded = unicode_view(raw)
    assert folded is not None and folded.text == "key o"
    assert folded.span_to_raw(0, 3) == (0, 4)
    assert unicode_view("plain ascii") is None and percent_view("no escapes here") is None


def test_custom_detectors_run_on_re2_and_unsafe_patterns_are_refused() -> None:
    employee = Detector(
        id="employee-id", category="secrets", pattern=r"(?:a+)+$|EMP-(?P<secret>\d{6})", description="d"
    )
    redactor = Redactor(profiles="none", extra_detectors=[employee], use_hyperscan=False)
    hostile = "a" * 40 + "!"
    started = time.perf_counter()
    assert redactor.redact_text(hostile) == hostile
    assert time.perf_counter() - started < 10  # backtracking re would take days (2**40 steps)
    assert redactor.redact_text("badge EMP-123456 ok") == "badge EMP-[REDACTED:employee-id] ok"
    lookaround = Detector(id="bad", category="secrets", pattern=r"(?<=x)\d+", description="d")
    with pytest.raises(UnsafePatternError, match="custom redaction detector 'bad'"):
        Redactor(profiles="none", extra_detectors=[lookaround])
