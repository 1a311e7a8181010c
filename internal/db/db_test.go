package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

func TestDialectOf(t *testing.T) {
	tests := []struct {
		dsn  string
		want db.Dialect
	}{
		{"postgres://u:p@h/db", db.Postgres},
		{"postgresql://u:p@h/db", db.Postgres},
		{"POSTGRES://u:p@h/db", db.Postgres},
		{"authgate.db", db.SQLite},
		{"sqlite:///tmp/x.db", db.SQLite},
		{"sqlite:x.db", db.SQLite},
		{":memory:", db.SQLite},
	}
	for _, tc := range tests {
		if got := db.DialectOf(tc.dsn); got != tc.want {
			t.Errorf("DialectOf(%q) = %s, want %s", tc.dsn, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	got := db.Redact("postgres://alice:s3cret@127.0.0.1:5432/db?sslmode=disable")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "alice") {
		t.Fatalf("Redact = %q", got)
	}
}

// Issue #9 item 7: a DSN url.Parse refuses (here a '%' that is no escape)
// came back unchanged, password included.
func TestRedactUnparsableAndKeyValue(t *testing.T) {
	cases := []struct{ dsn, secret, keep string }{
		{"postgres://alice:pa%ss@127.0.0.1:5432/db", "pa%ss", "127.0.0.1:5432/db"},
		{"postgres://alice:s3cr@t%zz@db.example:5432/x", "s3cr@t", "@db.example:5432/x"},
		{"postgres://alice:s3cret@[::1:5432/db", "s3cret", "/db"},
		{"postgres://db.example/x?sslmode=disable&password=s3cret", "s3cret", "sslmode=disable"},
		{"host=db.example user=alice password=s3cret dbname=x", "s3cret", "dbname=x"},
		{"host=db.example password='s3 cr\\'et' dbname=x", "s3 cr", "dbname=x"},
	}
	for _, tc := range cases {
		got := db.Redact(tc.dsn)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, tc.keep) {
			t.Errorf("Redact(%q) = %q: want %q hidden and %q kept", tc.dsn, got, tc.secret, tc.keep)
		}
	}
	for _, plain := range []string{"/var/lib/authgate.db", "sqlite:/tmp/a.db", "postgres://alice@db.example/x"} {
		if got := db.Redact(plain); got != plain {
			t.Errorf("Redact(%q) = %q, want it unchanged", plain, got)
		}
	}
}

func TestOpenEmptyDSN(t *testing.T) {
	if _, err := db.Open(context.Background(), " "); err == nil {
		t.Fatal("Open(\" \") succeeded")
	}
}

func TestOpenSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{dir + "/a.db", "sqlite://" + dir + "/b.db", "sqlite:" + dir + "/sub/c.db"} {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if d.Dialect != db.SQLite {
			t.Fatalf("dialect %s", d.Dialect)
		}
		var fk int
		if err := d.Get(&fk, "PRAGMA foreign_keys"); err != nil || fk != 1 {
			t.Fatalf("foreign_keys = %d, %v", fk, err)
		}
		var mode string
		if err := d.Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v", mode, err)
		}
		d.Close()
	}
}

func TestMigrateIdempotentAndTx(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		n, err := d.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second Migrate applied %d, err %v", n, err)
		}
		cur, pending, err := d.MigrationStatus(ctx)
		if err != nil || pending || cur < 1 {
			t.Fatalf("status = %d %v %v", cur, pending, err)
		}
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		insert := d.Rebind(`INSERT INTO users (username, created_at, updated_at) VALUES (?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
		boom := errors.New("boom")
		err = d.InTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, insert, "rolled-back"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v", err)
		}
		var count int
		if err := d.Get(&count, d.Rebind(`SELECT COUNT(*) FROM users WHERE username = ?`), "rolled-back"); err != nil || count != 0 {
			t.Fatalf("rolled-back row visible: %d %v", count, err)
		}

		// A failed statement inside a savepoint leaves the transaction usable
		// and the duplicate is reported as a unique violation.
		err = d.InTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, insert, "alice"); err != nil {
				return err
			}
			spErr := db.Savepoint(ctx, tx, "dup", func() error {
				_, err := tx.ExecContext(ctx, insert, "alice")
				return err
			})
			if !db.IsUniqueViolation(spErr) {
				t.Errorf("duplicate insert: IsUniqueViolation(%v) = false", spErr)
			}
			_, err := tx.ExecContext(ctx, insert, "bob")
			return err
		})
		if err != nil {
			t.Fatalf("transaction after savepoint rollback: %v", err)
		}
		if err := d.Get(&count, `SELECT COUNT(*) FROM users`); err != nil || count != 2 {
			t.Fatalf("users = %d, %v; want 2", count, err)
		}
		if db.IsUniqueViolation(errors.New("unique")) {
			t.Fatal("plain error classified as unique violation")
		}
	})
}
