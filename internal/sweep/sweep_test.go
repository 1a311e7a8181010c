package sweep_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/sweep"
)

// TestSweepAuditInBatches: on both databases, a sweep deletes every audit
// event past the retention in batches of BatchSize (the last one short),
// keeps the rest, and counts what it deleted in the metric.
func TestSweepAuditInBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		for i := range 25 {
			age := 31 * 24 * time.Hour
			if i%5 == 4 {
				age = time.Hour // every fifth is recent: 5 live, 20 expired
			}
			e := audit.Event{At: now.Add(-age - time.Duration(i)*time.Second), Kind: "t.sweep", SubjectType: "thing", SubjectID: "x"}
			if err := audit.Append(ctx, d, &e); err != nil {
				t.Fatal(err)
			}
		}
		reg := prometheus.NewRegistry()
		s, err := sweep.New(sweep.Options{BatchSize: 8, Metrics: reg, Now: func() time.Time { return now }},
			sweep.Table{Name: "audit_events", Purger: audit.Retention{DB: d, Keep: 30 * 24 * time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		counts, err := s.Count(ctx)
		if err != nil || len(counts) != 1 || counts[0].Deleted != 20 {
			t.Fatalf("Count = %+v, %v; want 20 audit_events", counts, err)
		}
		res, err := s.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].Table != "audit_events" || res[0].Deleted != 20 || res[0].Batches != 3 || res[0].More {
			t.Fatalf("Once = %+v, want 20 deleted in 3 batches (8, 8, 4)", res)
		}
		left, err := audit.List(ctx, d, audit.Filter{Kind: "t.sweep"})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 5 {
			t.Fatalf("%d events left, want the 5 recent ones", len(left))
		}
		for _, e := range left {
			if now.Sub(e.At) > 2*time.Hour {
				t.Errorf("expired event %d (at %s) kept", e.ID, e.At)
			}
		}
		if got := counter(t, reg, "authgate_gc_deleted_rows_total", "audit_events"); got != 20 {
			t.Errorf("authgate_gc_deleted_rows_total{table=audit_events} = %v, want 20", got)
		}
		if res, err := s.Once(ctx); err != nil || res[0].Deleted != 0 || res[0].Batches != 1 {
			t.Errorf("second sweep = %+v, %v; want nothing deleted in one batch", res, err)
		}
	})
}

// counter reads name{table} from what reg exports.
func counter(t *testing.T, reg *prometheus.Registry, name, table string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{table=%q} not exported", name, table)
	return 0
}

// endless always has a full batch.
type endless struct{ calls atomic.Int64 }

func (e *endless) PurgeExpired(_ context.Context, _ time.Time, limit int) (int, error) {
	e.calls.Add(1)
	return limit, nil
}

// TestOnceFailureAndBacklog: a failing table is reported and counted, and
// does not stop the next one; a table that always has a full batch stops at
// MaxBatches with More set; a purger that cannot count shows -1 in Count.
func TestOnceFailureAndBacklog(t *testing.T) {
	boom := errors.New("boom")
	failing := sweep.PurgerFunc(func(context.Context, time.Time, int) (int, error) { return 3, boom })
	e := &endless{}
	reg := prometheus.NewRegistry()
	s, err := sweep.New(sweep.Options{BatchSize: 10, MaxBatches: 4, Metrics: reg},
		sweep.Table{Name: "failing", Purger: failing}, sweep.Table{Name: "backlog", Purger: e})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Once(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Once err = %v, want boom", err)
	}
	if res[0].Err == nil || res[0].Deleted != 3 || res[0].Batches != 1 {
		t.Errorf("failing = %+v", res[0])
	}
	if res[1].Err != nil || res[1].Deleted != 40 || res[1].Batches != 4 || !res[1].More {
		t.Errorf("backlog = %+v, want 40 deleted in 4 batches, more to do", res[1])
	}
	if got := counter(t, reg, "authgate_gc_errors_total", "failing"); got != 1 {
		t.Errorf("errors{failing} = %v, want 1", got)
	}
	counts, err := s.Count(context.Background())
	if err != nil || counts[0].Deleted != -1 || counts[1].Deleted != -1 {
		t.Errorf("Count = %+v, %v; want -1 for purgers that cannot count", counts, err)
	}
	if _, err := sweep.New(sweep.Options{}, sweep.Table{Name: "x", Purger: e}, sweep.Table{Name: "x", Purger: e}); err == nil {
		t.Error("a table registered twice was accepted")
	}
}

// TestRunStopsOnCancel: Run sweeps every Interval and returns once its
// context is cancelled, also in the middle of a backlog.
func TestRunStopsOnCancel(t *testing.T) {
	e := &endless{}
	s, err := sweep.New(sweep.Options{Interval: 5 * time.Millisecond, BatchSize: 1, MaxBatches: 1 << 30},
		sweep.Table{Name: "backlog", Purger: e})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.calls.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if e.calls.Load() < 100 {
		t.Fatal("Run did not sweep")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	n := e.calls.Load()
	time.Sleep(20 * time.Millisecond)
	if e.calls.Load() != n {
		t.Error("purges after Run returned")
	}
}
