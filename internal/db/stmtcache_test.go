package db_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// driverCounts counts, at the driver, statements prepared (SQL text parsed
// and kept) and statements run unprepared (SQL text parsed for one run).
type driverCounts struct{ prepares, unprepared atomic.Int64 }

type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *driverCounts
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn) // neither modernc nor lib/pq needs a connector
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *driverCounts
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.prepares.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.unprepared.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.unprepared.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
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

// openCounting opens a migrated database of the dialect behind a driver
// wrapper that counts prepares and unprepared statements, with a pool of
// conns connections.
func openCounting(t *testing.T, dialect db.Dialect, conns int) (*db.DB, *driverCounts) {
	t.Helper()
	var dsn, driverDSN, sqlxName string
	if dialect == db.Postgres {
		dsn = dbtest.PostgresDSN(t)
		driverDSN, sqlxName = dsn, "postgres"
	} else {
		dsn = dbtest.SQLiteDSN(t)
		driverDSN, sqlxName = "file:"+dsn+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_time_format=sqlite&_txlock=immediate", "sqlite"
	}
	plain, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	if _, err := plain.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := new(driverCounts)
	sqlDB := sql.OpenDB(&countingConnector{drv: plain.DB.DB.Driver(), dsn: driverDSN, n: n})
	sqlDB.SetMaxOpenConns(conns)
	d := &db.DB{DB: sqlx.NewDb(sqlDB, sqlxName), Dialect: dialect}
	t.Cleanup(func() { d.Close() })
	return d, n
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect db.Dialect)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, db.SQLite) })
	t.Run("postgres", func(t *testing.T) { fn(t, db.Postgres) })
}

// TestPreparedReusesStatements runs a read, a write and a read inside
// transactions many times through Prepared: the driver parses each query
// text at most once per pooled connection and never runs one unprepared,
// where the same queries through the plain handle parse their text on
// every run.
func TestPreparedReusesStatements(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect db.Dialect) {
		const conns, runs = 2, 40
		d, n := openCounting(t, dialect, conns)
		ctx := context.Background()
		read := d.Rebind(`SELECT COUNT(*) FROM revoked_jti WHERE jti = ?`)
		write := d.Rebind(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES (?, ?, ?)`)

		// Control: the plain handle parses the text on every run.
		var count int
		for range runs {
			if err := d.GetContext(ctx, &count, read, "x"); err != nil {
				t.Fatal(err)
			}
		}
		if got := n.unprepared.Load(); got != runs {
			t.Fatalf("plain handle: %d unprepared statements for %d runs: the counter is broken", got, runs)
		}
		n.unprepared.Store(0)
		n.prepares.Store(0)

		p := d.Prepared()
		var wg sync.WaitGroup
		for w := range 4 { // concurrent, so both pooled connections are used
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range runs {
					var c int
					if err := p.GetContext(ctx, &c, read, "x"); err != nil {
						t.Error(err)
						return
					}
					jti := string(rune('a'+w)) + string(rune('A'+i%26)) + string(rune('0'+i/26))
					if _, err := p.ExecContext(ctx, write, jti, dbtestTime, dbtestTime); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for range runs {
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				return d.PreparedTx(tx).GetContext(ctx, &count, read, "aA0")
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if count != 1 {
			t.Fatalf("count = %d, want 1", count)
		}
		if got := n.unprepared.Load(); got != 0 {
			t.Errorf("%d statements ran unprepared through Prepared, want 0", got)
		}
		// Two query texts, each parsed at most once per connection.
		if got := n.prepares.Load(); got > 2*conns {
			t.Errorf("driver prepared %d times for 2 query texts on %d connections (%d runs)", got, conns, 9*runs)
		}
		st := d.StmtStats()
		if st.Prepares != 2 || st.Cached != 2 || st.Uncached != 0 {
			t.Errorf("stats = %+v, want 2 prepares, 2 cached, 0 uncached", st)
		}
		if want := int64(9 * runs); st.Hits != want { // every run used a prepared statement
			t.Errorf("hits = %d, want %d", st.Hits, want)
		}
	})
}

// TestPreparedBounded: past MaxCachedStatements distinct texts, queries
// still answer, unprepared, and the cache does not grow.
func TestPreparedBounded(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	p := d.Prepared()
	for i := range db.MaxCachedStatements + 10 {
		var got int
		q := `SELECT ` + strconv.Itoa(i)
		if err := p.GetContext(ctx, &got, q); err != nil || got != i {
			t.Fatalf("%s = %d, %v", q, got, err)
		}
	}
	st := d.StmtStats()
	if st.Cached != db.MaxCachedStatements || st.Uncached != 10 {
		t.Errorf("stats = %+v, want %d cached and 10 uncached", st, db.MaxCachedStatements)
	}
}

// TestPreparedAfterClose: a closed cache does not prepare; queries on the
// closed database fail with database/sql's error, not a panic.
func TestPreparedAfterClose(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	var one int
	if err := d.Prepared().GetContext(ctx, &one, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Prepared().GetContext(ctx, &one, `SELECT 1`); err == nil {
		t.Fatal("query on a closed database succeeded")
	}
	if st := d.StmtStats(); st.Cached != 0 {
		t.Errorf("stats after Close = %+v, want nothing cached", st)
	}
}

// TestPreparedSurvivesSchemaChange: another process migrating the schema
// does not break cached statements. Adding a column (what migrations do)
// leaves them working; changing the type of a column a statement returns
// makes PostgreSQL refuse the cached plan ("cached plan must not change
// result type") once: the cache evicts the statement, answers the query
// unprepared and prepares afresh on next use.
func TestPreparedSurvivesSchemaChange(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect db.Dialect) {
		ctx := context.Background()
		dsn := dbtest.SQLiteDSN(t)
		if dialect == db.Postgres {
			dsn = dbtest.PostgresDSN(t)
		}
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.ExecContext(ctx, `CREATE TABLE stmt_probe (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO stmt_probe (id, v) VALUES (1, 7)`); err != nil {
			t.Fatal(err)
		}
		other, err := db.Open(ctx, dsn) // "another process"
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		d.SetMaxOpenConns(1) // one connection: the statement is prepared there for sure
		q := d.Rebind(`SELECT v FROM stmt_probe WHERE id = ?`)
		get := func(step string) {
			t.Helper()
			var v int64
			if err := d.Prepared().GetContext(ctx, &v, q, 1); err != nil || v != 7 {
				t.Fatalf("%s: v = %d, %v", step, v, err)
			}
		}
		get("first")
		if _, err := other.ExecContext(ctx, `ALTER TABLE stmt_probe ADD COLUMN note TEXT`); err != nil {
			t.Fatal(err)
		}
		get("after ADD COLUMN")
		if d.Dialect == db.Postgres {
			if _, err := other.ExecContext(ctx, `ALTER TABLE stmt_probe ALTER COLUMN v TYPE BIGINT`); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := other.ExecContext(ctx, `ALTER TABLE stmt_probe RENAME COLUMN note TO remark`); err != nil {
				t.Fatal(err)
			}
		}
		get("after ALTER")
		get("after re-prepare")
		want := int64(1) // SQLite re-prepares by itself (SQLITE_SCHEMA)
		if dialect == db.Postgres {
			want = 2 // evicted after the refused plan, prepared afresh
		}
		if st := d.StmtStats(); st.Cached != 1 || st.Prepares != want {
			t.Errorf("stats = %+v, want the statement cached, %d prepares", st, want)
		}
	})
}

var dbtestTime = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
