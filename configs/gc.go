package configs

import (
	"fmt"
	"time"
)

// Audit configures the audit log (package internal/audit).
type Audit struct {
	// Retention is how long audit events are kept; older ones are deleted
	// by the sweeper and `authgate gc`. Zero (the default) keeps them
	// forever: deleting evidence is the operator's decision. See
	// docs/operations.md, "Retention and garbage collection".
	Retention time.Duration `koanf:"retention"`
}

// GC configures the sweeper that deletes expired rows (package
// internal/sweep) and `authgate gc`.
type GC struct {
	// Interval is the time between two sweeps of `authgate serve`; zero
	// turns the sweeper off (run `authgate gc` from cron instead).
	Interval time.Duration `koanf:"interval"`
	// BatchSize is the most rows one DELETE removes, so that a sweep
	// holds its locks briefly; each table is swept until a batch is short.
	BatchSize int `koanf:"batch_size"`
}

// MaxGCBatchSize bounds gc.batch_size.
const MaxGCBatchSize = 10000

// validateGC checks the audit and gc sections; keys are reported in full.
func (c Config) validateGC() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Audit.Retention < 0 {
		bad("audit.retention", "must not be negative (0 keeps every event)")
	} else if c.Audit.Retention > 0 && c.Audit.Retention < time.Hour {
		bad("audit.retention", "%s is less than an hour: did you mean hours (e.g. 2160h for 90 days)?", c.Audit.Retention)
	}
	if c.GC.Interval < 0 {
		bad("gc.interval", "must not be negative (0 turns the sweeper off)")
	} else if c.GC.Interval > 0 && c.GC.Interval < time.Second {
		bad("gc.interval", "%s is less than a second", c.GC.Interval)
	}
	if c.GC.BatchSize < 1 || c.GC.BatchSize > MaxGCBatchSize {
		bad("gc.batch_size", "%d is not between 1 and %d", c.GC.BatchSize, MaxGCBatchSize)
	}
	return errs
}
