package authserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// A database whose every round trip is counted (the same hook as
// resources/querycount_test.go), to show that a valid JWT is accepted with
// no query.

// countingConnector wraps a database/sql driver and counts every round
// trip it could make: prepares, queries, execs and transaction starts.
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

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.Prepare(q)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return c.Conn.Prepare(q)
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

// openCounting returns a migrated database whose every query is counted.
func openCounting(t testing.TB, dialect db.Dialect) (*db.DB, *atomic.Int64) {
	t.Helper()
	var dsn, driverDSN, sqlxName string
	switch dialect {
	case db.Postgres:
		dsn = dbtest.PostgresDSN(t) // skips when PostgreSQL is not configured
		driverDSN, sqlxName = dsn, "postgres"
	default:
		dsn = dbtest.SQLiteDSN(t)
		driverDSN, sqlxName = "file:"+dsn+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_time_format=sqlite", "sqlite"
	}
	ctx := context.Background()
	plain, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	if _, err := plain.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	sqlDB := sql.OpenDB(&countingConnector{drv: plain.DB.DB.Driver(), dsn: driverDSN, n: n})
	t.Cleanup(func() { sqlDB.Close() })
	return &db.DB{DB: sqlx.NewDb(sqlDB, sqlxName), Dialect: dialect}, n
}
