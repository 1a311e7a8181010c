package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// OpenCounting returns a fresh migrated database of dialect (SQLite file or
// PostgreSQL schema, with PostgresDSN's skip rules) whose every round trip
// — a query or exec, as text or of a prepared statement, and a
// transaction start — adds one to the counter, so a
// test or benchmark can state how many queries a request costs.
func OpenCounting(t testing.TB, dialect db.Dialect) (*db.DB, *atomic.Int64) {
	t.Helper()
	var dsn, driverDSN, sqlxName string
	switch dialect {
	case db.Postgres:
		dsn = PostgresDSN(t)
		driverDSN, sqlxName = dsn, "postgres"
	default:
		dsn = SQLiteDSN(t)
		driverDSN, sqlxName = "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"+
			"&_pragma=synchronous(NORMAL)&_time_format=sqlite", "sqlite"
	}
	plain := open(t, dsn) // migrated; its driver is reused below
	n := new(atomic.Int64)
	sqlDB := sql.OpenDB(&countingConnector{drv: plain.DB.DB.Driver(), dsn: driverDSN, n: n})
	t.Cleanup(func() { sqlDB.Close() })
	return &db.DB{DB: sqlx.NewDb(sqlDB, sqlxName), Dialect: dialect}, n
}

type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var (
		conn driver.Conn
		err  error
	)
	if dc, ok := c.drv.(driver.DriverContext); ok {
		var cn driver.Connector
		if cn, err = dc.OpenConnector(c.dsn); err == nil {
			conn, err = cn.Connect(ctx)
		}
	} else {
		conn, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

// Prepare counts nothing itself: a statement prepared once (internal/db's
// statement cache) costs a parse per connection, not per request; each run
// of it counts, as a query sent as text does.
func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	st, err := c.Conn.Prepare(q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, n: c.n}, nil
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	p, ok := c.Conn.(driver.ConnPrepareContext)
	if !ok {
		return c.Prepare(q)
	}
	st, err := p.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, n: c.n}, nil
}

// countingStmt counts every run of a prepared statement.
type countingStmt struct {
	driver.Stmt
	n *atomic.Int64
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if nc, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return qc.QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return ec.ExecContext(ctx, q, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.Add(1)
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok { // both modernc sqlite and lib/pq implement it
		return nil, errors.New("driver without BeginTx")
	}
	return b.BeginTx(ctx, opts)
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if nc, ok := c.Conn.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}
