package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestPurgeBefore: events before the cutoff go, oldest first and at most
// limit per call; later ones stay; the log is still append-only for every
// other statement, before and after a purge.
func TestPurgeBefore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		var old, live []int64
		for i, age := range []time.Duration{100 * time.Hour, 90 * time.Hour, 80 * time.Hour, 49 * time.Hour, 47 * time.Hour, time.Minute} {
			e := audit.Event{At: now.Add(-age), Kind: "t.purge", SubjectType: "thing", SubjectID: string(rune('a' + i))}
			if err := audit.Append(ctx, d, &e); err != nil {
				t.Fatal(err)
			}
			if age > 48*time.Hour {
				old = append(old, e.ID)
			} else {
				live = append(live, e.ID)
			}
		}
		r := audit.Retention{DB: d, Keep: 48 * time.Hour}
		if n, err := r.CountExpired(ctx, now); err != nil || n != 4 {
			t.Fatalf("CountExpired = %d, %v; want 4", n, err)
		}
		if _, err := audit.PurgeBefore(ctx, d, now, 0); !errors.Is(err, audit.ErrInvalidLimit) {
			t.Fatalf("PurgeBefore(limit 0) = %v, want ErrInvalidLimit", err)
		}
		var batches []int
		for {
			n, err := r.PurgeExpired(ctx, now, 3)
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, n)
			left, err := audit.List(ctx, d, audit.Filter{Kind: "t.purge"})
			if err != nil {
				t.Fatal(err)
			}
			if len(batches) == 1 && (len(left) != 3 || left[0].ID != old[3]) {
				t.Fatalf("after the first batch: %v, want the oldest three gone", ids(left))
			}
			if n < 3 {
				if got := ids(left); len(got) != len(live) || got[0] != live[0] || got[1] != live[1] {
					t.Fatalf("left %v, want %v", got, live)
				}
				break
			}
		}
		if len(batches) != 2 || batches[0] != 3 || batches[1] != 1 {
			t.Errorf("batches = %v, want [3 1]", batches)
		}
		for _, q := range []string{`DELETE FROM audit_events`, `UPDATE audit_events SET kind = 'x'`} {
			if _, err := d.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("after a purge, %s: err = %v, want the append-only refusal", q, err)
			}
		}
		var open bool
		if err := d.GetContext(ctx, &open, `SELECT open FROM audit_purge_gate WHERE id = 1`); err != nil || open {
			t.Errorf("purge gate open = %v, %v; want closed", open, err)
		}
	})
}

// TestRetentionZeroKeepsEverything: the default retention deletes nothing.
func TestRetentionZeroKeepsEverything(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := audit.Event{At: time.Now().Add(-10 * 365 * 24 * time.Hour), Kind: "t.keep", SubjectType: "thing", SubjectID: "1"}
		if err := audit.Append(ctx, d, &e); err != nil {
			t.Fatal(err)
		}
		r := audit.Retention{DB: d}
		if n, err := r.PurgeExpired(ctx, time.Now(), 500); err != nil || n != 0 {
			t.Fatalf("PurgeExpired = %d, %v; want 0", n, err)
		}
		if n, err := r.CountExpired(ctx, time.Now()); err != nil || n != 0 {
			t.Fatalf("CountExpired = %d, %v; want 0", n, err)
		}
		if got, _ := audit.List(ctx, d, audit.Filter{Kind: "t.keep"}); len(got) != 1 {
			t.Fatalf("events = %v, want the one kept", ids(got))
		}
	})
}
