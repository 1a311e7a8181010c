package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestServeSweeps: the App sweeps every gc.interval on its own (an expired
// DPoP proof id goes, a live one stays), counts the rows in
// authgate_gc_deleted_rows_total on /metrics, and stops sweeping when it
// closes. With gc.interval 0 nothing is swept and no counter is exported.
func TestServeSweeps(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := tc.dsn(t)
			cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
			if err != nil {
				t.Fatal(err)
			}
			cfg.GC.Interval = 20 * time.Millisecond // below what gc.interval accepts, to keep the test short
			off := cfg
			off.GC.Interval = 0
			quiet := newAppFrom(t, off) // migrates
			if body := get(t, quiet.Router, "/metrics", nil).Body.String(); strings.Contains(body, "authgate_gc_deleted_rows_total") {
				t.Error("gc.interval 0 still exports the sweeper's counter")
			}
			d, err := db.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			now := time.Now().UTC()
			for key, exp := range map[string]time.Time{"old": now.Add(-time.Hour), "live": now.Add(time.Hour)} {
				if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO dpop_jtis (jti_key, expires_at) VALUES (?, ?)`), key, exp); err != nil {
					t.Fatal(err)
				}
			}
			left := func() []string {
				var keys []string
				if err := d.SelectContext(ctx, &keys, `SELECT jti_key FROM dpop_jtis ORDER BY jti_key`); err != nil {
					t.Fatal(err)
				}
				return keys
			}
			time.Sleep(60 * time.Millisecond)
			if got := left(); len(got) != 2 {
				t.Fatalf("with gc.interval 0, dpop_jtis = %v; want both kept", got)
			}
			a := newAppFrom(t, cfg)
			deadline := time.Now().Add(10 * time.Second)
			for len(left()) != 1 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := left(); len(got) != 1 || got[0] != "live" {
				t.Fatalf("after sweeps, dpop_jtis = %v; want [live]", got)
			}
			// The sweeper counts a delete after it returns: the row can be
			// gone a moment before the metric says so.
			const want = `authgate_gc_deleted_rows_total{table="dpop_jtis"} 1`
			body := get(t, a.Router, "/metrics", nil).Body.String()
			for !strings.Contains(body, want) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				body = get(t, a.Router, "/metrics", nil).Body.String()
			}
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks the dpop_jtis count:\n%s", grepLines(body, "authgate_gc_"))
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO dpop_jtis (jti_key, expires_at) VALUES (?, ?)`), "after", now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(80 * time.Millisecond)
			if got := left(); len(got) != 2 {
				t.Errorf("swept after Close: dpop_jtis = %v", got)
			}
		})
	}
}
