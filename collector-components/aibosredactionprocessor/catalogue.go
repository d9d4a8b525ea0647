package aibosredactionprocessor

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// catalogueJSON is the SDK catalogue rendered as data by
// `aibos-otel redaction render-collector --format=json` (collector-config/render_redaction.py
// writes this file; its --check fails CI when it is stale). One catalogue, two engines.
//
//go:embed catalogue.json
var catalogueJSON []byte

// catalogueFormat is the only rendering format this engine reads.
const catalogueFormat = 1

type conditionSpec struct {
	Neg bool   `json:"neg"`
	Re  string `json:"re"`
}

type detectorSpec struct {
	ID             string            `json:"id"`
	Category       string            `json:"category"`
	Group          string            `json:"group"`
	Keywords       []string          `json:"keywords"`
	Validator      string            `json:"validator"`
	Context        []string          `json:"context"`
	ContextWindow  int               `json:"context_window"`
	Priority       int               `json:"priority"`
	Shrink         bool              `json:"shrink"`
	MinDigits      int               `json:"min_digits"`
	MinWidth       int               `json:"min_width"`
	MaxWidth       int               `json:"max_width"`
	RequiredChars  string            `json:"required_chars"`
	NeedsUpper     bool              `json:"needs_upper"`
	RunClass       string            `json:"run_class"` // ASCII members; U+0080 means every byte >= 0x80
	RunMin         int               `json:"run_min"`
	RunWhole       bool              `json:"run_whole"` // every byte of every match is of RunClass
	RE2            string            `json:"re2"`
	IgnoreCase     bool              `json:"ignore_case"`
	BeforeClass    string            `json:"before_class"`
	AfterClass     string            `json:"after_class"`
	Before         [][]conditionSpec `json:"before"`
	After          []conditionSpec   `json:"after"`
	Approximations []string          `json:"approximations"`
	RejectSecret   string            `json:"reject_secret"`
	NotWords       []string          `json:"not_words"`
	Examples       []string          `json:"examples"`
	Negatives      []string          `json:"negatives"`
}

type keyRuleSpec struct {
	ID        string   `json:"id"`
	Category  string   `json:"category"`
	Pattern   string   `json:"pattern"`
	Keywords  []string `json:"keywords"`
	Examples  []string `json:"examples"`
	Negatives []string `json:"negatives"`
}

type catalogueSpec struct {
	Format    int            `json:"format"`
	Profiles  []string       `json:"profiles"`
	Detectors []detectorSpec `json:"detectors"`
	KeyRules  []keyRuleSpec  `json:"key_rules"`
	KeyWords  []string       `json:"key_words"`
}

// loadCatalogue parses the embedded catalogue.
func loadCatalogue() (*catalogueSpec, error) {
	var spec catalogueSpec
	if err := json.Unmarshal(catalogueJSON, &spec); err != nil {
		return nil, fmt.Errorf("aibosredaction: embedded catalogue: %w", err)
	}
	if spec.Format != catalogueFormat {
		return nil, fmt.Errorf("aibosredaction: catalogue format %d, this build reads %d", spec.Format, catalogueFormat)
	}
	return &spec, nil
}

// subset keeps the detectors and key rules of the given profiles (categories).
func (c *catalogueSpec) subset(profiles []string) (*catalogueSpec, error) {
	wanted := map[string]bool{}
	for _, p := range profiles {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "all" {
			for _, known := range c.Profiles {
				wanted[known] = true
			}
			continue
		}
		if !slices.Contains(c.Profiles, p) {
			return nil, fmt.Errorf("unknown redaction profile %q; known: %s", p, strings.Join(c.Profiles, ", "))
		}
		wanted[p] = true
	}
	out := &catalogueSpec{Format: c.Format, Profiles: c.Profiles}
	for _, d := range c.Detectors {
		if wanted[d.Category] {
			out.Detectors = append(out.Detectors, d)
		}
	}
	for _, r := range c.KeyRules {
		if wanted[r.Category] {
			out.KeyRules = append(out.KeyRules, r)
			for _, w := range r.Keywords {
				if !slices.Contains(out.KeyWords, w) {
					out.KeyWords = append(out.KeyWords, w)
				}
			}
		}
	}
	// The tool words of short password flags (mysql -p...) belong to the secrets rules.
	if wanted["secrets"] {
		for _, w := range c.KeyWords {
			if !slices.Contains(out.KeyWords, w) {
				out.KeyWords = append(out.KeyWords, w)
			}
		}
	}
	return out, nil
}

// negateClass turns a one-character class ("[A-Z0-9]", `\d`) into its complement.
func negateClass(class string) (string, error) {
	switch class {
	case `\d`:
		return `\D`, nil
	case `\w`:
		return `\W`, nil
	case `\s`:
		return `\S`, nil
	}
	if len(class) < 3 || class[0] != '[' || class[len(class)-1] != ']' || class[1] == '^' {
		return "", fmt.Errorf("not a positive character class: %q", class)
	}
	return "[^" + class[1:], nil
}

// classTable is a byte set: which ASCII bytes a one-character class matches.
func classTable(class string, ignoreCase bool) (*[256]bool, error) {
	flags := ""
	if ignoreCase {
		flags = "(?i)"
	}
	re, err := regexp.Compile(flags + `\A` + class + `\z`)
	if err != nil {
		return nil, err
	}
	var table [256]bool
	for b := 0; b < 128; b++ {
		table[b] = re.MatchString(string(rune(b)))
	}
	return &table, nil
}
