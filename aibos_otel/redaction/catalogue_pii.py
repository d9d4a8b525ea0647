"""PCI, GDPR/PII and HIPAA/PHI detectors: shapes plus checksums (as presidio validates them)."""

from __future__ import annotations

import re
from typing import Any

from aibos_otel.redaction import validators as v
from aibos_otel.redaction.detector import Detector

# Substrings, matched in the 40 characters before a number: chosen not to occur inside common
# identifiers ("tel" would match "hotel", "call" alone "logging_call_cost", "number" any id).
_PHONE_WORDS = (
    "phone", "tel:", "tel.", "tel ", "telephone", "mobile", "cell:", "cellphone", "call to", "call from",
    "calling", "called", "sms", "otp", "whatsapp", "fax", "contact", "callback", "dial", "twilio",
    "signal", "telefon", "numero", "handy", "number is", "number:", "phone number", "mobile number",
)  # fmt: skip
_CARD_WORDS = (
    "card", "pan", "visa", "amex", "mastercard", "credit", "debit", "payment", "uatp", "cc", "refund",
    "charg", "declin", "tokeniz", "billing", "purchase", "transaction",
)  # fmt: skip


def _d(id: str, category: str, group: str, pattern: str, description: str, **extra: Any) -> Detector:
    return Detector(id=id, category=category, group=group, pattern=pattern, description=description, **extra)


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


# A calendar date is not a phone number, even next to "callback" ("created_at=2024-05-01 ...").
_DATE = re.compile(
    r"(?:19|20)\d{2}([\-./])(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])|\d{2}([\-./])\d{2}\2(?:19|20)\d{2}"
)


def _phone_digits(low: int, high: int) -> v.Validator:
    def check(value: str) -> bool:
        if _DATE.fullmatch(value.strip("()")):
            return False
        digits = v.digits_of(value)
        return low <= len(digits) <= high and len(set(digits)) > 2

    return check


def _nanp(value: str) -> bool:
    """Ten digits with valid area and exchange codes, after an optional country code."""
    digits = v.digits_of(value)
    if not 10 <= len(digits) <= 13:
        return False
    local = digits[-10:]
    return local[0] in "23456789" and local[3] in "23456789"


def _card_any_issuer(value: str) -> bool:
    return v.payment_card(value) and v.digits_of(value)[0] == "1"


def _card_main_issuers(value: str) -> bool:
    return v.payment_card(value) and v.digits_of(value)[0] != "1"


def _track_pan(value: str) -> bool:
    pan = value.lstrip("%;B").split("^")[0].split("=")[0]
    return v.luhn_ok(pan)


def _imei(value: str) -> bool:
    digits = v.digits_of(value)
    return len(digits) == 15 and v.luhn_ok(digits)


_NOT_UNIT = r"(?!\s?(?:ms|s|sec|secs|seconds|bytes|b|kb|mb|gb|%|x)\b)"

PCI_DETECTORS: tuple[Detector, ...] = (
    _d(
        "credit-card",
        "pci",
        "payment",
        # not right after an IBAN head ("RS35 2600 0560 ...": the digits are its BBAN groups)
        # Groups separated by one kind of separator: space, dash, dot, slash, underscore or tab
        # (NBSP, thin spaces and en dashes reach it through the unicode view as " " and "-").
        r"(?<![A-Za-z0-9\-.])(?<![A-Z]{2}\d{2} )"
        r"(?P<secret>[2-6]\d{2,3}(?:[ \-./_\t]?\d){9,15})(?![A-Za-z0-9])",
        "Payment card number, 13-19 digits with optional separators, Luhn and issuer checked",
        keywords=(),
        validator=_card_main_issuers,
        shrink=True,
        examples=(
            "card 4111 1111 1111 1111 declined",
            "pan=5555-5555-5555-4444",
            "Refund issued to 378282246310005",
            "card 4111.1111.1111.1111 declined",
            "card 4111/1111/1111/1111 declined",
            "card 4111_1111_1111_1111 declined",
            "card 4111\t1111\t1111\t1111 declined",
            "card 4111\u00a01111\u00a01111\u00a01111 declined",
            "card 4111\u20091111\u20091111\u20091111 declined",
            "card 4111\u20131111\u20131111\u20131111 declined",
        ),
        negatives=(
            "4012-8888-8888-1882",
            "order 4111111111111112 shipped",
            "trace 1700000000000000123",
            "account field rejected: RS35 2600 0560 1001 6113 70",
            "client v9.3.86 51342435 40720079 (client)",
        ),
        # "... 4111111111111111 12 28": the trailing group is shrunk away, the card still found
        priority=80,
        min_digits=13,
    ),
    _d(
        "credit-card-uatp",
        "pci",
        "payment",
        r"(?<![A-Za-z0-9\-.])(?P<secret>1\d{3}(?:[ \-]?\d){11})(?![A-Za-z0-9])",
        "UATP (airline) card number next to a card word, Luhn checked",
        validator=_card_any_issuer,
        shrink=True,
        context=_CARD_WORDS,
        examples=("fraud check flagged card 122000000000003 (velocity)",),
        negatives=("request 122000000000003 done", "card 122000000000004"),
        priority=80,
        min_digits=15,
    ),
    _d(
        "card-verification-code",
        "pci",
        "payment",
        r"(?i)\b(?:cvv2?|cvc2?|cvn|csc|card[ _\-]?security[ _\-]?code|security[ _\-]?code)[\"']?\s*(?:[:=]|is)?\s*[\"']?(?P<secret>\d{3,4})\b",  # noqa: E501
        "Card verification value (CVV/CVC/CSC) next to its name",
        keywords=("cvv", "cvc", "cvn", "csc", "security"),
        examples=('payment payload {"cvv": "123"}', "cvc2=4321"),
        negatives=("cvv field missing",),
        collector=True,
    ),
    _d(
        "card-track-data",
        "pci",
        "payment",
        r"(?P<secret>%?B\d{13,19}\^[A-Za-z /.\-]{2,26}\^\d{4}\d*\??|;\d{13,19}=\d{4}\d{3,}\??)",
        "Magnetic-stripe track 1 or track 2 data",
        keywords=("^", "="),
        validator=_track_pan,
        examples=(
            "swipe %B4111111111111111^DOE/JOHN^2812101000000000?",
            "track2 ;4111111111111111=28121010000000?",
        ),
        negatives=("x;1234567890123=2812000?",),
        priority=85,
        min_digits=17,
    ),
)

GDPR_DETECTORS: tuple[Detector, ...] = (
    _d(
        "email",
        "gdpr",
        "contact",
        r"(?<![\w.%+\-])(?P<secret>[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|xn--[a-z0-9\-]{2,30}))(?![\w\-])",
        "Email address",
        keywords=("@",),
        examples=("bounce received for <info@presidio.site>", "invoice emailed to a@xn--d1acufc.xn--p1ai"),
        negatives=("aws-cli@sha256:eaaa7b11", "git tag v1.2@HEAD"),
    ),
    _d(
        "phone-international",
        "gdpr",
        "contact",
        r"(?<![\w+])(?P<secret>\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){1,6})(?![\w])" + _NOT_UNIT,
        "Phone number in international (E.164-style) format, 8-15 digits",
        keywords=("+",),
        validator=_phone_digits(8, 15),
        examples=(
            "callback requested by +1 415 555 0132",
            "phone: +44 (20) 7123 4567",
            "sending OTP to +33 1 42 68 53 00",
        ),
        negatives=("2024-01-01T00:00:00+00:00", "ratio +12 percent"),
        min_digits=8,
    ),
    _d(
        "phone-nanp",
        "gdpr",
        "contact",
        r"(?<![\d+\-.])(?P<secret>(?:\d{1,3}[ .\-])?(?:\(\d{3}\)\s?|\d{3}[ .\-])\d{3}[ .\-]\d{4})(?![\w\-.])",
        "North American phone number ((415) 555-0132, 415-555-0132)",
        keywords=(),
        validator=_nanp,
        examples=(
            "2FA phone updated to (415) 555-0132",
            "sending OTP to 415-555-0132",
            "reach 91-415-555-0132",
        ),
        negatives=("build 123-456-7890", "date 2024-05-08 10:00"),
        min_digits=10,
    ),
    _d(
        "phone-national-trunk",
        "gdpr",
        "contact",
        r"(?<![\w+\-./:])(?<![A-Z0-9]{4} )(?P<secret>0\d{1,2}[ \-]\d{3,4}[ \-]\d{3,4}|0\d{3,4}[ \-]\d{6}|0\d{1,2}-\d{7,8})(?![\w\-./:]|[ \-]\d)",  # noqa: E501
        "National phone number with trunk prefix 0 (090-1234-5678, 020 7123 4567, 07911 123456)",
        keywords=("0",),
        validator=_phone_digits(9, 12),
        examples=("to: 090-1234-5678", "office 020 7123 4567", "reach me on 07911 123456", "to: 09-7625400"),
        negatives=("version 0.1234.5678", "seq 0-000-000"),
        min_digits=9,
    ),
    _d(
        "phone-with-context",
        "gdpr",
        "contact",
        r"(?<![\w+\-./:])(?P<secret>\(?\d{1,4}\)?(?:[ \-.]?\d{2,5}){1,4})(?![\w\-./:])" + _NOT_UNIT,
        "Phone number in national format next to a phone word (call, sms, phone, callback ...)",
        keywords=(),
        validator=_phone_digits(8, 13),
        context=_PHONE_WORDS,
        context_window=40,
        examples=("Twilio call to 13812345678 completed", "callback requested by 09-7625400"),
        negatives=("call took 12345678 ms", "phone book has 3 entries", "callback at 2024-05-01 12:00:00"),
        min_digits=8,
    ),
    _d(
        "ipv4",
        "gdpr",
        "network",
        r"(?<![\w.])(?P<secret>(?:\d{1,3}\.){3}\d{1,3})(?![\w]|\.\d)",
        "IPv4 address (validated with ipaddress)",
        keywords=(".",),
        validator=v.ipv4,
        examples=("blocked request from 1.1.1.1 (geo: unknown)", "peer=192.0.2.1 bytes=657"),
        negatives=("1.2.3.4.5.6", "192.168.1.256", "Version 1.2.3", "300.168.1.1"),
        min_digits=4,
    ),
    _d(
        "ipv6",
        "gdpr",
        "network",
        r"(?<![\w:.])(?P<secret>(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){6}\d{1,3}(?:\.\d{1,3}){3}"
        r"|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?)"
        r"(?![\w:]|\.\d)",
        "IPv6 address, with or without an embedded IPv4 tail (validated)",
        keywords=(":",),
        validator=v.ipv6,
        priority=55,
        examples=("login from 2001:db8:1::192.0.2.1", "client_ip=2345:0425:2CA1::0567:5673:23b5 bytes=103"),
        negatives=("Time 12:34:56", "Ratio 1:2:3:4", "std::cout", "2001::db8::1", ":::", "Face::Bead.call"),
    ),
    _d(
        "mac-address",
        "gdpr",
        "network",
        r"(?<![\w:\-])(?P<secret>[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})(?![\w:\-])",
        "MAC address (a device identifier)",
        keywords=(":", "-"),
        validator=v.mac_address,
        examples=("device 3c:22:fb:1a:2b:3c joined",),
        negatives=("time 12:34:56:78:90", "00:00:00:00:00:00", "MAC address aa:bb:cc:dd:ee:ff"),
    ),
    _d(
        "iban",
        "gdpr",
        "financial",
        r"(?<![A-Za-z0-9])(?P<secret>[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}"
        r"(?:[ \-]?[A-Z0-9]{1,4})?)(?![A-Za-z0-9])",
        "IBAN (country length, BBAN shape and mod-97 checked)",
        keywords=(),
        validator=v.iban,
        shrink=True,
        examples=(
            "beneficiary updated: iban=DE89 3704 0044 0532 0130 00 bic=DEUTDEFF",
            "payout_iban: GB82WEST12345698765432",
        ),
        negatives=("account field rejected: NL91 1BNA 0417 1643 00", "HR121001005186300016"),
        priority=70,
        min_digits=2,
    ),
    _d(
        "iban-lower-case",
        "gdpr",
        "financial",
        # Lower case needs a banking word before it: hex ids ("de12ab...") have the shape, and a
        # context-free lower-case pattern would make every hex-bearing line a candidate.
        r"(?<![A-Za-z0-9])(?P<secret>[a-z]{2}\d{2}(?:[ \-]?[a-z0-9]{4}){2,7}"
        r"(?:[ \-]?[a-z0-9]{1,4})?)(?![A-Za-z0-9])",
        "IBAN written in lower case, next to a banking word (iban, account, beneficiary ...)",
        validator=v.iban,
        shrink=True,
        context=(
            "iban",
            "account",
            "acct",
            "beneficiary",
            "payee",
            "sepa",
            "bank",
            "transfer",
            "payout",
            "refund",
        ),
        examples=(
            "beneficiary iban de89370400440532013000 saved",
            "payout to account gb82 west 1234 5698 7654 32",
        ),
        negatives=("iban de89370400440532013001", "trace de12ab34cd56ef78901234567890abcd"),
        priority=70,
        min_digits=2,
    ),
    _d(
        "us-ssn",
        "gdpr",
        "national-id",
        r"(?<![\d\-.])(?P<secret>\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{3}\.\d{2}\.\d{4})(?![\d\-.])",
        "US Social Security number with separators (SSA never-issued ranges rejected)",
        keywords=(),
        validator=v.us_ssn,
        examples=("tax_id=078-05-1123 attempt=186", "SSN 123 45 6780 matched existing record"),
        negatives=("078-05-0000", "078 00 1123", "693-09.4444", "666-12-3456"),
        priority=60,
        min_digits=9,
    ),
    _d(
        "us-ssn-context",
        "gdpr",
        "national-id",
        r"(?<![\d\-.])(?P<secret>\d{9})(?![\d\-.])",
        "US Social Security number without separators, next to an SSN word",
        validator=v.us_ssn,
        context=("ssn", "social security", "tax_id", "taxpayer", "tin"),
        examples=("ssn=123456780",),
        negatives=("078051120", "ssn=000000000", "order 123456780"),
        min_digits=9,
    ),
    _d(
        "us-itin",
        "gdpr",
        "national-id",
        r"(?<![\d\-])(?P<secret>9\d{2}-(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])-\d{4})(?![\d\-])",
        "US Individual Taxpayer Identification Number (9NN-NN-NNNN in ITIN group ranges)",
        examples=("itin 912-70-1234 on file",),
        negatives=("912-40-1234",),
        min_digits=9,
    ),
    _d(
        "uk-nino",
        "gdpr",
        "national-id",
        r"(?<![A-Za-z0-9])(?P<secret>[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D])(?![A-Za-z0-9])",  # noqa: E501
        "UK National Insurance number (HMRC prefix rules)",
        validator=v.uk_nino,
        examples=("NINO AB 12 34 56 C verified", "nino=JG103759A"),
        negatives=("BG123456A", "GB 12 34 56 A"),
        min_digits=6,
    ),
    _d(
        "es-dni",
        "gdpr",
        "national-id",
        r"(?<![A-Za-z0-9])(?P<secret>\d{8}-?[A-HJ-NP-TV-Z])(?![A-Za-z0-9])",
        "Spanish DNI (8 digits + mod-23 letter)",
        validator=v.es_dni,
        examples=("dni 12345678Z registrado",),
        negatives=("dni 12345678A",),
        min_digits=8,
    ),
    _d(
        "es-nie",
        "gdpr",
        "national-id",
        r"(?<![A-Za-z0-9])(?P<secret>[XYZ]-?\d{7}-?[A-HJ-NP-TV-Z])(?![A-Za-z0-9])",
        "Spanish NIE (X/Y/Z + 7 digits + mod-23 letter)",
        validator=v.es_nie,
        examples=("nie X1234567L",),
        negatives=("nie X1234567A",),
        min_digits=7,
    ),
    _d(
        "it-codice-fiscale",
        "gdpr",
        "national-id",
        r"(?<![A-Za-z0-9])(?P<secret>[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z])(?![A-Za-z0-9])",
        "Italian codice fiscale (check character validated)",
        validator=v.it_codice_fiscale,
        examples=("cf=RSSMRA85T10A562S",),
        negatives=("cf=RSSMRA85T10A562X",),
        min_digits=7,
    ),
    _d(
        "fi-hetu",
        "gdpr",
        "national-id",
        r"(?<![A-Za-z0-9])(?P<secret>\d{6}[-+ABCDEFYXWVU]\d{3}[0-9A-Y])(?![A-Za-z0-9])",
        "Finnish personal identity code (mod-31 control character)",
        validator=v.fi_hetu,
        examples=("hetu 131052-308T",),
        negatives=("hetu 131052-308A",),
        min_digits=9,
    ),
    _d(
        "fr-nir",
        "gdpr",
        "national-id",
        r"(?<![\d])(?P<secret>[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2})(?![\d])",
        "French social security number (NIR/INSEE, mod-97 key)",
        validator=v.fr_nir,
        examples=("nir 2 55 08 14 168 025 38",),
        negatives=("nir 2 55 08 14 168 025 39",),
        min_digits=13,
    ),
    _d(
        "pl-pesel",
        "gdpr",
        "national-id",
        r"(?<![\d])(?P<secret>\d{11})(?![\d])",
        "Polish PESEL next to its name (weighted check digit, birth month)",
        validator=v.pl_pesel,
        context=("pesel",),
        examples=("PESEL: 44051401359",),
        negatives=("PESEL: 44051401358", "id 44051401359"),
        min_digits=11,
    ),
    _d(
        "nl-bsn",
        "gdpr",
        "national-id",
        r"(?<![\d.])(?P<secret>\d{4}\.?\d{2}\.?\d{3}|\d{9})(?![\d.])",
        "Dutch citizen service number (BSN) next to its name (11-proof)",
        validator=v.nl_bsn,
        context=("bsn", "burgerservicenummer", "sofinummer"),
        examples=("BSN 111222333",),
        negatives=("BSN 111222334",),
        min_digits=9,
    ),
    _d(
        "se-personnummer",
        "gdpr",
        "national-id",
        r"(?<![\d\-])(?P<secret>(?:19|20)?\d{6}[-+]\d{4})(?![\d\-])",
        "Swedish personal identity number next to its name (date + Luhn)",
        validator=v.se_personnummer,
        context=("personnummer", "personal number", "pnr", "personal identity"),
        examples=("personnummer 811228-9874",),
        negatives=("personnummer 811228-9873",),
        min_digits=10,
    ),
    _d(
        "imei",
        "gdpr",
        "device",
        r"(?<![\d])(?P<secret>\d{2}[ \-]?\d{6}[ \-]?\d{6}[ \-]?\d)(?![\d])",
        "Mobile device IMEI next to its name (Luhn)",
        validator=_imei,
        context=("imei",),
        examples=("IMEI 490154203237518",),
        negatives=("IMEI 490154203237519",),
        min_digits=15,
    ),
    _d(
        "passport-number",
        "gdpr",
        "national-id",
        r"(?i)\bpassport(?:[ _\-]?(?:no|number|num|id|#))?\b[\"']?\s*[:=#]?\s*[\"']?(?P<secret>[A-Z0-9]{6,9})\b",  # noqa: E501
        "Passport number next to the word passport",
        keywords=("passport",),
        validator=_has_digit,
        examples=("passport_number=X12345678",),
        negatives=("passport expired",),
    ),
)

HIPAA_DETECTORS: tuple[Detector, ...] = (
    _d(
        "medical-record-number",
        "hipaa",
        "phi",
        r"(?i)\b(?:mrn|medical[ _\-]?record(?:[ _\-]?(?:number|no|num|id))?|patient[ _\-]?(?:id|number|no))\b[\"']?\s*[:#=]?\s*[\"']?(?P<secret>[A-Z0-9][A-Z0-9\-]{4,19})",  # noqa: E501
        "Medical record number / patient id next to its name",
        keywords=("mrn", "medical", "patient"),
        validator=_has_digit,
        examples=("MRN: 00123456 admitted", "patient_id=PT-778812"),
        negatives=("mrn field empty",),
    ),
    _d(
        "health-plan-id",
        "hipaa",
        "phi",
        r"(?i)\b(?:health[ _\-]?plan|member|subscriber|beneficiary|insurance|policy|medicaid)[ _\-]?(?:id|number|no|num|#)\b[\"']?\s*[:#=]?\s*[\"']?(?P<secret>[A-Z0-9][A-Z0-9\-]{5,19})",  # noqa: E501
        "Health plan, member, subscriber or policy id next to its name",
        keywords=("plan", "member", "subscriber", "beneficiary", "insurance", "policy", "medicaid"),
        validator=_has_digit,
        examples=("member id: XYZ123456789", "health_plan_number=HP-99812345"),
        negatives=("member id missing",),
    ),
    _d(
        "medicare-mbi",
        "hipaa",
        "phi",
        r"(?<![A-Za-z0-9])(?P<secret>[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d{2})(?![A-Za-z0-9])",
        "US Medicare Beneficiary Identifier next to its name",
        context=("mbi", "medicare"),
        examples=("Medicare MBI 1EG4-TE5-MK73",),
        negatives=("id 1EG4-TE5-MK73",),
        min_digits=5,
    ),
    _d(
        "date-of-birth",
        "hipaa",
        "phi",
        r"(?i)\b(?:dob|date[ _\-]?of[ _\-]?birth|birth[ _\-]?date|birthday|born(?:[ _]on)?|d\.o\.b\.?)\b[\"']?\s*[:=]?\s*[\"']?"  # noqa: E501
        r"(?P<secret>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{1,2} [A-Za-z]{3,9},? \d{4}|[A-Za-z]{3,9} \d{1,2},? \d{4})",  # noqa: E501
        "Date of birth next to a birth word (dob, date of birth, born ...)",
        keywords=("dob", "birth", "born", "d.o.b"),
        validator=v.plausible_date,
        examples=("patient dob: 1984-03-12", "date_of_birth=12/03/1984", "born on March 12, 1984"),
        negatives=("dob: unknown", "dob=2999-01-01"),
    ),
    _d(
        "us-npi",
        "hipaa",
        "phi",
        r"(?i)\bnpi\b[^\d\n]{0,12}(?P<secret>\d{10})(?!\d)",
        "US National Provider Identifier next to 'NPI' (Luhn with the 80840 prefix)",
        keywords=("npi",),
        validator=v.us_npi,
        examples=("provider NPI: 1234567893",),
        negatives=("provider NPI: 1234567890",),
        min_digits=10,
    ),
    _d(
        "us-dea-number",
        "hipaa",
        "phi",
        r"(?<![A-Za-z0-9])(?P<secret>[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7})(?![A-Za-z0-9])",
        "US DEA registration number next to 'DEA' (check digit)",
        validator=lambda s: (
            (sum(int(s[i]) for i in (2, 4, 6)) + 2 * sum(int(s[i]) for i in (3, 5, 7))) % 10 == int(s[8])
        ),
        context=("dea",),
        examples=("DEA AB1234563",),
        negatives=("DEA AB1234564",),
        min_digits=7,
    ),
)
