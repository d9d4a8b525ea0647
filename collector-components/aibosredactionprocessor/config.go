package aibosredactionprocessor

import (
	"errors"
	"fmt"
)

// Config is the processor's configuration (`processors: aibosredaction:` in a collector config).
type Config struct {
	// Profiles: which detector sets run: secrets, pci, gdpr, hipaa, or "all" (the SDK's
	// AIBOS_REDACTION_PROFILES). Default: secrets, pci, gdpr, as in the SDK.
	Profiles []string `mapstructure:"profiles"`
	// MaxValueBytes: longest string value scanned; the rest of a longer one is masked with
	// [REDACTED:redaction-oversized] and counted as a failure. Default 32 KiB.
	MaxValueBytes int `mapstructure:"max_value_bytes"`
	// Summary: write aibos.redaction.collector.total (and .failures) on each record or span the
	// processor changed (counts only, never values).
	Summary bool `mapstructure:"summary"`
}

// 32 KiB: Go's RE2 (an NFA, no DFA) scans some 25-40 MB/s per detector that runs, so this keeps
// the worst value (keyword-dense text, where many detectors run) under 50 ms (bench_test.go);
// raise it where values are larger and the CPU is there.
const defaultMaxValueBytes = 32 << 10

func createDefaultConfig() *Config {
	return &Config{Profiles: []string{"secrets", "pci", "gdpr"}, MaxValueBytes: defaultMaxValueBytes, Summary: true}
}

// Validate checks the profiles against the embedded catalogue.
func (c *Config) Validate() error {
	if c.MaxValueBytes <= 0 {
		return errors.New("max_value_bytes must be positive")
	}
	if len(c.Profiles) == 0 {
		return errors.New("profiles must name at least one profile (secrets, pci, gdpr, hipaa or all)")
	}
	spec, err := loadCatalogue()
	if err != nil {
		return err
	}
	if _, err := spec.subset(c.Profiles); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}
