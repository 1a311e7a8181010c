package app

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/sweep"
)

// GCTables returns the purger of every table that grows with use, in the
// order a sweep visits them: each store deletes its own expired rows (see
// docs/operations.md, "Retention and garbage collection"), in batches
// (PurgeExpired). Sessions are still swept by their own cleanup.
func (a *App) GCTables() []sweep.Table {
	return []sweep.Table{
		{Name: "dpop_jtis", Purger: authserver.NewSQLReplayStore(a.DB)},
		// A minute's grace, as before: a code or token is refused from
		// its expiry on either way. oauth_tokens' count includes the
		// revoked JWT ids past their token's expiry.
		{Name: "oauth_tokens", Purger: withGrace(a.OAuth.Tokens, time.Minute)},
		{Name: "audit_events", Purger: audit.Retention{DB: a.DB, Keep: a.Config.Audit.Retention}},
	}
}

// withGrace purges what expired at least grace before the sweep.
func withGrace(p sweep.Purger, grace time.Duration) sweep.Purger {
	return sweep.PurgerFunc(func(ctx context.Context, now time.Time, limit int) (int, error) {
		return p.PurgeExpired(ctx, now.Add(-grace), limit)
	})
}

// startSweeper runs the sweeper every gc.interval (off when zero) until
// the App closes, with its counters on the App's metrics.
func (a *App) startSweeper() error {
	if a.Config.GC.Interval <= 0 {
		return nil
	}
	s, err := sweep.New(sweep.Options{
		Interval: a.Config.GC.Interval, BatchSize: a.Config.GC.BatchSize, Logger: a.Logger, Metrics: a.Metrics,
		Now: a.now,
	}, a.GCTables()...)
	if err != nil {
		return fmt.Errorf("sweeper: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	a.OnClose(func() error { cancel(); <-done; return nil })
	return nil
}
