"""Redactor behaviour: strategies, allowlists, key rules, structures, JSON, profiles."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from aibos_otel.redaction import Detector, Redactor, default_redactor
from aibos_otel.redaction.engine import normalise_key, resolve_profiles

CARD = "4111 1111 1111 1111"
GH = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


def test_mask_names_the_detector_and_never_echoes_the_secret() -> None:
    out = default_redactor().redact_text(f"card {CARD} and token {GH}")
    assert out == "card [REDACTED:credit-card] and token [REDACTED:github-token]"


def test_partial_keeps_first_six_and_last_four_card_digits() -> None:
    redactor = Redactor(strategy={"pci": "partial"})
    assert redactor.redact_text(f"card {CARD} ok") == "card 411111******1111 ok"
    # partial applies to cards only; other detectors are masked
    assert "[REDACTED:github-token]" in redactor.redact_text(GH)


def test_hash_is_keyed_stable_and_not_reversible_without_the_key() -> None:
    a = Redactor(strategy={"email": "hash"}, hash_key="k1")
    b = Redactor(strategy={"email": "hash"}, hash_key="k2")
    first = a.redact_text("mail bob@example.com")
    assert first == a.redact_text("mail bob@example.com")
    assert first != b.redact_text("mail bob@example.com")
    assert re.fullmatch(r"mail \[HMAC:email:[0-9a-f]{16}\]", first)
    assert "bob" not in first


def test_hash_without_a_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIBOS_REDACTION_HASH_KEY", raising=False)
    with pytest.raises(ValueError, match="hash_key"):
        Redactor(strategy="hash")


def test_drop_removes_the_attribute_but_masks_inside_text() -> None:
    redactor = Redactor(strategy={"secrets": "drop"})
    out = redactor.redact_attributes({"note": f"token {GH}", "password": "hunter2", "keep": "fine"})
    assert out == {"keep": "fine"}
    assert redactor.redact_text(f"token {GH}") == "token [REDACTED:github-token]"


def test_unknown_strategy_and_profile_are_rejected() -> None:
    with pytest.raises(ValueError):
        Redactor(strategy="shred")
    with pytest.raises(ValueError):
        Redactor(profiles=["secrets", "nope"])


def test_profiles_select_detector_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIBOS_REDACTION_PROFILES", raising=False)
    assert resolve_profiles(None) == ("secrets", "pci", "gdpr")
    monkeypatch.setenv("AIBOS_REDACTION_PROFILES", "secrets, hipaa")
    assert resolve_profiles(None) == ("secrets", "hipaa")
    assert resolve_profiles("none") == ()
    secrets_only = Redactor(profiles=["secrets"])
    assert secrets_only.redact_text("mail bob@example.com") == "mail bob@example.com"
    hipaa = Redactor(profiles=["hipaa"])
    assert hipaa.redact_text("patient dob: 1984-03-12") == "patient dob: [REDACTED:date-of-birth]"
    assert (
        default_redactor().redact_text("patient dob: 1984-03-12") == "patient dob: [REDACTED:date-of-birth]"
    )
    monkeypatch.delenv("AIBOS_REDACTION_PROFILES")
    assert default_redactor().redact_text("patient dob: 1984-03-12") == "patient dob: 1984-03-12"


def test_value_allowlist_exact_and_regex() -> None:
    redactor = Redactor(allow=["ops@example.com", re.compile(r"10\.0\.\d+\.\d+")])
    out = redactor.redact_text("from ops@example.com at 10.0.3.4 and bob@example.com at 8.8.8.8")
    assert out == "from ops@example.com at 10.0.3.4 and [REDACTED:email] at [REDACTED:ipv4]"


def test_key_allowlist_and_key_rules() -> None:
    redactor = Redactor(allow_keys=["session.kind", re.compile(r"build\..*")])
    out = redactor.redact_attributes(
        {
            "user.password": "x",
            "X-Api-Key": 12345,
            "session.kind": "interactive",
            "build.token": "ghp_notreally",
            "http.request.header.authorization": ["Basic abc"],
            "gen_ai.usage.input_tokens": 120,
            "token_count": 3,
        }
    )
    assert out == {
        "user.password": "[REDACTED:sensitive-key]",
        "X-Api-Key": "[REDACTED:sensitive-key]",
        "session.kind": "interactive",
        "build.token": "ghp_notreally",
        "http.request.header.authorization": "[REDACTED:sensitive-key]",
        "gen_ai.usage.input_tokens": 120,
        "token_count": 3,
    }


@pytest.mark.parametrize(
    ("key", "normalised"),
    [
        ("X-Api-Key", "x_api_key"),
        ("xApiKey", "x_api_key"),
        ("user.password", "user_password"),
        ("SET-COOKIE", "set_cookie"),
    ],
)
def test_normalise_key(key: str, normalised: str) -> None:
    assert normalise_key(key) == normalised


def test_nested_structures_lists_and_big_integers() -> None:
    out = default_redactor().redact_attributes(
        {
            "order": {"card": {"number": 4111111111111111}, "items": [{"note": f"use {GH}"}, 3]},
            "ids": [1, 2, 3],
            "ratio": 0.5,
            "ok": True,
            "none": None,
        }
    )
    assert out["order"]["card"]["number"] == "[REDACTED:credit-card]"
    assert out["order"]["items"] == [{"note": "use [REDACTED:github-token]"}, 3]
    assert out["ids"] == [1, 2, 3] and out["ratio"] == 0.5 and out["ok"] is True and out["none"] is None


def test_json_embedded_in_a_string_is_redacted_field_wise() -> None:
    body = json.dumps({"user": "bob", "session": "abc123", "nested": {"pan": CARD}, "n": 5})
    out = default_redactor().redact_text(body)
    assert json.loads(out) == {
        "user": "bob",
        "session": "[REDACTED:sensitive-key]",
        "nested": {"pan": "[REDACTED:card-key]"},
        "n": 5,
    }


def test_extra_detectors_and_disable() -> None:
    employee = Detector(
        id="employee-id",
        category="gdpr",
        pattern=r"\bEMP-\d{6}\b",
        description="Internal employee id",
        keywords=("emp-",),
        examples=("EMP-123456",),
        negatives=("EMP-12",),
    )
    redactor = Redactor(extra_detectors=[employee], disable=["email"])
    assert redactor.redact_text("EMP-123456 bob@example.com") == "[REDACTED:employee-id] bob@example.com"
    with pytest.raises(ValueError, match="duplicate"):
        Redactor(extra_detectors=[employee, employee])


def test_overlapping_findings_are_masked_as_one_region() -> None:
    out = default_redactor().redact_text("postgres://app:s3cr3tP4ss@db.internal:5432/app")
    assert "s3cr3tP4ss" not in out
    assert out.count("[REDACTED:") == 1


def test_redactor_is_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    redactor = Redactor()
    lines = [f"user{i}@example.com paid with {CARD} token {GH}" for i in range(200)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(redactor.redact_text, lines))
    assert all(
        r == "[REDACTED:email] paid with [REDACTED:credit-card] token [REDACTED:github-token]"
        for r in results
    )


def test_exception_text_and_stack_traces_are_scanned() -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app.py", line 3, in <module>\n'
        f'    connect(password="Tr0ub4dor&3", token="{GH}")\n'
        "ValueError: login failed for bob@example.com"
    )
    out = default_redactor().redact_text(trace)
    assert "Tr0ub4dor&3" not in out and GH not in out and "bob@example.com" not in out
    assert 'File "/srv/app.py", line 3, in <module>' in out


def test_hyperscan_database_is_cached_and_background_compile_switches_engines(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hyperscan")
    monkeypatch.setenv("AIBOS_CACHE_DIR", str(tmp_path))
    text = f"card {CARD} token {GH} mail bob@example.com"
    cold = Redactor(["secrets"])  # nothing cached: starts on the pure-re pass, compiles behind
    first = cold.redact_text(text)
    assert cold.scanner.wait_ready(120)
    assert cold.scanner.engine == "hyperscan"
    assert cold.redact_text(text) == first
    warm = Redactor(["secrets"])  # cached by the first: ready at once
    assert warm.scanner.engine == "hyperscan"
    assert warm.redact_text(text) == first
    monkeypatch.setenv("AIBOS_CACHE_DIR", "off")
    assert Redactor(["secrets"], use_hyperscan=False).redact_text(text) == first


ASSIGNMENT_SHAPES = [
    '{i}Token="{s}"',
    "{i}Token = {s}",
    '{{"{i}_token": "{s}"}}',
    '{{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}}',
    "<{i}Token>{s}</{i}Token>",
    "{i}_token: '{s}'",
    'string {i}Token = "{s}";',
    'var {i}Token string = "{s}"',
    "{i}Token := `{s}`",
    '${i}Token .= "{s}"',
    'System.setProperty("{I}_TOKEN", "{s}")',
    '  "{i}Token" => "{s}"',
    '{I}_TOKEN ::= "{s}"',
    '{I}_TOKEN :::= "{s}"',
    '{I}_TOKEN ?= "{s}"',
    'val {i}Token: String = "{s}"',
    'export {I}_API_KEY="{s}"',
]


@pytest.mark.parametrize("shape", ASSIGNMENT_SHAPES)
@pytest.mark.parametrize("vendor", ["looker", "zendesk", "acme"])
def test_token_assignments_in_config_and_code_shapes(shape: str, vendor: str) -> None:
    """Assignments as they appear in INI, JSON, XML, YAML, Go, Java, C#, PHP, Kotlin, Python,
    Logstash and Makefiles (the shapes gitleaks generates its samples in)."""
    secret = "Xq7" + vendor[:3] + "Lm2Np9Rt4Vw8Yz1Bc5Df"
    line = shape.format(i=vendor, I=vendor.upper(), s=secret)
    assert secret not in default_redactor().redact_text(line)


def test_hyperscan_cache_keeps_the_most_recently_used_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One database per distinct detector set: without pruning the cache only grows."""
    pytest.importorskip("hyperscan")
    from aibos_otel.redaction import scanner

    monkeypatch.setenv("AIBOS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(scanner, "CACHE_KEEP", 2)
    profiles = (["secrets"], ["pci"], ["gdpr"])
    for profile in profiles:
        redactor = Redactor(profile)
        assert redactor.scanner.wait_ready(120) and redactor.scanner.engine == "hyperscan"
    assert len(list(tmp_path.glob("hs-*.db"))) == 2
    assert len(list(tmp_path.glob("hs-*.json"))) == 2
    # the newest two survive: building them again is a cache hit (ready at once)
    for profile in profiles[1:]:
        assert Redactor(profile).scanner.engine == "hyperscan"


def test_a_background_compile_stores_where_the_cache_was_when_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compile that outlives a change of AIBOS_CACHE_DIR (another test, or the application)
    must not store into, and prune, the new directory."""
    pytest.importorskip("hyperscan")
    from aibos_otel.redaction import scanner

    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("AIBOS_CACHE_DIR", str(first))
    gate = threading.Event()
    real_compile = scanner._compile

    def gated_compile(*args: Any) -> Any:
        gate.wait(30)
        return real_compile(*args)

    monkeypatch.setattr(scanner, "_compile", gated_compile)
    redactor = Redactor(["pci"])
    assert redactor.scanner.engine == "re"  # compiling in the background
    monkeypatch.setenv("AIBOS_CACHE_DIR", str(second))
    gate.set()
    assert redactor.scanner.wait_ready(120) and redactor.scanner.engine == "hyperscan"
    assert len(list(first.glob("hs-*.db"))) == 1
    assert not second.exists()


def test_repeated_candidates_get_the_same_verdict_each_time() -> None:
    """The second pass remembers each matched string's validator verdict within one text; a
    repeated valid card, a repeated failing one and a repeated shrunk one must each be treated
    exactly as a single occurrence is."""
    redactor = Redactor(["pci"])
    valid, invalid = "4111 1111 1111 1111", "4111 1111 1111 1112"
    shrunk = "4111 1111 1111 1111 2024"  # the trailing group is cut off by the shrink
    for sample in (valid, invalid, shrunk):
        single = redactor.redact_text(f"paid with {sample} ok")
        repeated = redactor.redact_text(" | ".join(f"paid with {sample} ok" for _ in range(5)))
        assert repeated == " | ".join([single] * 5)
    assert "4111" not in redactor.redact_text(f"{valid} and {valid}")
    assert redactor.redact_text(f"{invalid} and {invalid}") == f"{invalid} and {invalid}"
