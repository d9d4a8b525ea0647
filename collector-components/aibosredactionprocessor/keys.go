package aibosredactionprocessor

// The key-aware layer (aibos_otel/redaction/keyvalue.py in Go): a value is secret because of
// the name written in front of it ("password=...", "Authorization: Bearer ...", "--token x",
// "<entry key=\"password\">...</entry>"), whatever it looks like. Python's look-arounds are
// hand-written checks here; every regex is RE2 (linear), every read bounded by maxKey/maxValue.

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"
)

const (
	maxKey      = 64
	maxValueLen = 1024
)

type keyRule struct {
	id, category string
	re           *regexp.Regexp
}

func compileKeyRule(spec *keyRuleSpec) (*keyRule, error) {
	re, err := regexp.Compile(spec.Pattern)
	if err != nil {
		return nil, fmt.Errorf("key rule %s: %w", spec.ID, err)
	}
	return &keyRule{id: spec.ID, category: spec.Category, re: re}, nil
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// normaliseKey: "X-Api-Key", "x.api_key" and "xApiKey" all become "x_api_key".
func normaliseKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'A' && c <= 'Z' && i > 0 {
			p := key[i-1]
			if (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9') {
				b.WriteByte('_')
			}
		}
		b.WriteByte(c)
	}
	return strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(b.String()), "_"), "_")
}

// KeyRule returns the key rule that makes an attribute key sensitive ("" when none); cached.
func (e *Engine) keyRule(key string) *keyRule {
	e.keyCacheMu.Lock()
	rule, ok := e.keyCache[key]
	e.keyCacheMu.Unlock()
	if ok {
		return rule
	}
	normalised := normaliseKey(key)
	for _, r := range e.keyRules {
		if r.re.MatchString(normalised) {
			rule = r
			break
		}
	}
	e.keyCacheMu.Lock()
	if len(e.keyCache) >= maxKeyCacheLen {
		clear(e.keyCache)
	}
	e.keyCache[key] = rule
	e.keyCacheMu.Unlock()
	return rule
}

var (
	xmlNameAttr   = regexp.MustCompile(`(?i)(?:name|key|id|param|property)\s*=\s*\z`)
	jsonNameAttr  = regexp.MustCompile(`(?i)\\{0,3}"(?:name|key|id|param|property)\\{0,3}"\s*:\s*\z`)
	xmlValueAttr  = regexp.MustCompile(`(?i)\A\s+(?:value|content|val)\s*=\s*`)
	jsonValueAttr = regexp.MustCompile(`(?i)\A\s*,\s*\\{0,3}"(?:value|content|val)\\{0,3}"\s*:\s*`)
	prose         = regexp.MustCompile(`\A\s+(?:to|is|as|was|=)\s+`)
	spaceQuote    = regexp.MustCompile(`\A[ \t]+`)
	paren         = regexp.MustCompile(`\A(?:\s+(?:from|in|via|of)\s+[\w.\-]{1,40}(?:\s+[\w.\-]{1,40})?)?\s+\(`)
	shortFlag     = regexp.MustCompile(`\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|sshpass)\b[^\r\n]{0,199}?\s-p(?:[ \t]+([^\s\-][^\s]{0,255})|([^\s]{1,256}))`)
	templateValue = regexp.MustCompile(`\A(?:\$\{.*\}|\$\(.*\)|\{\{.*\}\}|%\(.*\)s|<[^<>]*>|\$\w+|\*+|x+|X+|\.+)\z`)
	codeCall      = regexp.MustCompile(`\A[A-Za-z_][\w.]*[\[(]`)
	pairSecret    = regexp.MustCompile(`\A:([A-Za-z0-9/+=_\-]{16,256})`)
)

var lineValued = map[string]bool{"authorization": true, "proxy_authorization": true, "cookie": true,
	"set_cookie": true, "x_api_key": true, "x_auth_token": true, "api_key": true}

var inertSet = func() map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(`null none nil true false undefined empty redacted masked hidden n/a -
		new function lambda await async require import return this self`) {
		out[w] = true
	}
	return out
}()

func isKeyChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// quoteAt: `\\{0,3}["'\x60]` at position (the length matched, 0 when none).
func quoteAt(text string, position int) int {
	n := 0
	for n < 3 && position+n < len(text) && text[position+n] == '\\' {
		n++
	}
	if position+n < len(text) && isQuote(text[position+n]) {
		return n + 1
	}
	return 0
}

// quoteBefore: `\\{0,3}["'\x60]\Z` searched in text[max(0,start-4):start].
func quoteBefore(text string, start int) string {
	if start == 0 || !isQuote(text[start-1]) {
		return ""
	}
	lo := max(0, start-4)
	s := start - 1
	for s > lo && text[s-1] == '\\' {
		s--
	}
	return text[s:start]
}

func inertValue(value string) bool {
	s := strings.TrimSpace(value)
	if s == "" || inertSet[strings.ToLower(s)] {
		return true
	}
	for _, p := range []string{"[REDACTED", "[HMAC:", "${", "$(", "{{", "%("} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if templateValue.MatchString(s) || codeCall.MatchString(s) {
		return true
	}
	digits := allDigitsUnicode(s)
	if !digits && isPlaceholder(s) {
		return true
	}
	return digits && runeLen(s) < 3
}

func allDigitsUnicode(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

type keyFinder struct {
	e             *Engine
	automaton     *ahocorasick.Automaton
	hasSecretRule bool
	secretRule    *keyRule
}

func newKeyFinder(e *Engine) *keyFinder {
	f := &keyFinder{e: e}
	var words []string
	for i, isKey := range e.keyKeyword {
		if isKey {
			words = append(words, e.automatonPattern(i))
		}
	}
	for _, r := range e.keyRules {
		if r.category == "secrets" && f.secretRule == nil {
			f.secretRule, f.hasSecretRule = r, true
		}
	}
	if len(words) > 0 {
		// leftmost-longest, non-overlapping: the SDK's trie regex over the lower-cased text
		automaton, err := ahocorasick.NewBuilder().SetMatchKind(ahocorasick.LeftmostLongest).AddStrings(words).Build()
		if err == nil {
			f.automaton = automaton
		}
	}
	return f
}

type keyedValue struct {
	start, end int
	rule       *keyRule
}

func (f *keyFinder) find(text string, out []finding) []finding {
	if f.automaton == nil {
		return out
	}
	lowered := []byte(asciiLower(text))
	keyEnd := -1
	for _, hit := range f.automaton.FindAll(lowered, -1) {
		if hit.Start < keyEnd {
			continue
		}
		start := hit.Start
		if start > 0 && isKeyChar(text[start-1]) {
			lo := max(0, start-maxKey)
			s := start
			for s > lo && isKeyChar(text[s-1]) {
				s--
			}
			start = s
		}
		end := hit.End
		for n := 0; n < maxKey && end < len(text) && isKeyChar(text[end]); n++ {
			end++
		}
		keyEnd = end
		key := strings.TrimRight(text[start:end], ".-")
		end = start + len(key)
		if strings.Trim(key, "-_.") == "" || strings.HasSuffix(text[:start], "${") {
			continue
		}
		rule := f.e.keyRule(key)
		if rule == nil {
			continue
		}
		vs, ve, ok := f.valueAfter(text, start, end, key)
		if ok && !inertValue(text[vs:ve]) && !(ve < len(text) && text[ve] == '(') {
			out = append(out, finding{start: vs, end: ve, id: rule.id, priority: keyRulePriority, category: rule.category})
			if vs > 0 && (isQuote(text[vs-1]) || text[vs-1] == '(') {
				keyEnd = max(keyEnd, ve)
			}
		}
	}
	if f.hasSecretRule && strings.Contains(text, "-p") {
		for _, m := range shortFlag.FindAllStringSubmatchIndex(text, -1) {
			s, e := m[2], m[3]
			if s < 0 {
				s, e = m[4], m[5]
			}
			value := text[s:e]
			if len(value) > 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
				s, e = s+1, e-1
			}
			if !inertValue(text[s:e]) {
				out = append(out, finding{start: s, end: e, id: f.secretRule.id, priority: keyRulePriority, category: f.secretRule.category})
			}
		}
	}
	return out
}

const keyRulePriority = 5

func (f *keyFinder) valueAfter(text string, start, end int, key string) (int, int, bool) {
	quote := quoteBefore(text, start)
	position := end
	if quote != "" && strings.HasPrefix(text[position:], quote) {
		position += len(quote)
		qs := start - len(quote)
		if xmlNameAttr.MatchString(text[max(0, qs-16):qs]) {
			if m := xmlValueAttr.FindStringIndex(text[position:]); m != nil && position+m[1] < len(text) && (text[position+m[1]] == '"' || text[position+m[1]] == '\'') {
				return readValue(text, position+m[1], false)
			}
			if m := xmlTextAt(text[position:]); m != nil {
				return position + m[2], position + m[3], true
			}
			return 0, 0, false
		}
		if jsonNameAttr.MatchString(text[max(0, qs-20):qs]) {
			if m := jsonValueAttr.FindStringIndex(text[position:]); m != nil && quoteAt(text, position+m[1]) > 0 && text[position+m[1]+quoteAt(text, position+m[1])-1] == '"' {
				return readValue(text, position+m[1], false)
			}
			return 0, 0, false
		}
	} else if quote == "" && start > 0 && text[start-1] == '<' && strings.HasPrefix(text[position:], ">") {
		if m := xmlTextAt(text[position:]); m != nil {
			return position + m[2], position + m[3], true
		}
		return 0, 0, false
	}
	if sep, valueAt, ok := assignAt(text, position); ok {
		if valueAt >= len(text) || text[valueAt] == '\r' || text[valueAt] == '\n' {
			return 0, 0, false
		}
		if text[valueAt] == '{' || text[valueAt] == '[' {
			return 0, 0, false
		}
		if sep == ":" && lineValued[strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(key), "_"), "_")] && quoteAt(text, valueAt) == 0 {
			return toLineEnd(text, valueAt, quote)
		}
		query := start > 0 && (text[start-1] == '?' || text[start-1] == '&')
		return readValue(text, valueAt, query)
	}
	if strings.HasPrefix(key, "-") {
		if m := spaceQuote.FindStringIndex(text[position:]); m != nil {
			at := position + m[1]
			if at < len(text) && !isSpaceByte(text[at]) && text[at] != '-' {
				return readValue(text, at, false)
			}
		}
	}
	if m := prose.FindStringIndex(text[position:]); m != nil {
		at := position + m[1]
		if q := quoteAt(text, at); q > 0 || (at < len(text) && text[at] == '(') {
			return readValue(text, at, false)
		}
	}
	if m := spaceQuote.FindStringIndex(text[position:]); m != nil {
		if at := position + m[1]; quoteAt(text, at) > 0 {
			return readValue(text, at, false)
		}
	}
	if m := paren.FindStringIndex(text[position:]); m != nil {
		return readValue(text, position+m[1]-1, false)
	}
	return 0, 0, false
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// assignAt: `[ \t]*(?:=>|:=|=(?!=)|:(?!:))[ \t]*` at position; the separator and where the
// value starts.
func assignAt(text string, position int) (string, int, bool) {
	i := position
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	if i >= len(text) {
		return "", 0, false
	}
	sep := ""
	switch {
	case strings.HasPrefix(text[i:], "=>"):
		sep = "=>"
	case strings.HasPrefix(text[i:], ":="):
		sep = ":="
	case text[i] == '=' && !(i+1 < len(text) && text[i+1] == '='):
		sep = "="
	case text[i] == ':' && !(i+1 < len(text) && text[i+1] == ':'):
		sep = ":"
	default:
		return "", 0, false
	}
	i += len(sep)
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return sep, i, true
}

func toLineEnd(text string, position int, quote string) (int, int, bool) {
	end := position
	for end < len(text) && end-position < maxValueLen && text[end] != '\r' && text[end] != '\n' {
		end++
	}
	if end == position {
		return 0, 0, false
	}
	if quote != "" {
		if closing := strings.IndexByte(text[position:end], quote[len(quote)-1]); closing >= 0 {
			end = position + closing
			for end > position && text[end-1] == '\\' {
				end--
			}
		}
	}
	for end > position && strings.IndexByte(" \t,;", text[end-1]) >= 0 {
		end--
	}
	return position, end, end > position
}

func bareEnd(text string, position int, query bool) int {
	end := position
	for end < len(text) && end-position < maxValueLen {
		c := text[end]
		if isSpaceByte(c) || c == ';' || isQuote(c) || (query && (c == '&' || c == '#')) {
			break
		}
		end++
	}
	return end
}

func readValue(text string, position int, query bool) (int, int, bool) {
	if position >= len(text) {
		return 0, 0, false
	}
	if q := quoteAt(text, position); q > 0 {
		opening := text[position : position+q]
		inner := position + q
		if opening == `"` {
			if n, ok := doubleQuotedAt(text[inner:]); ok {
				if n > 0 {
					return inner, inner + n, true
				}
				return 0, 0, false
			}
		} else {
			limit := min(len(text), inner+maxValueLen+len(opening))
			if closing := strings.Index(text[inner:limit], opening); closing > 0 {
				return inner, inner + closing, true
			} else if closing == 0 {
				return 0, 0, false
			}
		}
		if end := bareEnd(text, inner, false); end > inner {
			return inner, end, true
		}
		return 0, 0, false
	}
	if text[position] == '(' {
		limit := min(len(text), position+2+maxValueLen)
		if closing := strings.IndexByte(text[position+1:limit], ')'); closing > 0 {
			return position + 1, position + 1 + closing, true
		}
		return 0, 0, false
	}
	end := bareEnd(text, position, query)
	for end > position && strings.IndexByte(",)]}>.:", text[end-1]) >= 0 {
		end--
	}
	return position, end, end > position
}

// pairSecrets: a random-looking secret right after a found key id and a colon, the second half
// of a credential pair (AKIA...:<secret access key>).
func pairSecrets(text string, findings []finding, e *Engine) []finding {
	n := len(findings)
	for i := 0; i < n; i++ {
		f := findings[i]
		if f.end < len(text) && text[f.end] == ':' && f.category == "secrets" {
			if m := pairSecret.FindStringSubmatchIndex(text[f.end:]); m != nil {
				after := f.end + m[3]
				if after < len(text) && isPairChar(text[after]) {
					continue
				}
				if randomLooking(text[f.end+m[2] : after]) {
					findings = append(findings, finding{start: f.end + m[2], end: after, id: f.id, priority: f.priority, category: f.category})
				}
			}
		}
	}
	return findings
}

func isPairChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte("/+=_-", c) >= 0
}

// xmlTextAt: `\s*>([^<]{1,1024})<` at the start of text (RE2 repeats stop at 1000, so by hand);
// the submatch layout of FindStringSubmatchIndex.
func xmlTextAt(text string) []int {
	i := 0
	for i < len(text) && isSpaceByte(text[i]) {
		i++
	}
	if i >= len(text) || text[i] != '>' {
		return nil
	}
	start := i + 1
	end := start
	for end < len(text) && end-start < maxValueLen && text[end] != '<' {
		end++
	}
	if end == start || end >= len(text) || text[end] != '<' {
		return nil
	}
	return []int{0, end + 1, start, end}
}

// doubleQuotedAt: `((?:[^"\\\r\n]|\\.){0,1024})"` at the start of text: the length of the
// quoted value (to its closing quote) and whether it closed.
func doubleQuotedAt(text string) (int, bool) {
	i, units := 0, 0
	for i < len(text) && units <= maxValueLen {
		c := text[i]
		if c == '"' {
			return i, true
		}
		if c == '\\' {
			if i+1 >= len(text) || text[i+1] == '\n' {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(text[i+1:])
			i += 1 + size
		} else {
			if c == '\r' || c == '\n' {
				return 0, false
			}
			i++
		}
		units++
	}
	return 0, false
}
