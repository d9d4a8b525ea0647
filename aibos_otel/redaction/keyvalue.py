"""The key-aware layer: values that are secret because of the *name* written in front of them.

The value detectors recognise secrets by shape; a password such as ``Summer2611!Qx`` has no
shape. This layer finds ``<name> <syntax> <value>`` in free text, asks the key-name rules
(:class:`~aibos_otel.redaction.detector.KeyRule`) whether the name is sensitive, and masks the
value whatever it looks like. It always runs (the value detectors' first pass does not gate
it), behind its own cheap prefilter: the key rules' literal keywords, as gitleaks does.

Syntaxes recognised after a key (the key may be quoted, or quoted with escaped quotes as in
JSON inside a string):

* assignment: ``key=value``, ``key: value``, ``key => value``, ``key := value``
  (logfmt, KEY=value dumps, JSON, YAML, connection strings ``Password=...;``, query strings);
* XML name/value pairs: ``<property name="password" value="..."/>``,
  ``<entry key="password">...</entry>``, and the JSON form ``{"name": "password", "value": ...}``
  anywhere in a line;
* HTTP headers: ``Authorization: Basic ...``, ``Cookie: ...``: the value runs to the end of the
  line (or the enclosing quote);
* CLI flags: ``--password x``, ``--password=x``, and ``-p x`` / ``-px`` after mysql-like tools;
* prose: ``setting smtp_password to '...'``, ``api_key '...'``,
  ``loaded DB_PASSWORD from env (...)``, ``token (...)``.

Values are quoted (the quote the syntax opened ends them), parenthesised, or bare (ending at
whitespace or the syntax's separator). Template references, booleans, ``null``, small counts
and already-masked values are left alone: they carry no secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from aibos_otel.redaction.detector import KeyRule
from aibos_otel.redaction.scanner import _trie_regex
from aibos_otel.redaction.validators import is_placeholder

#: Longest key and value the layer looks at (bounded work per keyword hit).
MAX_KEY = 64
MAX_VALUE = 1024

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_KEY_HEAD = re.compile(r"[A-Za-z0-9_.\-]+\Z")  # searched with an end position: the key's head
_KEY_TAIL = re.compile(r"[A-Za-z0-9_.\-]{0,%d}".replace("%d", str(MAX_KEY)))
# A quote, possibly escaped (JSON in a string: \" or \\\"), right before or after a key.
_QUOTE = re.compile(r"\\{0,3}[\"'`]")
_QUOTE_BEFORE = re.compile(r"\\{0,3}[\"'`]\Z")
_QUOTES = frozenset("\"'`")
_QUOTE_STARTS = frozenset("\"'`\\")  # what _QUOTE can start with
_ASSIGN = re.compile(r"[ \t]*(?:=>|:=|=(?!=)|:(?!:))[ \t]*")
_PROSE = re.compile(r"\s+(?:to|is|as|was|=)\s+(?=\\{0,3}[\"'`(])")
_SPACE_QUOTE = re.compile(r"[ \t]+(?=\\{0,3}[\"'`])")
# "loaded X from env (...)", "token (...)"; not "Credentials(...)", which is a call
_PAREN = re.compile(r"(?:\s+(?:from|in|via|of)\s+[\w.\-]{1,40}(?:\s+[\w.\-]{1,40})?)?\s+\(")
_FLAG_GAP = re.compile(r"[ \t]+(?=[^\s\-])")
_XML_NAME_ATTR = re.compile(r"(?:name|key|id|param|property)\s*=\s*\Z", re.IGNORECASE)
_XML_VALUE_ATTR = re.compile(r"\s+(?:value|content|val)\s*=\s*(?=[\"'])", re.IGNORECASE)
# the same pair in JSON, anywhere in a line: {"name": "password", "value": "..."} (quotes may be
# escaped, as in JSON inside a string)
_JSON_NAME_ATTR = re.compile(r"\\{0,3}\"(?:name|key|id|param|property)\\{0,3}\"\s*:\s*\Z", re.IGNORECASE)
_JSON_VALUE_ATTR = re.compile(
    r"\s*,\s*\\{0,3}\"(?:value|content|val)\\{0,3}\"\s*:\s*(?=\\{0,3}\")", re.IGNORECASE
)
_XML_TEXT = re.compile(r"\s*>([^<]{1,%d})<".replace("%d", str(MAX_VALUE)))
# A bare value ends at whitespace, a quote or ";" (connection strings), and at "&" or "#" in a
# query string; closing brackets and punctuation at its end belong to the text around it
# ("User(password=x)", "password=x, user=y", "password=x.").
_BARE = re.compile(r"[^\s;\"'`]{1,%d}".replace("%d", str(MAX_VALUE)))
_BARE_QUERY = re.compile(r"[^\s;&#\"'`]{1,%d}".replace("%d", str(MAX_VALUE)))
_BARE_TRAILER = ",)]}>.:"
# The key's tail (as _KEY_TAIL), then -- when "=" and a bare value follow at once, the common
# key=value -- that value, as _value_after would read it (one regex call per keyword hit, not
# three: the per-hit cost bounds a keyword-dense 1 MB line). The value's first character is
# none that _value_after treats apart (quotes, "\\", "(", "{", "["), nor a space after "=",
# nor a second "=" or ">" ("==", "=>"); the rest is _BARE's class, up to MAX_VALUE.
_TAIL_BARE = re.compile(
    r"[A-Za-z0-9_.\-]{0,KEY}(?:=(?![=> \t])(?P<bare>[^\s;\"'`\\({\[][^\s;\"'`]{0,VALUE}))?".replace(
        "KEY", str(MAX_KEY)
    ).replace("VALUE", str(MAX_VALUE - 1))
)
# Before a key, these send it to _value_after: a quote (quoted keys, XML and JSON name/value
# pairs) and a query string's "?" or "&" (where "&" ends a value).
_FAST_PATH_BEFORE = frozenset("\"'`?&")
_TO_LINE_END = re.compile(r"[^\r\n]{1,%d}".replace("%d", str(MAX_VALUE)))
_DOUBLE_QUOTED = re.compile(r"((?:[^\"\\\r\n]|\\.){0,%d})\"".replace("%d", str(MAX_VALUE)))
# mysql -p<password> / -p <password>, sshpass -p <password>: short flags named by the tool.
_SHORT_FLAG = re.compile(
    r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|sshpass)\b[^\r\n]{0,200}?(?<=\s)-p"
    r"(?:[ \t]+(?P<spaced>[^\s\-][^\s]{0,255})|(?P<attached>[^\s]{1,256}))"
)

# Tools whose short flag -p takes a password: words of the prefilter too.
_TOOL_WORDS = ("mysql", "mariadb", "sshpass")
# Names whose value is the rest of the header line (several words: "Bearer x", cookies).
_LINE_VALUED = frozenset(
    {"authorization", "proxy_authorization", "cookie", "set_cookie", "x_api_key", "x_auth_token", "api_key"}
)
# Values that are not secrets whatever the key says.
_INERT = frozenset(
    {
        "null", "none", "nil", "true", "false", "undefined", "empty", "redacted", "masked", "hidden",
        "n/a", "-",
        # code, not a value: "credentials: new Provider(...)", "token = await fetch()"
        "new", "function", "lambda", "await", "async", "require", "import", "return", "this", "self",
    }
)  # fmt: skip
_TEMPLATE = re.compile(r"^(?:\$\{.*\}|\$\(.*\)|\{\{.*\}\}|%\(.*\)s|<[^<>]*>|\$\w+|\*+|x+|X+|\.+)$")


_CODE_CALL = re.compile(r"[A-Za-z_][\w.]*[\[(]")
_NOT_KEY_WORD = re.compile(r"[^a-z0-9]+")


class _NativeHits(Protocol):
    def scan(self, text: str) -> list[tuple[int, int, int, int]]: ...


def _native_hits(words: list[str]) -> _NativeHits | None:
    """The native walk (``aibos_otel_native.KeyHits``) for ``words``, else ``None``."""
    if not words:
        return None
    try:
        from aibos_otel_native import KeyHits
    except ImportError:
        return None
    hits: _NativeHits = KeyHits(words)
    return hits


@dataclass(frozen=True, slots=True)
class KeyedValue:
    """A value masked because of its key: the value's span and the rule the key matched."""

    start: int
    end: int
    rule: KeyRule


# Short keywords that mostly occur inside other words ("span", "inside", "hotpath", "syntax"):
# the Hyperscan trigger wants them at the start of a word. Keys that glue them to a word in
# camelCase ("cardPan") hold another keyword ("card"); the finder itself still sees every hit.
_WORD_START = frozenset({"pan", "sid", "otp", "tax", "dob", "npi", "nino", "mrn", "bsn"})


def trigger_expression(words: Iterable[str]) -> str:
    """The Hyperscan (ASCII, caseless) form of the layer's prefilter: ``words``, the short ones
    at a word start, and the tools of short password flags only with a ``-p`` after them."""
    parts = []
    for word in words:
        if word in _TOOL_WORDS:
            continue
        escaped = re.escape(word)
        parts.append(f"(?:^|[^a-z]){escaped}" if word in _WORD_START else escaped)
    parts.append(r"(?:mysql|mariadb|sshpass)[^\n]{0,200}\s-p")
    return "|".join(parts)


def key_keywords(rules: Iterable[KeyRule]) -> tuple[str, ...]:
    """Every rule's keywords and the tool names of short password flags, deduplicated (the
    prefilter of this layer)."""
    return tuple(dict.fromkeys((*(word for rule in rules for word in rule.keywords), *_TOOL_WORDS)))


@functools.lru_cache(maxsize=4096)  # log values repeat; is_placeholder is not free
def inert_value(value: str) -> bool:
    """True for values that carry no secret under any key: empty, booleans, ``null``, templates
    (``${X}``, ``{{x}}``, ``<your-key>``), masks (``***``), markers from an earlier redaction
    and small counts (``pass=2``)."""
    stripped = value.strip()
    if not stripped or stripped.lower() in _INERT:
        return True
    if stripped.startswith(("[REDACTED", "[HMAC:", "${", "$(", "{{", "%(")) or _TEMPLATE.match(stripped):
        return True
    if _CODE_CALL.match(stripped):
        return True  # session = Client(...), token = os.environ["X"]
    if not stripped.isdigit() and is_placeholder(stripped):
        return True  # <YOUR_PROFILE>, pplx-xxxxxxxx..., PUT_YOUR_TOKEN_HERE (not 122000000000003)
    return stripped.isdigit() and len(stripped) < 3


class KeyValueFinder:
    """Finds values under sensitive keys in free text. Thread-safe (no mutable state)."""

    def __init__(
        self,
        rules: Iterable[KeyRule],
        key_rule: Callable[[str], KeyRule | None],
        key_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self._key_rule = key_rule
        self._key_allowed = key_allowed
        words = sorted(key_keywords(self.rules), key=len, reverse=True)
        self.keywords: tuple[str, ...] = tuple(words)
        # Searched in the lower-cased text as a trie (one branch per first character): some 20x
        # faster than an IGNORECASE alternation, which Python's re tries word by word.
        self._keyword_re = re.compile(_trie_regex(words)) if words else None
        self._keyword_re_any_case = (
            re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None
        )
        self._has_secret_rules = any(r.category == "secrets" for r in self.rules)
        self._native = _native_hits(words)

    def may_apply(self, text: str) -> bool:
        """The cheap prefilter: does any key keyword occur in ``text`` (case-insensitively)?"""
        return self._keyword_re is not None and self._keyword_re.search(text.lower()) is not None

    def _hits(self, text: str) -> Iterator[re.Match[str]]:
        assert self._keyword_re is not None and self._keyword_re_any_case is not None
        lowered = text.lower()
        if len(lowered) == len(text):
            return self._keyword_re.finditer(lowered)  # same offsets as the text
        return self._keyword_re_any_case.finditer(text)  # rare: lower() changed the length

    def find(self, text: str) -> list[KeyedValue]:
        """Every value under a sensitive key in ``text``."""
        return [KeyedValue(start, end, rule) for start, end, rule in self.find_spans(text)]

    def find_spans(self, text: str) -> list[tuple[int, int, KeyRule]]:
        """:meth:`find` as ``(start, end, rule)`` tuples (a 1 MB line has 100 000 of them)."""
        if self._keyword_re is None:
            return []
        if self._native is not None and text.isascii():
            found = self._native_spans(text, self._native.scan(text))
        else:
            found = self._python_spans(text)
        # _SHORT_FLAG is case-sensitive and starts with a tool name: without one of these words
        # (mysqldump, mariadb-dump ... contain them) it cannot match; the checks are C-speed
        # ``in`` tests, the regex is a 30 ms walk over a 1 MB line.
        if self._has_secret_rules and "-p" in text and any(word in text for word in _TOOL_WORDS):
            found.extend((k.start, k.end, k.rule) for k in self._short_flags(text))
        return found

    def _native_spans(
        self, text: str, hits: list[tuple[int, int, int, int]]
    ) -> list[tuple[int, int, KeyRule]]:
        """What :meth:`_python_spans` finds, from the native walk's hits: the keys and bare
        values are read in Rust, the rules, allowlist, inert values and other syntaxes here."""
        found: list[tuple[int, int, KeyRule]] = []
        allowed = self._key_allowed
        rules_seen: dict[str, KeyRule | None] = {}
        covered = -1  # the end of the last quoted or parenthesised value: its words are not keys
        for start, end, value_start, value_end in hits:
            if start < covered:
                continue
            key = text[start:end]
            if key in rules_seen:
                rule = rules_seen[key]
            else:
                rule = rules_seen[key] = None if allowed and allowed(key) else self._key_rule(key)
            if rule is None:
                continue
            if value_start >= 0:
                if not inert_value(text[value_start:value_end]):
                    found.append((value_start, value_end, rule))
                continue
            span = self._value_after(text, start, end, key)
            if span is None or inert_value(text[span[0] : span[1]]) or text[span[1] : span[1] + 1] == "(":
                continue
            found.append((span[0], span[1], rule))
            if text[span[0] - 1 : span[0]] in ('"', "'", "`", "("):
                covered = max(covered, span[1])
        return found

    def _python_spans(self, text: str) -> list[tuple[int, int, KeyRule]]:
        """The key layer's walk in Python (non-ASCII text, or without the native extension)."""
        found: list[tuple[int, int, KeyRule]] = []
        key_end = -1
        allowed = self._key_allowed
        rules_seen: dict[str, KeyRule | None] = {}
        for hit in self._hits(text):
            start = hit.start()
            if start < key_end:
                continue  # a second keyword inside the key already looked at
            if start and text[start - 1] in _KEY_CHARS:
                head = _KEY_HEAD.search(text, max(0, start - MAX_KEY), start)
                start = head.start() if head else start
            tail = _TAIL_BARE.match(text, hit.end())
            assert tail is not None  # every part of _TAIL_BARE is optional: it always matches
            bare_at = tail.start("bare")  # the value of a plain key=value, else -1
            end = key_end = bare_at - 1 if bare_at > 0 else tail.end()
            key = text[start:end].rstrip(".-")
            end = start + len(key)
            if not key.strip("-_.") or text.endswith("${", 0, start) or (allowed and allowed(key)):
                continue
            # A line repeats its keys ("password=x token=y ..."): look each up once per text.
            if key in rules_seen:
                rule = rules_seen[key]
            else:
                rule = rules_seen[key] = self._key_rule(key)
            if rule is None:
                continue
            if bare_at == end + 1 and not (start and text[start - 1] in _FAST_PATH_BEFORE):
                span = _trimmed(bare_at, tail.end(), text)  # what _value_after gives here
            else:
                span = self._value_after(text, start, end, key)
            if (
                span is not None
                and not inert_value(text[span[0] : span[1]])
                and text[span[1] : span[1] + 1] != "("
            ):
                found.append((span[0], span[1], rule))
                if text[span[0] - 1 : span[0]] in ('"', "'", "`", "("):
                    key_end = max(key_end, span[1])  # a quoted value's words are not keys
        return found

    def _short_flags(self, text: str) -> list[KeyedValue]:
        rule = next((r for r in self.rules if r.category == "secrets"), None)
        if rule is None:
            return []
        out = []
        for match in _SHORT_FLAG.finditer(text):
            group = "spaced" if match.group("spaced") else "attached"
            start, end = match.span(group)
            value = text[start:end]
            if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 2:
                start, end = start + 1, end - 1
            if not inert_value(text[start:end]):
                out.append(KeyedValue(start, end, rule))
        return out

    def _value_after(self, text: str, start: int, end: int, key: str) -> tuple[int, int] | None:
        """The span of the value the syntax after the key ``text[start:end]`` gives, if any."""
        # The regex only when a quote sits right before the key (most keys are bare): the
        # per-hit cost is what bounds a keyword-dense 1 MB line.
        opening = (
            _QUOTE_BEFORE.search(text, max(0, start - 4), start)
            if start and text[start - 1] in _QUOTES
            else None
        )
        quote = opening.group() if opening else ""
        position = end
        if quote and text.startswith(quote, position):
            position += len(quote)
            # What precedes the opening quote, for the name/value pair forms: they end in "="
            # (XML) or ":" (JSON), which a C-speed check tests before their regexes do (two
            # searches per quoted key were a third of a 1 MB line of JSON in a string).
            before = text[max(0, start - len(quote) - 20) : start - len(quote)].rstrip()[-1:]
            # <property name="password" value="..."/>, <entry key="password">...</entry>
            if before == "=" and _XML_NAME_ATTR.search(
                text, max(0, start - len(quote) - 16), start - len(quote)
            ):
                attribute = _XML_VALUE_ATTR.match(text, position)
                if attribute:
                    return _read_value(text, attribute.end(), query=False)
                inner = _XML_TEXT.match(text, position)
                if inner:
                    return inner.span(1)
                return None
            if before == ":" and _JSON_NAME_ATTR.search(
                text, max(0, start - len(quote) - 20), start - len(quote)
            ):
                attribute = _JSON_VALUE_ATTR.match(text, position)
                if attribute:
                    return _read_value(text, attribute.end(), query=False)
                return None
        elif quote == "" and start > 0 and text[start - 1] == "<" and text.startswith(">", position):
            inner = _XML_TEXT.match(text, position)  # <password>...</password>
            return inner.span(1) if inner else None
        assign = _ASSIGN.match(text, position)
        if assign and assign.end() > position:
            separator = assign.group().strip()
            value_at = assign.end()
            if value_at >= len(text) or text[value_at] in "\r\n":
                return None  # YAML block ("password:\n  ..."), or nothing after the separator
            if text[value_at] in "{[":
                return None  # a structure: its own keys decide
            if separator == ":" and _line_valued(key) and not _QUOTE.match(text, value_at):
                return _to_line_end(text, value_at, quote)
            query = start > 0 and text[start - 1] in "?&"  # a query string: "&" ends the value
            return _read_value(text, value_at, query=query)
        if key.startswith("-"):
            gap = _FLAG_GAP.match(text, position)
            if gap:
                return _read_value(text, gap.end(), query=False)
        for syntax in (_PROSE, _SPACE_QUOTE):
            prose = syntax.match(text, position)
            if prose:
                return _read_value(text, prose.end(), query=False)
        paren = _PAREN.match(text, position)
        if paren:
            return _read_value(text, paren.end() - 1, query=False)
        return None


@functools.lru_cache(maxsize=1024)  # keys repeat; called for every "key: value"
def _line_valued(key: str) -> bool:
    normalised = _NOT_KEY_WORD.sub("_", key.lower()).strip("_")
    return normalised in _LINE_VALUED


def _to_line_end(text: str, position: int, quote: str) -> tuple[int, int] | None:
    match = _TO_LINE_END.match(text, position)
    if not match:
        return None
    end = match.end()
    if quote:
        closing = text.find(quote[-1], position, end)
        if closing >= 0:
            end = closing
            while end > position and text[end - 1] == "\\":
                end -= 1
    while end > position and text[end - 1] in " \t,;":
        end -= 1
    return (position, end) if end > position else None


def _trimmed(start: int, end: int, text: str) -> tuple[int, int] | None:
    """A bare value's span without the closing brackets and punctuation at its end."""
    while end > start and text[end - 1] in _BARE_TRAILER:
        end -= 1
    return (start, end) if end > start else None


def _read_value(text: str, position: int, *, query: bool) -> tuple[int, int] | None:
    """The value starting at ``position``: quoted (to its closing quote), parenthesised (to the
    closing parenthesis) or bare (to whitespace or a separator)."""
    if position >= len(text):
        return None
    quote = _QUOTE.match(text, position) if text[position] in _QUOTE_STARTS else None
    if quote:
        opening = quote.group()
        inner = quote.end()
        if opening == '"':
            closed = _DOUBLE_QUOTED.match(text, inner)
            if closed:
                return (inner, closed.end(1)) if closed.end(1) > inner else None
        else:
            close = text.find(opening, inner, inner + MAX_VALUE + len(opening))
            if close > inner:
                return inner, close
            if close == inner:
                return None
        bare = _BARE.match(text, inner)  # unbalanced quote: take what a bare value would be
        return bare.span() if bare else None
    if text[position] == "(":
        close = text.find(")", position + 1, position + 2 + MAX_VALUE)
        if close > position + 1:
            return position + 1, close
        return None
    bare = (_BARE_QUERY if query else _BARE).match(text, position)
    if not bare:
        return None
    start, end = bare.span()
    while end > start and text[end - 1] in _BARE_TRAILER:
        end -= 1
    return (start, end) if end > start else None
