package aibosredactionprocessor

// Speed of the worst values: `go test -bench . -benchtime 5x` (benchmarks/collector_redaction.py
// prints these beside the pipeline figures). Goals: a 1 MB value and a value built to make a
// backtracking engine slow each under 50 ms at the default byte cap.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
)

func hostileValues() map[string]string {
	mb := 1 << 20
	fill := func(unit string) string { return strings.Repeat(unit, mb/len(unit)+1)[:mb] }
	return map[string]string{
		// 1 MB values
		"1MB-letters":         fill("a"),
		"1MB-log-text":        fill("checkout completed for cart 4821 in 17 ms (items=3, region=eu-west-1) "),
		"1MB-keyword-dense":   fill("password=x token: key=y secret "),
		"1MB-digit-groups":    fill("4111 1111 1111 1112 "),
		"1MB-json":            fill(`{"user":"u-1","token":"abc","id":123456789012,"tags":["a","b"]},`),
		"1MB-percent-unicode": fill("caf\u00e9%20%41\u200b "),
		// built to make a backtracking engine slow: long near-misses of nested/overlapping repeats
		"bait-base64-no-end": "eyJ" + strings.Repeat("A", mb/4) + "!",
		"bait-assignments":   strings.Repeat("password = '", mb/24),
		"bait-emails":        strings.Repeat("a.", mb/4) + "@",
		"bait-ipv6":          strings.Repeat("1:", mb/4),
		"bait-url-userinfo":  "https://" + strings.Repeat("u:", mb/4) + "@",
	}
}

func BenchmarkHostileValues(b *testing.B) {
	e := testEngine(b)
	for name, value := range hostileValues() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				e.Redact(value)
			}
		})
	}
}

// benchRun: the run id benchmarks/collector_redaction.py puts in its ids ("b" and
// time.monotonic_ns(): 14 digits on a machine up for some hours). Digit runs that long pass the
// digit-count gates of cards, phones and national ids, so the ids are part of the workload.
const benchRun = "b11434176091498"

// A clean, typical record's string values (the common case the prefilter must make cheap), as the
// gateway benchmark sends them (test.record_id and request.id carry the run id).
func BenchmarkCleanRecord(b *testing.B) {
	e := testEngine(b)
	values := []string{
		"checkout completed for cart 48213 in 17 ms (items=3, region=eu-west-1)",
		benchRun + "-1234", "/api/v1/checkout", "200", "u-4821", "o-1234", "complete_checkout",
		"r-" + benchRun + "-00001234",
	}
	for b.Loop() {
		for _, v := range values {
			e.Redact(v)
		}
	}
}

// A batch of 500 records shaped like benchmarks/collector_redaction.py's (no secrets).
func BenchmarkProcessLogsBatch(b *testing.B) {
	p, err := newRedactionProcessor(createDefaultConfig(), processortest.NewNopSettings(NewFactory().Type()))
	if err != nil {
		b.Fatal(err)
	}
	build := func() plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "bench")
		rl.Resource().Attributes().PutStr("deployment.environment.name", "staging")
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 500; i++ {
			lr := records.AppendEmpty()
			lr.Body().SetStr(fmt.Sprintf("checkout completed for cart %d in %d ms (items=%d, region=eu-west-1)", i*7919%100000, i%250, i%9))
			a := lr.Attributes()
			a.PutStr("test.record_id", fmt.Sprintf("%s-%d", benchRun, i))
			a.PutStr("http.route", "/api/v1/checkout")
			a.PutStr("http.response.status_code", "200")
			a.PutStr("user.id", fmt.Sprintf("u-%d", i%5000))
			a.PutStr("order.id", fmt.Sprintf("o-%d", i))
			a.PutStr("code.function", "complete_checkout")
			a.PutStr("request.id", fmt.Sprintf("r-%s-%08d", benchRun, i))
		}
		return ld
	}
	for b.Loop() {
		b.StopTimer()
		ld := build()
		b.StartTimer()
		_, _ = p.processLogs(context.Background(), ld)
	}
}
