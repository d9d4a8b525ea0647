package aibosredactionprocessor

import (
	"context"

	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const (
	maxDepth       = 16
	bigInt         = 100_000_000_000 // shorter integers cannot hold a card, account or national number
	summaryTotal   = "aibos.redaction.collector.total"
	summaryFailure = "aibos.redaction.collector.failures"
	aibosPrefix    = "aibos." // the SDK's own attributes (counts, ids): passed untouched
	meterName      = "github.com/aibos/aibos-otel/collector-components/aibosredactionprocessor"
)

type redactionProcessor struct {
	engine   *Engine
	summary  bool
	records  metric.Int64Counter
	masked   metric.Int64Counter
	failures metric.Int64Counter
	duration metric.Float64Histogram
}

// newEngineFor compiles the embedded catalogue for cfg.
func newEngineFor(cfg *Config) (*Engine, error) {
	spec, err := loadCatalogue()
	if err != nil {
		return nil, err
	}
	setVendorPrefixes(spec)
	chosen, err := spec.subset(cfg.Profiles)
	if err != nil {
		return nil, err
	}
	return newEngine(chosen, cfg.MaxValueBytes)
}

func newRedactionProcessor(cfg *Config, set processor.Settings) (*redactionProcessor, error) {
	engine, err := newEngineFor(cfg)
	if err != nil {
		return nil, err
	}
	meter := set.TelemetrySettings.MeterProvider.Meter(meterName)
	p := &redactionProcessor{engine: engine, summary: cfg.Summary}
	if p.records, err = meter.Int64Counter("aibos_redaction_records",
		metric.WithDescription("Log records and spans scanned by the aibosredaction processor")); err != nil {
		return nil, err
	}
	if p.masked, err = meter.Int64Counter("aibos_redaction_masked",
		metric.WithDescription("Values masked by the aibosredaction processor, by detector or key-rule id")); err != nil {
		return nil, err
	}
	if p.failures, err = meter.Int64Counter("aibos_redaction_failures",
		metric.WithDescription("Values masked whole because they could not be scanned (bad UTF-8, oversized, a bug)")); err != nil {
		return nil, err
	}
	if p.duration, err = meter.Float64Histogram("aibos_redaction_duration", metric.WithUnit("s"),
		metric.WithDescription("Time the aibosredaction processor spent per batch")); err != nil {
		return nil, err
	}
	return p, nil
}

// stats gathers what one batch found.
type stats struct {
	counts   map[string]int
	failures int
	records  int
}

func (s *stats) addResult(r *Result) {
	for id, n := range r.Counts {
		if s.counts == nil {
			s.counts = map[string]int{}
		}
		s.counts[id] += n
	}
	s.failures += r.Failures
}

func (p *redactionProcessor) report(ctx context.Context, signal string, s *stats, started time.Time) {
	p.records.Add(ctx, int64(s.records), metric.WithAttributes(attribute.String("signal", signal)))
	for id, n := range s.counts {
		if id == errorID || id == oversizedID {
			continue
		}
		p.masked.Add(ctx, int64(n), metric.WithAttributes(attribute.String("detector", id)))
	}
	if s.failures > 0 {
		p.failures.Add(ctx, int64(s.failures))
	}
	p.duration.Record(ctx, time.Since(started).Seconds(), metric.WithAttributes(attribute.String("signal", signal)))
}

func (p *redactionProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	started := time.Now()
	var s stats
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		p.redactMap(rl.Resource().Attributes(), 0, &s)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			p.redactMap(sl.Scope().Attributes(), 0, &s)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				var own stats
				p.redactValue(lr.Body(), 0, &own)
				p.redactMap(lr.Attributes(), 0, &own)
				if name := lr.EventName(); name != "" {
					if r := p.engine.Redact(name); r.Counts != nil {
						lr.SetEventName(r.Text)
						own.addResult(&r)
					}
				}
				p.writeSummary(lr.Attributes(), &own)
				s.merge(&own)
				s.records++
			}
		}
	}
	p.report(ctx, "logs", &s, started)
	return ld, nil
}

func (p *redactionProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	started := time.Now()
	var s stats
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		p.redactMap(rs.Resource().Attributes(), 0, &s)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			p.redactMap(ss.Scope().Attributes(), 0, &s)
			for k := 0; k < ss.Spans().Len(); k++ {
				span := ss.Spans().At(k)
				var own stats
				if r := p.engine.Redact(span.Name()); r.Counts != nil {
					span.SetName(r.Text)
					own.addResult(&r)
				}
				p.redactMap(span.Attributes(), 0, &own)
				if msg := span.Status().Message(); msg != "" {
					if r := p.engine.Redact(msg); r.Counts != nil {
						span.Status().SetMessage(r.Text)
						own.addResult(&r)
					}
				}
				for e := 0; e < span.Events().Len(); e++ {
					event := span.Events().At(e)
					if r := p.engine.Redact(event.Name()); r.Counts != nil {
						event.SetName(r.Text)
						own.addResult(&r)
					}
					p.redactMap(event.Attributes(), 0, &own)
				}
				for l := 0; l < span.Links().Len(); l++ {
					p.redactMap(span.Links().At(l).Attributes(), 0, &own)
				}
				p.writeSummary(span.Attributes(), &own)
				s.merge(&own)
				s.records++
			}
		}
	}
	p.report(ctx, "traces", &s, started)
	return td, nil
}

func (s *stats) merge(o *stats) {
	for id, n := range o.counts {
		if s.counts == nil {
			s.counts = map[string]int{}
		}
		s.counts[id] += n
	}
	s.failures += o.failures
}

func (p *redactionProcessor) writeSummary(attrs pcommon.Map, s *stats) {
	if !p.summary || len(s.counts) == 0 {
		return
	}
	total := 0
	for _, n := range s.counts {
		total += n
	}
	attrs.PutInt(summaryTotal, int64(total))
	if s.failures > 0 {
		attrs.PutInt(summaryFailure, int64(s.failures))
	}
}

// redactMap masks values under sensitive keys whole and redacts every other value, at every
// depth; aibos.* keys (the SDK's own counts and ids) pass untouched.
func (p *redactionProcessor) redactMap(m pcommon.Map, depth int, s *stats) {
	named := p.namedPairRule(m)
	m.Range(func(key string, v pcommon.Value) bool {
		if strings.HasPrefix(key, aibosPrefix) {
			return true
		}
		if named != nil && key == "value" && !emptyValue(v) {
			p.maskByKey(named, v, s)
			return true
		}
		if rule := p.engine.keyRule(key); rule != nil && !emptyValue(v) {
			p.maskByKey(rule, v, s)
			return true
		}
		p.redactValue(v, depth+1, s)
		return true
	})
}

// namedPairRule: {"name": "password", "value": ...} (property lists, form fields).
func (p *redactionProcessor) namedPairRule(m pcommon.Map) *keyRule {
	if _, ok := m.Get("value"); !ok {
		return nil
	}
	for _, field := range []string{"name", "key", "Name", "Key"} {
		if v, ok := m.Get(field); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			return p.engine.keyRule(v.Str())
		}
	}
	return nil
}

func emptyValue(v pcommon.Value) bool {
	return v.Type() == pcommon.ValueTypeEmpty || (v.Type() == pcommon.ValueTypeStr && v.Str() == "")
}

func (p *redactionProcessor) maskByKey(rule *keyRule, v pcommon.Value, s *stats) {
	if v.Type() == pcommon.ValueTypeStr && strings.HasPrefix(v.Str(), markerPrefix) && strings.HasSuffix(v.Str(), "]") {
		return // already masked by the SDK
	}
	v.SetStr(marker(rule.id))
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[rule.id]++
}

func (p *redactionProcessor) redactValue(v pcommon.Value, depth int, s *stats) {
	if depth > maxDepth {
		if v.Type() == pcommon.ValueTypeMap || v.Type() == pcommon.ValueTypeSlice {
			v.SetStr(marker(errorID))
			s.addResult(&Result{Counts: map[string]int{errorID: 1}, Failures: 1})
		}
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if r := p.engine.Redact(v.Str()); r.Counts != nil {
			v.SetStr(r.Text)
			s.addResult(&r)
		}
	case pcommon.ValueTypeInt:
		if n := v.Int(); n >= bigInt || n <= -bigInt {
			if r := p.engine.Redact(strconv.FormatInt(n, 10)); r.Counts != nil {
				v.SetStr(r.Text)
				s.addResult(&r)
			}
		}
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		text := strings.ToValidUTF8(string(raw), string(utf8.RuneError))
		if r := p.engine.Redact(text); r.Counts != nil {
			v.SetStr(r.Text)
			s.addResult(&r)
		}
	case pcommon.ValueTypeMap:
		p.redactMap(v.Map(), depth, s)
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			p.redactValue(sl.At(i), depth+1, s)
		}
	}
}
