// Package sweep deletes expired rows: each store purges its own table
// (codes and tokens past their lifetime, revoked JWT ids, DPoP proof ids,
// audit events past their retention), and the Sweeper calls every store in
// small batches, periodically in `authgate serve` and once in `authgate
// gc`. See docs/operations.md, "Retention and garbage collection".
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Purger deletes up to limit of its rows that are expired at now and
// returns how many it deleted. Fewer than limit means there are no more.
type Purger interface {
	PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error)
}

// Counter is what a Purger may also offer for a dry run: how many rows
// PurgeExpired would delete in all.
type Counter interface {
	CountExpired(ctx context.Context, now time.Time) (int, error)
}

// PurgerFunc adapts a function to Purger.
type PurgerFunc func(ctx context.Context, now time.Time, limit int) (int, error)

// PurgeExpired implements Purger.
func (f PurgerFunc) PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	return f(ctx, now, limit)
}

// Table is one registered purger, named by the table it sweeps (the label
// of its counts in logs, metrics and `authgate gc`).
type Table struct {
	Name   string
	Purger Purger
}

// Options configures a Sweeper. Zero values take the defaults.
type Options struct {
	// Interval is the time between two sweeps of Run; default 10m.
	Interval time.Duration
	// BatchSize is the limit passed to each PurgeExpired; default 500.
	BatchSize int
	// MaxBatches bounds the batches of one table in one sweep, so a
	// backlog cannot hold a sweep forever; the rest waits for the next
	// sweep. Default 1000 (500,000 rows at the default batch size).
	MaxBatches int
	// Logger receives one line per sweep that deleted anything, and each
	// failure; default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, gets authgate_gc_deleted_rows_total{table} and
	// authgate_gc_errors_total{table}.
	Metrics prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Sweeper runs the registered purgers.
type Sweeper struct {
	opts    Options
	tables  []Table
	deleted *prometheus.CounterVec
	errors  *prometheus.CounterVec
}

// New returns a Sweeper of tables, in the order given.
func New(opts Options, tables ...Table) (*Sweeper, error) {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxBatches <= 0 {
		opts.MaxBatches = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seen := map[string]bool{}
	for _, t := range tables {
		if t.Name == "" || t.Purger == nil || seen[t.Name] {
			return nil, fmt.Errorf("sweep: table %q is unnamed, has no purger or is registered twice", t.Name)
		}
		seen[t.Name] = true
	}
	s := &Sweeper{opts: opts, tables: tables,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgate_gc_deleted_rows_total", Help: "Expired rows deleted by the sweeper, by table.",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgate_gc_errors_total", Help: "Failed sweeps of a table.",
		}, []string{"table"}),
	}
	if opts.Metrics != nil {
		if err := opts.Metrics.Register(s.deleted); err != nil {
			return nil, fmt.Errorf("sweep metrics: %w", err)
		}
		if err := opts.Metrics.Register(s.errors); err != nil {
			return nil, fmt.Errorf("sweep metrics: %w", err)
		}
	}
	for _, t := range tables { // every series exists from the start, at 0
		s.deleted.WithLabelValues(t.Name)
		s.errors.WithLabelValues(t.Name)
	}
	return s, nil
}

// Result is what one sweep did to one table.
type Result struct {
	Table   string
	Deleted int
	// Batches is the number of PurgeExpired calls.
	Batches int
	// More is set when the sweep stopped at MaxBatches with a full batch.
	More bool
	// Err is the failure that stopped this table's sweep, if any.
	Err error
}

// Once sweeps every table once, each until a batch is short (or
// MaxBatches), at one instant, and returns a Result per table in the
// registered order. A failing table does not stop the others; the error
// joins every failure. A cancelled ctx stops the sweep between batches.
func (s *Sweeper) Once(ctx context.Context) ([]Result, error) {
	now := s.opts.Now()
	out := make([]Result, 0, len(s.tables))
	var errs []error
	for _, t := range s.tables {
		r := Result{Table: t.Name}
		for r.Batches < s.opts.MaxBatches {
			if err := ctx.Err(); err != nil {
				r.Err = err
				break
			}
			n, err := t.Purger.PurgeExpired(ctx, now, s.opts.BatchSize)
			r.Batches++
			if n > 0 {
				r.Deleted += n
				s.deleted.WithLabelValues(t.Name).Add(float64(n))
			}
			if err != nil {
				r.Err = err
				break
			}
			if n < s.opts.BatchSize {
				break
			}
			r.More = r.Batches == s.opts.MaxBatches
		}
		if r.Err != nil {
			s.errors.WithLabelValues(t.Name).Inc()
			errs = append(errs, fmt.Errorf("sweep %s: %w", t.Name, r.Err))
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Count returns, per table, how many rows a sweep would delete now, for a
// dry run; -1 for a table whose purger cannot count (not a Counter).
func (s *Sweeper) Count(ctx context.Context) ([]Result, error) {
	now := s.opts.Now()
	out := make([]Result, 0, len(s.tables))
	var errs []error
	for _, t := range s.tables {
		r := Result{Table: t.Name, Deleted: -1}
		if c, ok := t.Purger.(Counter); ok {
			r.Deleted, r.Err = c.CountExpired(ctx, now)
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("count %s: %w", t.Name, r.Err))
			}
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Run sweeps every Interval until ctx is cancelled, then returns. Each
// sweep gets at most one Interval; what it deleted is logged at info level,
// failures as warnings.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweepLogged(ctx)
		}
	}
}

func (s *Sweeper) sweepLogged(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Interval)
	defer cancel()
	results, _ := s.Once(ctx)
	for _, r := range results {
		switch {
		case r.Err != nil && !errors.Is(r.Err, context.Canceled):
			s.opts.Logger.Warn("sweep failed", "table", r.Table, "deleted", r.Deleted, "error", r.Err)
		case r.Deleted > 0:
			s.opts.Logger.Info("swept expired rows", "table", r.Table, "deleted", r.Deleted, "batches", r.Batches, "more", r.More)
		}
	}
}
