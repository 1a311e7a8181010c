// Package dbtest gives tests real, migrated databases: a fresh SQLite file
// and, when AUTHGATE_TEST_POSTGRES is set, a fresh PostgreSQL schema.
//
// Each is the one way to run a store conformance suite against both
// dialects; no database is ever mocked.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL DSN for tests.
const EnvPostgres = "AUTHGATE_TEST_POSTGRES"

// EnvRequirePostgres, when "1", turns a missing PostgreSQL into a failure.
const EnvRequirePostgres = "AUTHGATE_REQUIRE_POSTGRES"

// Each runs fn as subtest "sqlite" on a fresh migrated SQLite database and as
// subtest "postgres" on a fresh migrated PostgreSQL schema.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, Open(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// Open returns a fresh, migrated SQLite database in a temporary directory,
// closed when the test ends.
func Open(t testing.TB) *db.DB {
	t.Helper()
	return open(t, SQLiteDSN(t))
}

// SQLiteDSN returns the path of a fresh SQLite file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "authgate.db")
}

// PostgresDSN returns a DSN for a fresh, empty schema on the test PostgreSQL
// server, dropped when the test ends. It skips the test when
// AUTHGATE_TEST_POSTGRES is unset, or fails it when AUTHGATE_REQUIRE_POSTGRES=1.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("%s is unset but %s=1: PostgreSQL tests must run", EnvPostgres, EnvRequirePostgres)
		}
		t.Skipf("PostgreSQL test skipped: set %s=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable to run it", EnvPostgres)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])

	admin, err := db.Open(context.Background(), base)
	if err != nil {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", db.Redact(base), err)
		}
		t.Skipf("PostgreSQL at %s unreachable: %v", db.Redact(base), err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	// lib/pq sends unknown URL parameters as run-time parameters, so every
	// pooled connection starts with this search_path.
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a fresh migrated PostgreSQL schema (see PostgresDSN).
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	return open(t, PostgresDSN(t))
}

func open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", db.Redact(dsn), err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", d.Dialect, err)
	}
	return d
}
