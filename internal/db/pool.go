package db

import "time"

// Pool sizes a database's connection pool.
type Pool struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration // 0: connections are not closed for age
	ConnMaxIdleTime time.Duration // 0: idle connections are kept
}

// DefaultPool is the pool a dialect gets when nothing is configured. See
// docs/performance.md, "Statements and pools".
//
// PostgreSQL: 20 connections cover the two cores' worth of concurrent
// queries with room for transactions waiting on row locks, while four
// instances stay within the server's default max_connections (100); idle
// ones are closed after 5 minutes so a quiet instance gives its backends
// back.
//
// SQLite: one writer at a time is SQLite's model; a small pool keeps
// readers concurrent under WAL while _txlock=immediate serialises writers
// without SQLITE_BUSY upgrade deadlocks. The connections are kept: opening
// one costs a file open and the pragmas, and each holds its prepared
// statements.
func DefaultPool(d Dialect) Pool {
	if d == Postgres {
		return Pool{MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxIdleTime: 5 * time.Minute}
	}
	return Pool{MaxOpenConns: 8, MaxIdleConns: 8}
}

// SetPool sizes the connection pool: each zero field of p takes the
// dialect's default. It returns the pool in effect. The idle bound is
// capped at the open bound, as database/sql does.
func (d *DB) SetPool(p Pool) Pool {
	def := DefaultPool(d.Dialect)
	if p.MaxOpenConns <= 0 {
		p.MaxOpenConns = def.MaxOpenConns
	}
	if p.MaxIdleConns <= 0 {
		p.MaxIdleConns = min(def.MaxIdleConns, p.MaxOpenConns)
	}
	p.MaxIdleConns = min(p.MaxIdleConns, p.MaxOpenConns)
	if p.ConnMaxLifetime <= 0 {
		p.ConnMaxLifetime = def.ConnMaxLifetime
	}
	if p.ConnMaxIdleTime <= 0 {
		p.ConnMaxIdleTime = def.ConnMaxIdleTime
	}
	d.SetMaxOpenConns(p.MaxOpenConns)
	d.SetMaxIdleConns(p.MaxIdleConns)
	d.SetConnMaxLifetime(p.ConnMaxLifetime)
	d.SetConnMaxIdleTime(p.ConnMaxIdleTime)
	return p
}
