package configs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
)

// TestGCConfig: the defaults (audit kept forever, a sweep every 10m in
// batches of 500), the AUTHGATE_AUDIT__RETENTION / AUTHGATE_GC__* variables,
// and each bad value refused with its key named.
func TestGCConfig(t *testing.T) {
	cfg, err := configs.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.Retention != 0 || cfg.GC.Interval != 10*time.Minute || cfg.GC.BatchSize != 500 {
		t.Fatalf("defaults: audit %+v, gc %+v", cfg.Audit, cfg.GC)
	}
	cfg, err = configs.Load("", []string{"AUTHGATE_AUDIT__RETENTION=2160h", "AUTHGATE_GC__INTERVAL=0s", "AUTHGATE_GC__BATCH_SIZE=50"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.Retention != 2160*time.Hour || cfg.GC.Interval != 0 || cfg.GC.BatchSize != 50 {
		t.Fatalf("from the environment: audit %+v, gc %+v", cfg.Audit, cfg.GC)
	}
	for _, tc := range []struct{ env, key string }{
		{"AUTHGATE_AUDIT__RETENTION=-1h", "audit.retention"},
		{"AUTHGATE_AUDIT__RETENTION=30m", "audit.retention"}, // surely a slip for hours or days
		{"AUTHGATE_GC__INTERVAL=-1m", "gc.interval"},
		{"AUTHGATE_GC__INTERVAL=5ms", "gc.interval"},
		{"AUTHGATE_GC__BATCH_SIZE=0", "gc.batch_size"},
		{"AUTHGATE_GC__BATCH_SIZE=10001", "gc.batch_size"},
	} {
		_, err := configs.Load("", []string{tc.env}, nil)
		if err == nil || !strings.Contains(err.Error(), `"`+tc.key+`"`) {
			t.Errorf("%s: err = %v, want one naming %q", tc.env, err, tc.key)
		}
	}
}
