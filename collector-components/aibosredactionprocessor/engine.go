package aibosredactionprocessor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"
)

// Marker texts. A value is replaced by "[REDACTED:<detector id>]", as the SDK writes it.
const (
	errorID        = "redaction-error"
	oversizedID    = "redaction-oversized"
	markerPrefix   = "[REDACTED:"
	hmacPrefix     = "[HMAC:"
	windowBefore   = 64  // bytes searched by a look-behind check (Python's are fixed-width, shorter)
	windowAfter    = 256 // bytes searched by a look-ahead check
	maxKeyCacheLen = 8192
)

func marker(id string) string { return markerPrefix + id + "]" }

type condition struct {
	neg bool
	re  *regexp.Regexp
}

type detector struct {
	spec          *detectorSpec
	index         int
	re            *regexp.Regexp
	secretGroups  []int // submatch indexes of the "secret*" groups (the first that took part)
	notWordGroups []int // submatch indexes of "aibosnotword" groups: none may hold a not_words word
	notWords      map[string]bool
	beforeClass   *[256]bool
	reFirst       *regexp.Regexp // with before_class: (?:\A|[^class]) first, for the search from 0
	reNext        *regexp.Regexp // with before_class: [^class] first, searched from the byte before
	before        [][]condition
	after         []condition
	runClass      *[256]bool // every match holds a run of spec.RunMin bytes of this class
	// every match is a stretch of one run of runClass bytes whose ends the boundary classes allow
	// (see hasBoundedRun); nil when the catalogue does not say so or it cannot be checked in bytes
	afterClass *[256]bool
	bounded    bool
	validator  validatorFunc
	context    []string
}

type finding struct {
	start, end int
	id         string
	priority   int
	category   string
}

// Engine is the compiled catalogue: immutable after newEngine, safe for concurrent use.
type Engine struct {
	detectors []*detector
	// keyword automaton over lower-cased text: pattern id -> detectors (or the key layer)
	automaton   *ahocorasick.Automaton
	byKeyword   [][]int // detector indexes per automaton pattern
	keyKeyword  []bool  // automaton pattern is a key-layer word
	keywords    []string
	singleByte  []int   // keyword ids of one-byte keywords (checked in the presence table)
	multiIDs    []int   // automaton pattern id -> keyword id
	byContext   [][]int // detector indexes whose context word is this automaton pattern
	always      []int   // detectors with no keyword: gated by their digit count only
	keyRules    []*keyRule
	keys        *keyFinder
	maxValue    int
	keyCacheMu  sync.Mutex
	keyCache    map[string]*keyRule
	lowerBuffer sync.Pool
}

// newEngine compiles the catalogue for the given profiles.
func newEngine(spec *catalogueSpec, maxValue int) (*Engine, error) {
	e := &Engine{maxValue: maxValue, keyCache: map[string]*keyRule{}}
	e.lowerBuffer.New = func() any { b := make([]byte, 0, 1024); return &b }
	keywordIndex := map[string]int{}
	var keywords []string
	addKeyword := func(k string) int {
		if i, ok := keywordIndex[k]; ok {
			return i
		}
		keywordIndex[k] = len(keywords)
		keywords = append(keywords, k)
		e.byKeyword = append(e.byKeyword, nil)
		e.keyKeyword = append(e.keyKeyword, false)
		return len(keywords) - 1
	}
	for i := range spec.Detectors {
		d, err := compileDetector(&spec.Detectors[i], i)
		if err != nil {
			return nil, err
		}
		e.detectors = append(e.detectors, d)
		// Context words gate too: the SDK needs one before the match, so one is in the text.
		for _, w := range d.spec.Context {
			id := addKeyword(w)
			e.byContext = append(e.byContext, nil)
			for len(e.byContext) < len(keywords) {
				e.byContext = append(e.byContext, nil)
			}
			e.byContext[id] = append(e.byContext[id], i)
		}
		if len(d.spec.Keywords) == 0 {
			e.always = append(e.always, i)
		}
		for _, k := range d.spec.Keywords {
			id := addKeyword(k)
			e.byKeyword[id] = append(e.byKeyword[id], i)
		}
	}
	for i := range spec.KeyRules {
		rule, err := compileKeyRule(&spec.KeyRules[i])
		if err != nil {
			return nil, err
		}
		e.keyRules = append(e.keyRules, rule)
	}
	for _, k := range spec.KeyWords {
		e.keyKeyword[addKeyword(k)] = true
	}
	for len(e.byContext) < len(keywords) {
		e.byContext = append(e.byContext, nil)
	}
	e.keywords = keywords
	e.keys = newKeyFinder(e)
	// One-byte keywords ("-", "0", ":", "@") occur in most values: they are looked up in the
	// byte-presence table instead, so the automaton reports few matches (fewer allocations).
	var multi []string
	for id, k := range keywords {
		if len(k) == 1 {
			e.singleByte = append(e.singleByte, id)
			continue
		}
		e.multiIDs = append(e.multiIDs, id)
		multi = append(multi, k)
	}
	if len(multi) > 0 {
		automaton, err := ahocorasick.NewBuilder().AddStrings(multi).Build()
		if err != nil {
			return nil, fmt.Errorf("keyword automaton: %w", err)
		}
		e.automaton = automaton
	}
	return e, nil
}

func compileDetector(spec *detectorSpec, index int) (*detector, error) {
	flags := ""
	if spec.IgnoreCase {
		flags = "(?i)"
	}
	source := "(?P<aibosbody>" + spec.RE2 + ")"
	if spec.AfterClass != "" {
		negated, err := negateClass(spec.AfterClass)
		if err != nil {
			return nil, fmt.Errorf("detector %s: %w", spec.ID, err)
		}
		// RE2 consumes one byte outside the class (or the end): the same match Python's
		// (?!class) look-ahead gives, since RE2 prefers the same alternatives.
		source += `(?:\z|` + negated + ")"
	}
	re, err := regexp.Compile(flags + source)
	if err != nil {
		return nil, fmt.Errorf("detector %s: pattern RE2 cannot compile: %w", spec.ID, err)
	}
	d := &detector{spec: spec, index: index, re: re}
	if spec.BeforeClass != "" {
		// The look-behind class is consumed by RE2 too: a byte outside it (or the start) must come
		// first, so no thread starts inside a run of token bytes.
		negated, err := negateClass(spec.BeforeClass)
		if err != nil {
			return nil, fmt.Errorf("detector %s: %w", spec.ID, err)
		}
		if d.reFirst, err = regexp.Compile(flags + `(?:\A|` + negated + ")" + source); err != nil {
			return nil, fmt.Errorf("detector %s: %w", spec.ID, err)
		}
		if d.reNext, err = regexp.Compile(flags + negated + source); err != nil {
			return nil, fmt.Errorf("detector %s: %w", spec.ID, err)
		}
	}
	for i, name := range re.SubexpNames() {
		if strings.HasPrefix(name, "secret") {
			d.secretGroups = append(d.secretGroups, i)
		}
		if name == "aibosnotword" {
			d.notWordGroups = append(d.notWordGroups, i)
		}
	}
	if len(spec.NotWords) > 0 {
		d.notWords = map[string]bool{}
		for _, w := range spec.NotWords {
			d.notWords[w] = true
		}
	}
	if spec.BeforeClass != "" {
		if d.beforeClass, err = classTable(spec.BeforeClass, spec.IgnoreCase); err != nil {
			return nil, fmt.Errorf("detector %s: before_class: %w", spec.ID, err)
		}
	}
	for _, group := range spec.Before {
		var alternatives []condition
		for _, c := range group {
			cre, err := regexp.Compile(flags + "(?:" + c.Re + `)\z`)
			if err != nil {
				return nil, fmt.Errorf("detector %s: look-behind %q: %w", spec.ID, c.Re, err)
			}
			alternatives = append(alternatives, condition{neg: c.Neg, re: cre})
		}
		d.before = append(d.before, alternatives)
	}
	for _, c := range spec.After {
		cre, err := regexp.Compile(flags + `\A(?:` + c.Re + ")")
		if err != nil {
			return nil, fmt.Errorf("detector %s: look-ahead %q: %w", spec.ID, c.Re, err)
		}
		d.after = append(d.after, condition{neg: c.Neg, re: cre})
	}
	if spec.Validator != "" {
		v, ok := validators[spec.Validator]
		if !ok {
			return nil, fmt.Errorf("detector %s: validator %q is not implemented in Go", spec.ID, spec.Validator)
		}
		d.validator = v
	}
	d.context = spec.Context
	if spec.RunMin > 0 {
		d.runClass = new([256]bool)
		ascii := true
		for _, r := range spec.RunClass {
			if r < 0x80 {
				d.runClass[r] = true
			} else {
				ascii = false
				for b := 0x80; b < 256; b++ {
					d.runClass[b] = true
				}
			}
		}
		// The bounded gate counts widths in bytes and compares boundary bytes with ASCII tables:
		// exact only for an ASCII class, and case folding (RE2 folds K to the Kelvin sign) is left
		// to the plain run gate.
		d.bounded = spec.RunWhole && ascii && !spec.IgnoreCase && (spec.BeforeClass != "" || spec.AfterClass != "")
	}
	if d.bounded && spec.AfterClass != "" {
		var err error
		if d.afterClass, err = classTable(spec.AfterClass, spec.IgnoreCase); err != nil {
			return nil, fmt.Errorf("detector %s: after_class: %w", spec.ID, err)
		}
	}
	return d, nil
}

// runGate: text holds what every match of d holds (a necessary condition, checked before RE2).
func (d *detector) runGate(text string) bool {
	if d.bounded {
		return hasBoundedRun(text, d.runClass, d.spec.RunMin, d.spec.MaxWidth, d.beforeClass, d.afterClass)
	}
	return hasRun(text, d.runClass, d.spec.RunMin)
}

// Result is one redacted string and what was found in it.
type Result struct {
	Text     string
	Counts   map[string]int // redactions by detector or key-rule id
	Failures int            // values masked because they could not be scanned
}

func (r *Result) add(id string, n int) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	r.Counts[id] += n
}

// Redact returns text with every finding masked. It never panics: a value it could not scan
// (a bug, bad UTF-8) comes back masked whole and counted as a failure (fail closed). A value
// longer than the byte cap has its head scanned and the rest masked.
func (e *Engine) Redact(text string) (result Result) {
	defer func() {
		if recovered := recover(); recovered != nil {
			result = Result{Text: marker(errorID), Counts: map[string]int{errorID: 1}, Failures: 1}
		}
	}()
	if !utf8.ValidString(text) {
		return Result{Text: marker(errorID), Counts: map[string]int{errorID: 1}, Failures: 1}
	}
	tail := ""
	if e.maxValue > 0 && len(text) > e.maxValue {
		cut := e.maxValue
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text, tail = text[:cut], marker(oversizedID)
	}
	result = e.redactScanned(text)
	if tail != "" {
		result.Text += tail
		result.add(oversizedID, 1)
		result.Failures++
	}
	return result
}

func (e *Engine) redactScanned(text string) Result {
	candidates, keyLayer := e.candidates(text)
	withViews := needsViews(text)
	if len(candidates) == 0 && !keyLayer && !withViews {
		return Result{Text: text}
	}
	if len(text) <= maxJSON && looksLikeJSON(text) {
		if result, ok := e.redactJSON(text); ok {
			return result
		}
	}
	findings := e.find(text, candidates, keyLayer)
	if withViews {
		for _, v := range views(text) {
			viewCandidates, viewKeys := e.candidates(v.text)
			for _, f := range e.find(v.text, viewCandidates, viewKeys) {
				f.start, f.end = v.spanToRaw(f.start, f.end)
				findings = append(findings, f)
			}
		}
	}
	return apply(text, findings)
}

// find runs the candidate detectors (and the key layer) over text.
func (e *Engine) find(text string, candidates []int, keyLayer bool) []finding {
	var findings []finding
	var lowered string
	for _, index := range candidates {
		d := e.detectors[index]
		if len(d.context) > 0 && lowered == "" {
			lowered = asciiLower(text)
		}
		findings = d.find(text, lowered, findings)
	}
	if keyLayer {
		findings = e.keys.find(text, findings)
	}
	if len(findings) > 0 {
		findings = pairSecrets(text, findings, e)
		findings = dropMarkers(text, findings)
	}
	return findings
}

// candidates is the first pass: one Aho-Corasick scan of the lower-cased text gives the
// detectors whose keyword occurs (and whether a key-layer word does); keyword-less detectors are
// candidates too. Then each candidate's cheap necessary conditions (rendered from the Python
// pattern): the text is long enough, holds every character a match holds, a context word when
// the detector needs one, and enough digits within the longest match's width. Sorted, like the
// SDK's.
func (e *Engine) candidates(text string) ([]int, bool) {
	var found []int
	keyLayer := false
	var present [256]bool
	var contextHit map[int]bool
	bufp := e.lowerBuffer.Get().(*[]byte)
	lowered := appendASCIILower((*bufp)[:0], text)
	for _, c := range lowered {
		present[c] = true
	}
	hasUpper := false
	for i := 0; i < len(text); i++ {
		if text[i] >= 'A' && text[i] <= 'Z' {
			hasUpper = true
			break
		}
	}
	if e.automaton != nil {
		matches := e.automaton.FindAllOverlapping(lowered)
		if len(matches) > 0 {
			seen := make(map[int]bool, 8)
			for _, m := range matches {
				id := e.multiIDs[m.PatternID]
				if seen[id] {
					continue
				}
				seen[id] = true
				keyLayer = keyLayer || e.keyKeyword[id]
				found = append(found, e.byKeyword[id]...)
				for _, i := range e.byContext[id] {
					if contextHit == nil {
						contextHit = map[int]bool{}
					}
					contextHit[i] = true
				}
			}
		}
	}
	for _, id := range e.singleByte {
		if !present[e.keywords[id][0]] {
			continue
		}
		keyLayer = keyLayer || e.keyKeyword[id]
		found = append(found, e.byKeyword[id]...)
		for _, i := range e.byContext[id] {
			if contextHit == nil {
				contextHit = map[int]bool{}
			}
			contextHit[i] = true
		}
	}
	*bufp = lowered
	e.lowerBuffer.Put(bufp)
	found = append(found, e.always...)
	digits := -1
	var windows map[int]int
	out := found[:0]
	for _, i := range found {
		spec := e.detectors[i].spec
		if len(text) < spec.MinWidth || (len(spec.Context) > 0 && !contextHit[i]) || (spec.NeedsUpper && !hasUpper) {
			continue
		}
		ok := true
		for j := 0; j < len(spec.RequiredChars); j++ {
			if !present[spec.RequiredChars[j]] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		// the digit gates first: one count per text serves every detector, the run gate walks it
		if min := spec.MinDigits; min > 0 {
			if digits < 0 {
				digits = countDigits(text)
			}
			if digits < min {
				continue
			}
			if w := spec.MaxWidth; w > 0 && w < len(text) {
				best, cached := windows[w]
				if !cached {
					best = maxDigitsInWindow(text, w)
					if windows == nil {
						windows = map[int]int{}
					}
					windows[w] = best
				}
				if best < min {
					continue
				}
			}
		}
		if e.detectors[i].runClass != nil && !e.detectors[i].runGate(text) {
			continue
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return slices.Compact(out), keyLayer
}

// maxDigitsInWindow: the most ASCII digits any window of width bytes holds.
func maxDigitsInWindow(text string, width int) int {
	best, current := 0, 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' {
			current++
		}
		if i >= width {
			if c := text[i-width]; c >= '0' && c <= '9' {
				current--
			}
		}
		best = max(best, current)
	}
	return best
}

// find appends the validated findings of d in text (Python's finditer semantics: after a
// rejected match the search goes on after it; after a failed look-around, one byte later).
func (d *detector) find(text, lowered string, out []finding) []finding {
	pos := 0
	for pos <= len(text) {
		base, re := pos, d.re
		if d.reFirst != nil {
			if pos == 0 {
				re = d.reFirst
			} else {
				base, re = pos-1, d.reNext
			}
		}
		if base > len(text) {
			break
		}
		loc := re.FindStringSubmatchIndex(text[base:])
		if loc == nil {
			break
		}
		start, end := loc[2]+base, loc[3]+base
		if d.beforeClass != nil && start > 0 && d.beforeClass[text[start-1]] {
			pos = nextRune(text, start) // RE2 checked that byte already; a guard only
			continue
		}
		if !d.aroundOK(text, start, end) || !d.wordsOK(text, loc, base) {
			pos = nextRune(text, start)
			continue
		}
		next := end
		if end == start {
			next = nextRune(text, end)
		}
		sStart, sEnd := start, end
		for _, g := range d.secretGroups {
			if loc[2*g] >= 0 {
				sStart, sEnd = loc[2*g]+base, loc[2*g+1]+base
				break
			}
		}
		pos = next
		if d.spec.RejectSecret != "" && strings.HasPrefix(text[sStart:sEnd], d.spec.RejectSecret) {
			continue
		}
		if sEnd <= sStart {
			continue
		}
		if len(d.context) > 0 && !hasContext(lowered, start, d.spec.ContextWindow, d.context) {
			continue
		}
		if d.validator != nil && !d.validator(text[sStart:sEnd]) {
			if !d.spec.Shrink {
				continue
			}
			if sEnd = d.shrink(text, sStart, sEnd); sEnd < 0 {
				continue
			}
		}
		out = append(out, finding{start: sStart, end: sEnd, id: d.spec.ID, priority: d.spec.Priority, category: d.spec.Category})
	}
	return out
}

// wordsOK: no "aibosnotword" group holds one of the detector's not_words (the RE2 form of a
// negative look-ahead over a word list in the middle of a pattern).
func (d *detector) wordsOK(text string, loc []int, pos int) bool {
	for _, g := range d.notWordGroups {
		if loc[2*g] >= 0 && d.notWords[strings.ToLower(text[loc[2*g]+pos:loc[2*g+1]+pos])] {
			return false
		}
	}
	return true
}

func (d *detector) aroundOK(text string, start, end int) bool {
	if len(d.before) > 0 {
		window := text[max(0, start-windowBefore):start]
		for _, group := range d.before {
			ok := false
			for _, c := range group {
				if c.re.MatchString(window) != c.neg {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
	}
	if len(d.after) > 0 {
		window := text[end:min(len(text), end+windowAfter)]
		for _, c := range d.after {
			if c.re.MatchString(window) == c.neg {
				return false
			}
		}
	}
	return true
}

// shrink: the end of the longest prefix, cut at a space or dash, that the validator takes.
func (d *detector) shrink(text string, start, end int) int {
	candidate := text[start:end]
	for {
		cut := max(strings.LastIndexByte(candidate, ' '), strings.LastIndexByte(candidate, '-'))
		if cut <= 0 {
			return -1
		}
		candidate = candidate[:cut]
		if d.spec.MinDigits > 0 && countDigits(candidate) < d.spec.MinDigits {
			return -1
		}
		if d.validator(candidate) {
			return start + len(candidate)
		}
	}
}

func hasContext(lowered string, start, window int, words []string) bool {
	w := lowered[max(0, start-window):start]
	for _, word := range words {
		if strings.Contains(w, word) {
			return true
		}
	}
	return false
}

// dropMarkers removes findings inside an earlier redaction's marker: the SDK's work passes
// untouched.
func dropMarkers(text string, findings []finding) []finding {
	if !strings.Contains(text, markerPrefix) && !strings.Contains(text, hmacPrefix) {
		return findings
	}
	var spans [][2]int
	for _, prefix := range []string{markerPrefix, hmacPrefix} {
		for at := 0; ; {
			i := strings.Index(text[at:], prefix)
			if i < 0 {
				break
			}
			s := at + i
			j := strings.IndexByte(text[s:], ']')
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{s, s + j + 1})
			at = s + j + 1
		}
	}
	out := findings[:0]
	for _, f := range findings {
		inside := false
		for _, span := range spans {
			if f.start >= span[0] && f.end <= span[1] {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, f)
		}
	}
	return out
}

// apply merges overlapping findings (each region named by its highest-priority detector, then
// the longest) and writes the markers.
func apply(text string, findings []finding) Result {
	if len(findings) == 0 {
		return Result{Text: text}
	}
	slices.SortFunc(findings, func(a, b finding) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	merged := findings[:0:0]
	for _, f := range findings {
		if n := len(merged); n > 0 && f.start < merged[n-1].end {
			last := &merged[n-1]
			if f.priority > last.priority || (f.priority == last.priority && f.end-f.start > last.end-last.start) {
				last.id, last.priority = f.id, f.priority
			}
			last.end = max(last.end, f.end)
			continue
		}
		merged = append(merged, f)
	}
	var b strings.Builder
	b.Grow(len(text))
	result := Result{}
	position := 0
	for _, f := range merged {
		b.WriteString(text[position:f.start])
		b.WriteString(marker(f.id))
		result.add(f.id, 1)
		position = f.end
	}
	b.WriteString(text[position:])
	result.Text = b.String()
	return result
}

func countDigits(text string) int {
	n := 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

func appendASCIILower(dst []byte, text string) []byte {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay those of text.
func asciiLower(text string) string {
	return string(appendASCIILower(make([]byte, 0, len(text)), text))
}

func nextRune(text string, at int) int {
	if at >= len(text) {
		return at + 1
	}
	_, size := utf8.DecodeRuneInString(text[at:])
	return at + size
}

func (e *Engine) automatonPattern(i int) string { return e.keywords[i] }

// hasRun: text holds n consecutive bytes of class.
func hasRun(text string, class *[256]bool, n int) bool {
	run := 0
	for i := 0; i < len(text); i++ {
		if class[text[i]] {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// hasBoundedRun: text holds a stretch [s, e) of class bytes, minWidth <= e-s <= maxWidth (0: no
// bound), that may start where the before-class allows (s == 0, or the byte before s is not of
// it) and end where the after-class allows (e == len(text), or the byte at e is not of it). Every
// match of a detector whose whole match is of class is such a stretch: find takes a match only
// there (RE2 consumes the bytes outside both classes, and the guard re-checks the one before).
// Long digit runs (ids, timestamps) hold no SSN or card number when they sit inside a longer
// token. Hand-written: a two-pointer walk, linear in the text and allocation-free.
func hasBoundedRun(text string, class *[256]bool, minWidth, maxWidth int, before, after *[256]bool) bool {
	okEnd := func(e int) bool { return e == len(text) || after == nil || !after[text[e]] }
	for i := 0; i < len(text); {
		if !class[text[i]] {
			i++
			continue
		}
		runStart := i
		for i < len(text) && class[text[i]] {
			i++
		}
		end := runStart // no position in [s+minWidth, end) is an allowed end: ends only move right
		for s := runStart; s+minWidth <= i; s++ {
			if s > 0 && before != nil && before[text[s-1]] {
				continue
			}
			last := i
			if maxWidth > 0 {
				last = min(last, s+maxWidth)
			}
			end = max(end, s+minWidth)
			for end <= last && !okEnd(end) {
				end++
			}
			if end <= last {
				return true
			}
		}
	}
	return false
}
