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
// docs/operations.md, "Retention and garbage collection"). Sessions are
// still swept by their own cleanup.
func (a *App) GCTables() []sweep.Table {
	return []sweep.Table{
		// Until the OAuth stores offer PurgeExpired themselves, their
		// unbatched Purge is adapted. oauth_tokens' count includes the
		// revoked JWT ids, and the DPoP proof ids that dpop_jtis left
		// (none, as it runs first).
		{Name: "dpop_jtis", Purger: purgeBefore(authserver.NewSQLReplayStore(a.DB).Purge, 0)},
		// A minute's grace, as before: a code or token is refused from
		// its expiry on either way.
		{Name: "oauth_tokens", Purger: purgeBefore(a.OAuth.Tokens.Purge, time.Minute)},
		{Name: "audit_events", Purger: audit.Retention{DB: a.DB, Keep: a.Config.Audit.Retention}},
	}
}

// purgeBefore adapts a store's Purge(ctx, cutoff), which deletes every row
// that expired before cutoff in one statement, to sweep.Purger; it ignores
// the batch limit.
func purgeBefore(purge func(context.Context, time.Time) (int, error), grace time.Duration) sweep.Purger {
	return sweep.PurgerFunc(func(ctx context.Context, now time.Time, _ int) (int, error) {
		return purge(ctx, now.Add(-grace))
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
