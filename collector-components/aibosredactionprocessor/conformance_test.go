package aibosredactionprocessor

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

type conformanceCase struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Expected string `json:"expected"`
}

func loadConformance(t *testing.T) []conformanceCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Profiles []string          `json:"profiles"`
		Cases    []conformanceCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 1000 {
		t.Fatalf("conformance file holds %d cases; expected the whole catalogue, corpus and probes", len(doc.Cases))
	}
	return doc.Cases
}

// knownDivergences: case id -> why the Go engine differs from the Python one (see
// testdata/known_divergences.txt). The list may only shrink: a listed case that now agrees fails.
func knownDivergences(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/known_divergences.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, why, _ := strings.Cut(line, " ")
		out[id] = strings.TrimSpace(why)
	}
	return out
}

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := newEngineFor(createDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestConformance: the Go engine gives the Python engine's text on every case.
func TestConformance(t *testing.T) {
	e := testEngine(t)
	known := knownDivergences(t)
	var unexpected, fixed []string
	for _, c := range loadConformance(t) {
		got := e.Redact(c.Text).Text
		_, listed := known[c.ID]
		switch {
		case got != c.Expected && !listed:
			unexpected = append(unexpected, c.ID+"\n    text: "+c.Text+"\n    want: "+c.Expected+"\n    got:  "+got)
		case got == c.Expected && listed:
			fixed = append(fixed, c.ID)
		}
	}
	sort.Strings(fixed)
	if len(unexpected) > 0 {
		t.Errorf("%d cases differ from the Python engine:\n%s", len(unexpected), strings.Join(unexpected, "\n"))
	}
	if len(fixed) > 0 {
		t.Errorf("%d known divergences now agree: remove them from testdata/known_divergences.txt:\n%s", len(fixed), strings.Join(fixed, "\n"))
	}
	t.Logf("%d known divergences", len(known))
}
