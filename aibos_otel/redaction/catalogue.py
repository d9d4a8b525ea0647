"""The built-in catalogue: every value detector and key-name rule, grouped by profile."""

from __future__ import annotations

from collections.abc import Iterable

from aibos_otel.redaction.detector import PROFILES, Detector, KeyRule

# One of these occurs (lower-cased) in every key the sensitive-key rule matches: the key layer's
# prefilter in free text. Keys naming a key are listed with what comes before "key", so that
# "cache key orders:1" does not wake the layer; "connection" only as "connection string".
_SENSITIVE_KEY_WORDS = (
    "pass", "pwd", "secret", "token", "credential", "auth", "cookie", "sess", "sid", "cfid", "jwt", "bearer",
    "dsn", "otp", "_key", "-key", ".key", "apikey", "accesskey", "privatekey", "signingkey", "encryptionkey",
    "masterkey", "clientkey", "connection_string", "connectionstring", "connection-string",
    "connection.string",
)  # fmt: skip

KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule(
        "sensitive-key",
        "secrets",
        r"(?:^|_)(?:[a-z0-9]*pass_?word|[a-z0-9]*passwd|pass_?phrase|pwd|pass|pgpass|secrets?|token"
        r"|(?:access|auth|refresh|id|bearer|session|csrf|xsrf|api|cf)token"
        r"|(?:api|access|secret|private|signing|encryption|master|client|x_api)_?key|(?:client|app|api)_?secret"
        r"|credentials?|authorization|auth|cookie|set_cookie|session(?:_?(?:id|token|key))?|sess|sessid|sid"
        # session cookies of common frameworks (PHP, Java servlets, classic ASP, ColdFusion)
        r"|phpsessid|jsessionid|aspsessionid[a-z]*|cfid"
        r"|jwt|bearer|dsn|connection_?string|otp|private_?key_?pem)$",
        "Attribute key naming a secret (password, token, api_key, authorization, cookie, session ...)",
        examples=(
            "password",
            "user.password",
            "X-Api-Key",
            "http.request.header.authorization",
            "set-cookie",
            "apiKey",
            "PHPSESSID",
            "JSESSIONID",
            "connect.sid",
            "laravel_session",
            "_session_id",
            "PGPASSWORD",
            "accesstoken",
        ),
        negatives=(
            "gen_ai.usage.input_tokens",
            "token_count",
            "password_length",
            "author",
            "session.count",
            "keyword",
            "bypass",
            "inside",
        ),
        keywords=_SENSITIVE_KEY_WORDS,
    ),
    KeyRule(
        "card-key",
        "pci",
        r"(?:^|_)(?:credit_?card(?:_?number)?|card_?(?:number|num|no)|cc_?(?:number|num|no)|pan|primary_?account_?number"
        r"|cvv2?|cvc2?|card_?security_?code|track_?data)$",
        "Attribute key naming card data (credit_card, card_number, cvv ...)",
        examples=("credit_card", "payment.cardNumber", "cvv"),
        negatives=("span", "card_brand", "company"),
        keywords=("card", "ccn", "cc_", "cc-", "cc.", "pan", "primary", "cvv", "cvc", "track"),
    ),
    KeyRule(
        "national-id-key",
        "gdpr",
        r"(?:^|_)(?:ssn|social_?security_?(?:number|no)?|national_?id(?:_?number)?|nino|passport_?(?:number|no)"
        r"|tax_?id|personnummer|pesel|bsn)$",
        "Attribute key naming a national identifier (ssn, national_id, passport_number ...)",
        examples=("ssn", "user.national_id", "passportNumber"),
        negatives=("lesson", "taxidermy"),
        keywords=("ssn", "social", "national", "nino", "passport", "tax", "personnummer", "pesel", "bsn"),
    ),
    KeyRule(
        "health-key",
        "hipaa",
        r"(?:^|_)(?:dob|date_?of_?birth|birth_?date|mrn|medical_?record_?(?:number|no)?|diagnosis|health_?plan_?id"
        r"|member_?id|npi)$",
        "Attribute key naming protected health information (dob, mrn, diagnosis ...)",
        examples=("patient.dob", "date_of_birth", "mrn"),
        negatives=("bob", "member_count"),
        keywords=("dob", "birth", "mrn", "medical", "diagnosis", "health", "member", "npi"),
    ),
)


def all_detectors() -> tuple[Detector, ...]:
    """Every built-in value detector (imports the catalogue modules on first call)."""
    from aibos_otel.redaction.catalogue_pii import GDPR_DETECTORS, HIPAA_DETECTORS, PCI_DETECTORS
    from aibos_otel.redaction.catalogue_secrets import SECRET_DETECTORS

    return SECRET_DETECTORS + PCI_DETECTORS + GDPR_DETECTORS + HIPAA_DETECTORS


def detectors_for(profiles: Iterable[str]) -> tuple[Detector, ...]:
    """The built-in detectors of the given profiles, in catalogue order."""
    wanted = _check_profiles(profiles)
    return tuple(d for d in all_detectors() if d.category in wanted)


def key_rules_for(profiles: Iterable[str]) -> tuple[KeyRule, ...]:
    """The built-in key-name rules of the given profiles."""
    wanted = _check_profiles(profiles)
    return tuple(rule for rule in KEY_RULES if rule.category in wanted)


def _check_profiles(profiles: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(p.strip().lower() for p in profiles if p.strip())
    unknown = wanted - set(PROFILES)
    if unknown:
        raise ValueError(f"unknown redaction profile(s) {sorted(unknown)}; known: {', '.join(PROFILES)}")
    return wanted
