"""Checksum and shape validators run on candidate matches only.

Each validator takes the matched secret text and returns ``True`` when the candidate is real.
They are pure functions of the string (no I/O, no state), so the engine can call them from any
thread. Sources of the rules: ISO 7812 (Luhn), ISO 13616 (IBAN mod-97), the SSA's never-issued
SSN ranges, HMRC's NINO prefix rules, and each country's published id checksum.
"""

from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

Validator = Callable[[str], bool]

_NON_DIGIT = re.compile(r"\D", re.ASCII)


def digits_of(text: str) -> str:
    """Return only the ASCII digits of ``text``."""
    return _NON_DIGIT.sub("", text)


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(number: str) -> bool:
    """Return True when the digit string passes the Luhn (mod 10) check."""
    if not number.isascii() or not number.isdigit():
        return False
    # Slices and a table instead of a per-digit loop: this runs once per candidate number, and
    # a line of digit groups holds tens of thousands of candidates.
    total = sum(map(int, number[-1::-2])) + sum(_LUHN_DOUBLED[int(d)] for d in number[-2::-2])
    return total % 10 == 0


def shannon_entropy(text: str) -> float:
    """Shannon entropy in bits per character (0.0 for the empty string)."""
    if not text:
        return 0.0
    length = len(text)
    # The counts in first-seen order, as Counter gives them (the same float sum); str.count
    # per distinct character is cheaper than building a Counter for a short value.
    counts = [text.count(char) for char in dict.fromkeys(text)] if length <= 256 else Counter(text).values()
    return -sum((n / length) * math.log2(n / length) for n in counts)


# ---------------------------------------------------------------------------------------------
# Payment cards
# ---------------------------------------------------------------------------------------------


_CARD_SEPARATOR = re.compile(r"[^0-9]")


@functools.lru_cache(maxsize=4096)
def payment_card(text: str) -> bool:
    """A 13-19 digit PAN: consistent separators, Luhn, a real issuer range, not one repeated digit."""
    number = digits_of(text)
    # Cheapest rejections first: most candidates in digit-heavy text fail length or Luhn.
    if not 13 <= len(number) <= 19 or not luhn_ok(number) or len(set(number)) == 1:
        return False
    if len(number) != len(text):
        if len(set(_CARD_SEPARATOR.findall(text))) > 1:
            return False  # one kind of separator throughout
        groups = [len(g) for g in _CARD_SEPARATOR.split(text) if g]
        if not _card_grouping(groups):
            return False  # "51342435 40720079" is two numbers, not a card
    return _issuer_length_ok(number)


def _card_grouping(groups: list[int]) -> bool:
    """Printed card layouts: 4-4-4-4 (and 4-4-4-4-3 for 19 digits, a short last group for
    13-15), Amex 4-6-5, Diners 4-6-4."""
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def _issuer_length_ok(number: str) -> bool:
    """Issuer ranges and their lengths (ISO/IEC 7812 IINs of the card networks): UATP 1,
    Mastercard 2221-2720 and 51-55, Amex 34/37, Diners 30/36/38/39, JCB 3528-3589, Visa 4,
    Maestro/Dankort 50/56-58, Discover/UnionPay/Maestro 6. 7-9 and 0 are not card ranges."""
    length = len(number)
    head2, head4 = int(number[:2]), int(number[:4])
    match number[0]:
        case "1":
            return length == 15
        case "2":
            return 2221 <= head4 <= 2720 and length == 16
        case "3":
            if head2 in (34, 37):
                return length == 15
            if head2 in (30, 36, 38, 39):
                return 14 <= length <= 19
            return 3528 <= head4 <= 3589 and 16 <= length <= 19
        case "4":
            return length in (13, 16, 19)
        case "5" | "6":
            return 16 <= length <= 19 or (number[0] == "5" and head2 in (50, 56, 57, 58) and length >= 12)
    return False


# ---------------------------------------------------------------------------------------------
# IBAN: length per country (ISO 13616 registry) and mod-97 check digits
# ---------------------------------------------------------------------------------------------

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# BBAN shapes for the countries whose registry entry constrains letters vs digits tightly
# (n = digits, a = upper-case letters, c = alphanumerics); others get length + mod-97 only.
_BBAN_SHAPES: dict[str, str] = {
    "AT": "16n", "AZ": "4a20c", "BA": "16n", "BE": "12n", "BG": "4a6n8c", "BH": "4a14c",
    "BR": "23n1a1c", "BY": "4c4n16c", "CH": "5n12c", "CR": "18n", "CZ": "20n", "DE": "18n",
    "DK": "14n", "DO": "4c20n", "EE": "16n", "EG": "25n", "ES": "20n", "FI": "14n", "FO": "14n",
    "FR": "10n11c2n", "GB": "4a14n", "GE": "2a16n", "GI": "4a15c", "GL": "14n", "GR": "7n16c",
    "HR": "17n", "HU": "24n", "IE": "4a14n", "IL": "19n", "IS": "22n", "IT": "1a10n12c",
    "KZ": "3n13c", "LB": "4n20c", "LI": "5n12c", "LT": "16n", "LU": "3n13c", "LY": "21n",
    "MC": "10n11c2n", "ME": "18n", "MK": "3n10c2n", "MT": "4a5n18c", "MU": "4a19n3a",
    "NL": "4a10n", "NO": "11n", "PK": "4a16c", "PL": "24n", "PS": "4a21c", "PT": "21n",
    "QA": "4a21c", "RO": "4a16c", "RS": "18n", "SA": "2n18c", "SE": "20n", "SI": "15n",
    "SK": "20n", "SM": "1a10n12c", "TN": "20n", "TR": "5n17c", "UA": "6n19c", "VA": "18n",
}  # fmt: skip
_SHAPE_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
_SHAPE_PART = re.compile(r"(\d+)([nac])")
_BBAN_RES: dict[str, re.Pattern[str]] = {}


def _bban_re(country: str) -> re.Pattern[str] | None:
    shape = _BBAN_SHAPES.get(country)
    if shape is None:
        return None
    compiled = _BBAN_RES.get(country)
    if compiled is None:
        body = "".join(f"{_SHAPE_CLASS[kind]}{{{count}}}" for count, kind in _SHAPE_PART.findall(shape))
        compiled = re.compile(body + r"\Z")
        _BBAN_RES[country] = compiled
    return compiled


def iban(text: str) -> bool:
    """Country length, BBAN shape where known, and ISO 7064 mod-97-10 == 1."""
    compact = text.replace(" ", "").replace("-", "")
    if compact != compact.upper() and compact != compact.lower():
        return False  # mixed case ('LV80 bANK ...') is not how IBANs are written
    compact = compact.upper()
    country = compact[:2]
    if IBAN_LENGTHS.get(country) != len(compact) or not compact[2:4].isdigit():
        return False
    shape = _bban_re(country)
    if shape is not None and not shape.match(compact[4:]):
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


# ---------------------------------------------------------------------------------------------
# National ids
# ---------------------------------------------------------------------------------------------


def us_ssn(text: str) -> bool:
    """SSA rules: area not 000/666/9xx, group not 00, serial not 0000; consistent separators."""
    separators = set(re.findall(r"[^0-9]", text))
    if len(separators) > 1:
        return False
    number = digits_of(text)
    if len(number) != 9 or len(set(number)) == 1:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    if area in {"000", "666"} or area[0] == "9" or group == "00" or serial == "0000":
        return False
    # Numbers published in advertising or by the SSA as examples, never valid.
    return number not in {"078051120", "219099999", "123456789"}


_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino(text: str) -> bool:
    """UK National Insurance number prefix rules (HMRC)."""
    compact = text.replace(" ", "").upper()
    return len(compact) == 9 and compact[:2] not in _NINO_BAD_PREFIX


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni(text: str) -> bool:
    """Spanish DNI: 8 digits and the mod-23 control letter."""
    compact = text.replace("-", "").replace(" ", "").upper()
    number, letter = compact[:-1], compact[-1]
    return number.isdigit() and len(number) == 8 and _DNI_LETTERS[int(number) % 23] == letter


def es_nie(text: str) -> bool:
    """Spanish NIE: X/Y/Z prefix mapped to 0/1/2, then the DNI control letter."""
    compact = text.replace("-", "").replace(" ", "").upper()
    prefix = "XYZ".find(compact[0])
    if prefix < 0:
        return False
    return es_dni(f"{prefix}{compact[1:]}")


_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def it_codice_fiscale(text: str) -> bool:
    """Italian codice fiscale: the 16th character is the odd/even weighted check letter."""
    code = text.upper()
    if len(code) != 16:
        return False
    total = 0
    for index, char in enumerate(code[:15]):
        value = int(char) if char.isdigit() else ord(char) - 65
        total += _CF_ODD[value] if index % 2 == 0 else value
    return chr(65 + total % 26) == code[15]


_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


def pl_pesel(text: str) -> bool:
    """Polish PESEL: weighted check digit and a real birth month (century-coded)."""
    number = digits_of(text)
    if len(number) != 11:
        return False
    month = int(number[2:4]) % 20
    if not 1 <= month <= 12 or not 1 <= int(number[4:6]) <= 31:
        return False
    check = (10 - sum(int(d) * w for d, w in zip(number, _PESEL_WEIGHTS, strict=False)) % 10) % 10
    return check == int(number[10])


def nl_bsn(text: str) -> bool:
    """Dutch BSN: the '11-proof' (weights 9..2 and -1)."""
    number = digits_of(text)
    if len(number) != 9 or len(set(number)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(number[:8], range(9, 1, -1), strict=True)) - int(number[8])
    return total % 11 == 0


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def fi_hetu(text: str) -> bool:
    """Finnish personal identity code: date part and the mod-31 control character."""
    code = text.upper()
    if len(code) != 11 or not (code[:6] + code[7:10]).isdigit():
        return False
    if not (1 <= int(code[0:2]) <= 31 and 1 <= int(code[2:4]) <= 12):
        return False
    return _HETU_CHECK[int(code[:6] + code[7:10]) % 31] == code[10]


def fr_nir(text: str) -> bool:
    """French NIR (INSEE): sex digit, month, and the 2-digit mod-97 key (Corsica 2A/2B mapped)."""
    compact = text.replace(" ", "").upper()
    if len(compact) != 15:
        return False
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not compact[13:].isdigit():
        return False
    month = int(body[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(compact[13:])


def se_personnummer(text: str) -> bool:
    """Swedish personnummer (YYMMDD-NNNC): a real date and the Luhn check over 10 digits."""
    number = digits_of(text)
    if len(number) != 10:
        return False
    month, day = int(number[2:4]), int(number[4:6])
    if not (1 <= month <= 12 and 1 <= day % 60 <= 31):
        return False
    return luhn_ok(number)


def us_npi(text: str) -> bool:
    """US National Provider Identifier: Luhn over the '80840' prefix plus the 10 digits."""
    number = digits_of(text)
    return len(number) == 10 and number[0] in "12" and luhn_ok("80840" + number)


# ---------------------------------------------------------------------------------------------
# Network addresses
# ---------------------------------------------------------------------------------------------


def ipv4(text: str) -> bool:
    """A real dotted-quad address (leading zeros rejected, as ipaddress does)."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def ipv6(text: str) -> bool:
    """A real IPv6 address, with or without an embedded IPv4 tail. Without a digit it must be
    '::' itself: 'add::bed' reads as code (C++/Ruby/Perl scopes) far more often than as an address."""
    if text.count(":") < 2 or (text != "::" and not any(c.isdigit() for c in text)):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def mac_address(text: str) -> bool:
    """Six octets, not all zero or broadcast."""
    compact = re.sub(r"[:\-.]", "", text).lower()
    if not any(c.isdigit() for c in compact):
        return False  # 'aa:bb:cc:dd:ee:ff' is an example, real addresses carry digits
    return len(compact) == 12 and compact not in {"000000000000", "ffffffffffff"}


# ---------------------------------------------------------------------------------------------
# Dates (date of birth)
# ---------------------------------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ]
    )
    for m in names
}  # fmt: skip


def plausible_date(text: str) -> bool:
    """True for a calendar date between 1900 and today in a common written form."""
    parts = [p for p in re.split(r"[\s/.,\-]+", text.strip().lower()) if p]
    if len(parts) != 3:
        return False
    year = month = day = -1
    numbers = [p for p in parts if p.isdigit()]
    names = [p for p in parts if not p.isdigit()]
    if names:
        if len(names) != 1 or names[0] not in _MONTHS or len(numbers) != 2:
            return False
        month = _MONTHS[names[0]]
        big = [int(n) for n in numbers if len(n) == 4]
        small = [int(n) for n in numbers if len(n) <= 2]
        if len(big) != 1 or len(small) != 1:
            return False
        year, day = big[0], small[0]
    elif len(parts[0]) == 4:
        year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
    elif len(parts[2]) in (2, 4):
        first, second, year = int(parts[0]), int(parts[1]), int(parts[2])
        if year < 100:
            year += 1900 if year > 30 else 2000
        # Either MM/DD or DD/MM: accept when one reading is a date.
        month, day = (first, second) if first <= 12 else (second, first)
    else:
        return False
    try:
        value = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= value <= _dt.date.today()


# ---------------------------------------------------------------------------------------------
# Secrets without a vendor prefix: placeholders, identifiers and randomness
# ---------------------------------------------------------------------------------------------

_PLACEHOLDER_PREFIXES = (
    "[redacted",
    "[hmac:",
    "${",
    "$(",
    "{{",
    "{%",
    "<%",
    "#{",
    "%s",
    "%d",
    "***",
    "!vault",
)
_PLACEHOLDER_WORDS = (
    "changeme",
    "placeholder",
    "redacted",
    "example",
    "dummy",
    "put_your",
    "put-your",
    "put your",
    "fake",
)
_PLACEHOLDER_RUNS = re.compile(r"x{5}|\*{4}|\#{4}|\.{4}|(?:^|[^a-z])your[_\- ]|insert[_\- ]")
# The words and the runs in one search (a Python loop of ``in`` tests over the words was a
# third of is_placeholder, which runs for every distinct candidate of several validators).
_PLACEHOLDER_SEARCH = re.compile("|".join([*map(re.escape, _PLACEHOLDER_WORDS), _PLACEHOLDER_RUNS.pattern]))
_ENV_REFERENCE = re.compile(r"\$[A-Z_]")
_FILLERS = frozenset("xX*#.0-_ ")


def is_placeholder(value: str) -> bool:
    """True for template variables, masks and example values that carry no secret."""
    if not value:
        return False
    lowered = value.lower()
    if lowered.startswith(_PLACEHOLDER_PREFIXES) or _ENV_REFERENCE.match(value):
        return True
    if (value[0], value[-1]) in (("<", ">"), ("%", "%"), ("{", "}"), ("[", "]")):
        return True  # <your-key>, %ENV_VAR%, {SumoAccessKey}, [PASSWORD]
    if _PLACEHOLDER_SEARCH.search(lowered):
        return True
    # A filler character over most of the value ('AKIAXXXXXXXXXXXXXXXX', 'sk_live_000000...');
    # other repeated letters are left to the detectors ('AKIAZZZZZZZZZZZZZZZZ' is a valid key).
    # Over 60 %, a filler is the most frequent character: only the fillers need counting.
    if len(value) < 8:
        return False
    return any(value.count(filler) > 0.6 * len(value) for filler in _FILLERS.intersection(value))


def no_placeholder(value: str) -> bool:
    """Validator for prefixed vendor tokens: reject obvious placeholders only."""
    return not is_placeholder(value)


_WORD_PART = re.compile(r"[A-Za-z]+|\d+")
_CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]{1,8}(?![a-z])")
_VOWELS = frozenset("aeiouAEIOU")
_RARE_LETTERS = frozenset("jqxzkvwfJQXZKVWF")
_CODE_REF = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?;?$")
_FILE_LIKE = re.compile(
    r"(?:^[~./\\]|\.(?:pem|p12|pfx|jks|key|crt|cer|json|ya?ml|txt|conf|cfg|ini|env|xml|keytab|der|pub)$)",
    re.IGNORECASE,
)


# English spells up to five consonants in a row ("downstream", "lengths"); random text soon more.
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xz]{6,}", re.IGNORECASE)
_CONSONANT_RUN4 = re.compile(r"[b-df-hj-np-tv-xz]{5,}", re.IGNORECASE)


def _pronounceable(word: str) -> bool:
    """A long run of letters reads as a word: enough vowels and no 5-consonant cluster
    (random letters have both within a dozen characters)."""
    vowels = sum(c in _VOWELS for c in word)
    if vowels == 0:
        return False
    if len(word) < 8:
        return not _CONSONANT_RUN4.search(word)
    rare = sum(c in _RARE_LETTERS for c in word)
    return vowels / len(word) >= 0.25 and rare / len(word) <= 0.2 and not _CONSONANT_RUN.search(word)


def _word_like(word: str) -> bool:
    """An acronym (2-6 capitals) or a pronounceable word of 2+ letters (capitalised or not)."""
    if word.isupper():
        return 2 <= len(word) <= 6 or (len(word) > 6 and _pronounceable(word))
    return len(word) >= 2 and _pronounceable(word)


def _is_code_ref(value: str) -> bool:
    """A dotted reference to code (``process.env.DB_PASSWORD``, ``X25519.KeyPair``), as opposed to a
    dotted token: each part is an identifier with few letter/digit changes."""
    if not _CODE_REF.match(value):
        return False
    return all(len(_WORD_PART.findall(part)) <= 3 for part in value.rstrip(";)(").split("."))


def _looks_like_words(value: str) -> bool:
    """True when the value is built from dictionary-like words and short numbers
    (identifiers such as 'SalesResults-1.2' or 'DOC_Vector_5_32'), not random characters."""
    for segment in re.split(r"[\s_\-.:/,]+", value):
        if not segment:
            continue
        runs = _WORD_PART.findall(segment)
        if len(segment) <= 4 and "".join(runs) == segment:
            continue  # short parts such as 'P2', 'v8', 'u16', 'jjwt'
        if "".join(runs) != segment:
            return False  # symbols
        if len(runs) > 2 and (len(segment) < 24 or any(len(r) < 4 for r in runs if r.isalpha())):
            return False  # letters and digits interleaved: a token, unless long words with a digit
        for run in runs:
            if run.isdigit():
                # A whole numeric part is an id or a date (cache keys such as user:48213:profile);
                # a long number glued to letters is not word-like.
                if len(run) > (12 if len(runs) == 1 else 4):
                    return False
                continue
            if run.isupper():
                if len(run) > 6 and not _pronounceable(run):
                    return False  # upper-case constants read as words; random capitals do not
                continue
            words = _CAMEL_WORD.findall(run)
            if "".join(words) != run:
                return False
            good = sum(len(w) for w in words if _word_like(w))
            if good < 0.8 * len(run):
                return False  # single letters and unpronounceable pieces: random characters
    return True


_FIELD_ASSIGNMENT = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=[^=]")


@functools.lru_cache(maxsize=4096)
def prose_value(value: str) -> bool:
    """Validator for a value written after a credential word in prose. ``name=value`` is only
    taken when the name is a short word ('old=...'): 'token counter_id=...' is another field."""
    field = _FIELD_ASSIGNMENT.match(value)
    if field is not None:  # base64 padding ('...==') is not an assignment
        if not (field.group(1).isalpha() and len(field.group(1)) <= 5):
            return False
        value = value[field.end() - 1 :]
    return random_looking(value)


@functools.lru_cache(maxsize=4096)
def random_looking(value: str) -> bool:
    """Heuristic used by the generic key/keyword detectors (gitleaks' generic rule, refined):
    long enough, not a placeholder, not a path or code reference, not made of words, and with
    enough character variety. Cheap checks first; cached, as log values repeat."""
    stripped = value.strip("'\"`")
    if len(stripped) < 8 or stripped[0] in "<{[$%" or "://" in stripped:
        return False
    if not any(c.isalpha() for c in stripped) and len(stripped) < 20:
        return False  # short pure numbers are counts, ids and timestamps
    if shannon_entropy(stripped) < (2.5 if len(stripped) < 16 else 2.75):
        return False
    if is_placeholder(stripped) or _FILE_LIKE.search(stripped) or _is_code_ref(stripped):
        return False
    if _CALL_OR_INDEX.match(stripped):
        return False  # Optional[str], getenv("X"), config["token"]
    return not _looks_like_words(stripped)


def password_value(value: str) -> bool:
    """Validator for values under a password-like key: anything real, not a template or flag."""
    stripped = value.strip()
    if len(stripped) < 3 or is_placeholder(stripped):
        return False
    return stripped.lower() not in {"null", "none", "true", "false", "nil", "undefined", "empty", "required"}


_CALL_OR_INDEX = re.compile(r"^[A-Za-z_][\w.]*[\[(]")
_KEY_WORDS = frozenset(
    {
        "password", "passwd", "secret", "token", "apikey", "api_key", "key", "value", "xxx",
        "string", "str", "int", "bool", "any", "object", "bytes", "secretstr", "optional",
        # detect-secrets' keyword false positives
        "fake", "foo", "bar", "baz", "default", "disable", "disabled", "enable", "enabled", "create",
        "ssl", "sql", "not", "no", "yes", "on", "off", "sequence", "passwords", "pwd", "get", "set",
        "pass", "test", "user", "username", "yyy", "pat",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def strong_value(value: str) -> bool:
    """Validator for values under a password/secret/api-key name: anything real except
    templates, flags, code references (``process.env.X``, ``os.environ['X']``), type names
    (``token: string;``) and key words."""
    stripped = value.strip()
    if stripped.strip(";,<>[]{}()").lower() in _KEY_WORDS or not any(c.isalnum() for c in stripped):
        return False
    if not password_value(stripped) or (len(stripped) < 4 and stripped.isdigit()):
        return False
    if _is_code_ref(stripped) or _CALL_OR_INDEX.match(stripped) or stripped.startswith("$"):
        return False
    if " " not in stripped and _FILE_LIKE.search(stripped):  # pwd: /home/app, key_file: ./tls.key
        return False
    return stripped.lower() not in _KEY_WORDS


_HEX_ONLY = re.compile(r"[0-9a-fA-F\-]+")
_PUBLIC_BLOB_PREFIXES = (
    "AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh",  # ssh-rsa, ssh-ed25519, ecdsa public keys
    "sha1-", "sha256-", "sha384-", "sha512-",  # subresource integrity
    "iVBORw0KGgo", "/9j/", "R0lGOD", "JVBERi0", "UEsDB", "H4sI",  # PNG, JPEG, GIF, PDF, zip, gzip
)  # fmt: skip


def random_token(value: str, vendor_prefixes: tuple[str, ...]) -> bool:
    """A long token with no name in front of it that looks random: letters and digits, not a hex
    digest (commit ids, content hashes and trace ids are common and harmless in logs), not words,
    not a known public blob, not a vendor's shape (``vendor_prefixes``: its own detector decides,
    a wrong length is a near miss), and at least 4 bits of entropy per character.

    The catalogue passes the prefixes of its vendor detectors (``catalogue_secrets``), so this
    module need not import the catalogue it serves.
    """
    if len(value) < 44 or _HEX_ONLY.fullmatch(value) or is_placeholder(value):
        return False
    if value.startswith(_PUBLIC_BLOB_PREFIXES):
        return False  # SSH public keys, subresource-integrity hashes, base64 images and archives
    if value.lower().startswith(vendor_prefixes):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    if _looks_like_words(value):
        return False
    return shannon_entropy(value) >= 4.0


def base64_jwt(value: str) -> bool:
    """A base64 text that decodes to a JWT (``eyJ...`` with a dot)."""
    import base64
    import binascii

    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return False
    return decoded.startswith(b"eyJ") and b"." in decoded


_PEM_LINES = re.compile(r"-----(?:BEGIN|END)[^-]*-----")


def pem_body(value: str) -> bool:
    """A private-key block with a body (not just its BEGIN and END lines)."""
    return len(_PEM_LINES.sub("", value).strip()) >= 16


def jwt_shape(value: str) -> bool:
    """A token starting with ``eyJ`` (base64 of ``{"``) must have a header that decodes to a
    JSON object; other ``ey...`` shapes are accepted on the pattern (as gitleaks does)."""
    if not value.startswith("eyJ"):
        return not is_placeholder(value)
    import base64
    import binascii
    import json

    header = value.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        parsed = json.loads(decoded.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict)
