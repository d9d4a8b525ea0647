"""Checksum validators against published valid and invalid values."""

from __future__ import annotations

import pytest

from aibos_otel.redaction import validators as v


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5555 5555 5555 4444", "378282246310005", "6011-0004-0000-0000"]
)
def test_valid_cards(number: str) -> None:
    assert v.payment_card(number)


@pytest.mark.parametrize(
    "number",
    [
        "4012-8888-8888-1882",  # Luhn fails
        "4111 1111-1111 1111",  # mixed separators
        "7111111111111117",  # not a card range
        "0000000000000000",
        "2000000000000006",  # Luhn-valid, outside Mastercard's 2221-2720
        "3100000000000003",  # Luhn-valid, no 31 issuer
    ],
)
def test_invalid_cards(number: str) -> None:
    assert not v.payment_card(number)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "NO9386011117947",
        "MU17BOMM0101101030300200000MUR",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert v.iban(iban)


@pytest.mark.parametrize(
    "iban", ["DE89 3704 0044 0532 0130 01", "NL91 1BNA 0417 1643 00", "HR121001005186300016", "XX00 1234"]
)
def test_invalid_ibans(iban: str) -> None:
    assert not v.iban(iban)


@pytest.mark.parametrize(
    ("ssn", "ok"),
    [
        ("078-05-1123", True),
        ("123-45-6780", True),
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("912-12-3456", False),
        ("123-00-4567", False),
        ("123-45-0000", False),
        ("123-45.6780", False),
    ],
)
def test_us_ssn(ssn: str, ok: bool) -> None:
    assert v.us_ssn(ssn) is ok


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (v.es_dni, "12345678Z", "12345678A"),
        (v.es_nie, "X1234567L", "X1234567A"),
        (v.it_codice_fiscale, "RSSMRA85T10A562S", "RSSMRA85T10A562X"),
        (v.pl_pesel, "44051401359", "44051401358"),
        (v.nl_bsn, "111222333", "111222334"),
        (v.fi_hetu, "131052-308T", "131052-308A"),
        (v.fr_nir, "2 55 08 14 168 025 38", "2 55 08 14 168 025 39"),
        (v.se_personnummer, "811228-9874", "811228-9873"),
        (v.us_npi, "1234567893", "1234567890"),
        (v.uk_nino, "AB123456C", "GB123456C"),
        (v.ipv4, "192.0.2.1", "192.168.1.256"),
        (v.ipv6, "2001:db8::8a2e:370:7334", "2001::db8::1"),
        (v.plausible_date, "1984-03-12", "2999-01-01"),
    ],
)
def test_checksums(check: v.Validator, good: str, bad: str) -> None:
    assert check(good)
    assert not check(bad)


@pytest.mark.parametrize(
    "value",
    [
        "${API_KEY}",
        "<your-token>",
        "xxxxxxxxxxxxxxxx",
        "AKIAXXXXXXXXXXXXXXXX",
        "changeme",
        "[REDACTED:email]",
    ],
)
def test_placeholders(value: str) -> None:
    assert v.is_placeholder(value)


@pytest.mark.parametrize(
    "value",
    [
        "SalesResults-1.2",
        "DOC_Vector_5_32",
        "process.env.DB_PASSWORD",
        "user:48213:profile",
        "getPagesInConfluenceSpace",
    ],
)
def test_identifiers_are_not_random(value: str) -> None:
    assert not v.random_looking(value)


@pytest.mark.parametrize(
    "value",
    [
        "b7bff35f0b1bad281e5c0c393ae35df8",
        "xi1pl4x76ljvry2de81te1fqqfmeyazg",
        "u+C4lGv0tct7TlvSUDoc",
        "832d2129-a846-4e27-99f4-7004b6ad53ef",
    ],
)
def test_tokens_are_random(value: str) -> None:
    assert v.random_looking(value)
