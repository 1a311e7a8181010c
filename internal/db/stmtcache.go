package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// MaxCachedStatements bounds the statement cache. Only the hot paths go
// through Prepared, with constant query texts, so the cache holds a few
// dozen statements; the bound keeps a caller that builds query text from
// data from growing it without limit (queries past it run unprepared).
// See docs/performance.md, "Statements and pools".
const MaxCachedStatements = 128

// stmtCache holds one prepared statement per query text. database/sql
// prepares a statement lazily on each pooled connection it runs on and
// keeps it there, so a query text is parsed once per connection, not once
// per request. The zero value is ready to use.
type stmtCache struct {
	mu      sync.RWMutex
	stmts   map[string]*stmtEntry
	retired []*sqlx.Stmt // evicted, still possibly in use: closed by Close
	closed  bool

	prepares atomic.Int64
	hits     atomic.Int64
	uncached atomic.Int64
}

// stmtEntry is a cached statement; ready is closed once st is set (nil
// when the prepare failed), so concurrent first uses prepare once.
type stmtEntry struct {
	ready chan struct{}
	st    *sqlx.Stmt
}

// StmtStats counts the statement cache's work since the database opened.
type StmtStats struct {
	// Prepares is how many query texts were prepared (a prepare per query
	// text, plus one after each eviction).
	Prepares int64
	// Hits is how many queries found their statement prepared.
	Hits int64
	// Uncached is how many queries ran unprepared: the cache was full or
	// closed, or the prepare failed.
	Uncached int64
	// Cached is how many statements the cache holds now.
	Cached int
}

// StmtStats reports the statement cache's counters.
func (d *DB) StmtStats() StmtStats {
	c := &d.stmts
	c.mu.RLock()
	n := len(c.stmts)
	c.mu.RUnlock()
	return StmtStats{Prepares: c.prepares.Load(), Hits: c.hits.Load(), Uncached: c.uncached.Load(), Cached: n}
}

// stmt returns the prepared statement of query, preparing it on first use;
// nil when it is not to be cached (the caller runs the query unprepared).
func (d *DB) stmt(ctx context.Context, query string) *sqlx.Stmt {
	c := &d.stmts
	c.mu.RLock()
	e := c.stmts[query]
	c.mu.RUnlock()
	if e == nil {
		var mine bool
		if e, mine = d.claim(query); mine {
			d.prepare(ctx, query, e)
		}
	}
	if e == nil {
		c.uncached.Add(1)
		return nil
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		c.uncached.Add(1) // the unprepared query reports the context's error
		return nil
	}
	if e.st == nil {
		c.uncached.Add(1)
		return nil
	}
	c.hits.Add(1)
	return e.st
}

// claim returns query's entry, creating it (mine) when there is none and
// the cache has room; nil when the cache is full or closed.
func (d *DB) claim(query string) (e *stmtEntry, mine bool) {
	c := &d.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.stmts[query]; e != nil {
		return e, false
	}
	if c.closed || len(c.stmts) >= MaxCachedStatements {
		return nil, false
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*stmtEntry)
	}
	e = &stmtEntry{ready: make(chan struct{})}
	c.stmts[query] = e
	return e, true
}

// prepare prepares e's statement outside the lock (on PostgreSQL it is a
// round trip, and a slow one must not hold up queries whose statements are
// ready). A failed prepare leaves no entry: the next use tries again, and
// the unprepared query reports the error if it persists.
func (d *DB) prepare(ctx context.Context, query string, e *stmtEntry) {
	c := &d.stmts
	st, err := d.DB.PreparexContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(e.ready)
	if err != nil {
		if c.stmts[query] == e {
			delete(c.stmts, query)
		}
		return
	}
	c.prepares.Add(1)
	if c.closed { // Close ran meanwhile
		_ = st.Close()
		return
	}
	e.st = st
}

// evict drops query's statement after PostgreSQL refused its cached plan.
// The statement is kept open (a concurrent query may be using it) until
// Close.
func (d *DB) evict(query string, st *sqlx.Stmt) {
	c := &d.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.stmts[query]; e != nil && e.st == st {
		delete(c.stmts, query)
		c.retired = append(c.retired, st)
	}
}

// closeStmts closes every cached statement; later queries run unprepared.
func (d *DB) closeStmts() {
	c := &d.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, e := range c.stmts {
		if e.st != nil {
			_ = e.st.Close()
		}
	}
	for _, st := range c.retired {
		_ = st.Close()
	}
	c.stmts, c.retired = nil, nil
}

// Close closes the cached statements, then the database.
func (d *DB) Close() error {
	d.closeStmts()
	return d.DB.Close()
}

// stalePlan reports PostgreSQL's refusal to run a prepared statement whose
// result columns changed type since it was prepared (a migration altered a
// selected column). A fresh prepare serves the new schema.
func stalePlan(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "0A000" &&
		strings.Contains(pqErr.Message, "cached plan must not change result type")
}

// Prepared runs queries through the statement cache: each query text is
// prepared once and reused. It implements sqlx.ExtContext, so it stands
// wherever a *DB or *sqlx.Tx is passed as a query runner. Use it for
// queries with constant text on hot paths. See docs/performance.md,
// "Statements and pools".
type Prepared struct {
	d  *DB
	tx *sqlx.Tx
}

// Prepared returns the database's statement-cached query runner.
func (d *DB) Prepared() *Prepared {
	if d.prepared.d == d {
		return &d.prepared // set by Open: no allocation per query
	}
	return &Prepared{d: d}
}

// PreparedTx returns a query runner inside tx that uses the cached
// statements (database/sql binds each to the transaction's connection).
func (d *DB) PreparedTx(tx *sqlx.Tx) *Prepared { return &Prepared{d: d, tx: tx} }

// direct is the unprepared runner of p: the transaction or the database.
func (p *Prepared) direct() sqlx.ExtContext {
	if p.tx != nil {
		return p.tx
	}
	return p.d.DB
}

// bound returns the statement to run query with: the cached one, bound to
// the transaction when p has one; nil to run it unprepared.
func (p *Prepared) bound(ctx context.Context, query string) (st, cached *sqlx.Stmt) {
	cached = p.d.stmt(ctx, query)
	if cached == nil || p.tx == nil {
		return cached, cached
	}
	return p.tx.StmtxContext(ctx, cached), cached
}

// retry reports whether a query that failed with err is to run again
// unprepared, evicting its statement when PostgreSQL refused the plan.
// Inside a transaction PostgreSQL has aborted it, so only the eviction
// helps (the next transaction prepares afresh).
func (p *Prepared) retry(err error, query string, cached *sqlx.Stmt) bool {
	if cached == nil || !stalePlan(err) {
		return false
	}
	p.d.evict(query, cached)
	return p.tx == nil
}

// DriverName implements sqlx.ExtContext.
func (p *Prepared) DriverName() string { return p.d.DriverName() }

// Rebind implements sqlx.ExtContext.
func (p *Prepared) Rebind(query string) string { return p.d.Rebind(query) }

// BindNamed implements sqlx.ExtContext.
func (p *Prepared) BindNamed(query string, arg any) (string, []any, error) {
	return p.d.BindNamed(query, arg)
}

// QueryContext implements sqlx.ExtContext.
func (p *Prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, cached := p.bound(ctx, query)
	if st == nil {
		return p.direct().QueryContext(ctx, query, args...)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil && p.retry(err, query, cached) {
		return p.direct().QueryContext(ctx, query, args...)
	}
	return rows, err
}

// QueryxContext implements sqlx.ExtContext.
func (p *Prepared) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	st, cached := p.bound(ctx, query)
	if st == nil {
		return p.direct().QueryxContext(ctx, query, args...)
	}
	rows, err := st.QueryxContext(ctx, args...)
	if err != nil && p.retry(err, query, cached) {
		return p.direct().QueryxContext(ctx, query, args...)
	}
	return rows, err
}

// QueryRowxContext implements sqlx.ExtContext.
func (p *Prepared) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	st, cached := p.bound(ctx, query)
	if st == nil {
		return p.direct().QueryRowxContext(ctx, query, args...)
	}
	row := st.QueryRowxContext(ctx, args...)
	if err := row.Err(); err != nil && p.retry(err, query, cached) {
		return p.direct().QueryRowxContext(ctx, query, args...)
	}
	return row
}

// ExecContext implements sqlx.ExtContext.
func (p *Prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, cached := p.bound(ctx, query)
	if st == nil {
		return p.direct().ExecContext(ctx, query, args...)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil && p.retry(err, query, cached) {
		return p.direct().ExecContext(ctx, query, args...)
	}
	return res, err
}

// GetContext scans the one row of query into dest (sqlx.GetContext).
func (p *Prepared) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, p, dest, query, args...)
}

// SelectContext scans the rows of query into dest (sqlx.SelectContext).
func (p *Prepared) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, p, dest, query, args...)
}
