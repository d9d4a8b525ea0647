package aibosredactionprocessor

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// bruteBoundedRun: hasBoundedRun by trying every stretch.
func bruteBoundedRun(text string, class *[256]bool, minWidth, maxWidth int, before, after *[256]bool) bool {
	for s := 0; s < len(text); s++ {
		if s > 0 && before != nil && before[text[s-1]] {
			continue
		}
		for e := s + minWidth; e <= len(text) && (maxWidth == 0 || e <= s+maxWidth); e++ {
			inside := true
			for i := s; i < e; i++ {
				inside = inside && class[text[i]]
			}
			if inside && (e == len(text) || after == nil || !after[text[e]]) {
				return true
			}
		}
	}
	return false
}

func table(members string) *[256]bool {
	var t [256]bool
	for i := 0; i < len(members); i++ {
		t[members[i]] = true
	}
	return &t
}

func TestBoundedRunAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	class, digits, dash := table("0123456789-"), table("0123456789"), table("0123456789-.")
	for trial := 0; trial < 20000; trial++ {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteByte("01-.a "[rng.IntN(6)])
		}
		text := b.String()
		minWidth := 1 + rng.IntN(6)
		maxWidth := []int{0, minWidth, minWidth + rng.IntN(5)}[rng.IntN(3)]
		before := []*[256]bool{nil, digits, dash}[rng.IntN(3)]
		after := []*[256]bool{nil, digits, dash}[rng.IntN(3)]
		got := hasBoundedRun(text, class, minWidth, maxWidth, before, after)
		if want := bruteBoundedRun(text, class, minWidth, maxWidth, before, after); got != want {
			t.Fatalf("%q min %d max %d: got %v, want %v", text, minWidth, maxWidth, got, want)
		}
	}
}

// matchSpans: the body span find may take from each position its search can resume at (after a
// match, the next search starts one byte after the match's start), before validators and context.
func matchSpans(d *detector, text string) [][2]int {
	var spans [][2]int
	for pos := 0; pos <= len(text); pos++ {
		base, re := pos, d.re
		if d.reFirst != nil && pos > 0 {
			base, re = pos-1, d.reNext
		} else if d.reFirst != nil {
			re = d.reFirst
		}
		loc := re.FindStringSubmatchIndex(text[base:])
		if loc == nil {
			break
		}
		start, end := loc[2]+base, loc[3]+base
		pos = max(pos, start) // a search from anywhere up to start finds a match starting there
		if d.beforeClass != nil && start > 0 && d.beforeClass[text[start-1]] {
			continue
		}
		spans = append(spans, [2]int{start, end})
	}
	return spans
}

// TestBoundedGateHoldsForEveryMatch: what the bounded gate assumes of a detector (every match
// is class bytes only, within the widths, at allowed boundaries) holds for every match RE2
// finds in every conformance text, its views, and digit-and-separator noise, so the gate never
// skips a detector that would have found something.
func TestBoundedGateHoldsForEveryMatch(t *testing.T) {
	e, err := newEngineFor(&Config{Profiles: []string{"all"}, MaxValueBytes: defaultMaxValueBytes})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range loadConformance(t) {
		texts = append(texts, c.Text)
		for _, v := range views(c.Text) {
			texts = append(texts, v.text)
		}
	}
	// every example again with a neighbour glued on either side (the boundaries the gate reads)
	for _, d := range e.detectors {
		for _, example := range append(append([]string{}, d.spec.Examples...), d.spec.Negatives...) {
			for _, glue := range []string{"7", "x", "X", "-", ".", "_", ":", " "} {
				texts = append(texts, glue+example, example+glue, glue+example+glue)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range 8 + rng.IntN(40) {
			b.WriteByte("0123456789-. :/()+Ab_x"[rng.IntN(22)])
		}
		texts = append(texts, b.String())
	}
	bounded, checked := 0, 0
	for _, d := range e.detectors {
		if !d.bounded {
			continue
		}
		bounded++
		for _, text := range texts {
			for _, span := range matchSpans(d, text) {
				checked++
				s, end := span[0], span[1]
				if w := end - s; w < d.spec.RunMin || (d.spec.MaxWidth > 0 && w > d.spec.MaxWidth) {
					t.Fatalf("%s: match %q of %q is %d bytes, outside [%d, %d]", d.spec.ID, text[s:end], text, w, d.spec.RunMin, d.spec.MaxWidth)
				}
				for i := s; i < end; i++ {
					if !d.runClass[text[i]] {
						t.Fatalf("%s: match %q of %q holds %q, not in run_class", d.spec.ID, text[s:end], text, text[i])
					}
				}
				if end < len(text) && d.afterClass != nil && d.afterClass[text[end]] {
					t.Fatalf("%s: match %q of %q ends before an after-class byte", d.spec.ID, text[s:end], text)
				}
				if !d.runGate(text) {
					t.Fatalf("%s: gate rejects %q, which holds the match %q", d.spec.ID, text, text[s:end])
				}
			}
		}
	}
	if bounded < 25 || checked < 2000 {
		t.Fatalf("only %d bounded detectors and %d matches checked: the test lost its subject", bounded, checked)
	}
	t.Logf("%d bounded detectors, %d matches checked", bounded, checked)
}
