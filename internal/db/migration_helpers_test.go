package db_test

import (
	"context"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// dialects are the databases every migration's data-survival test runs on.
var dialects = []struct {
	name string
	dsn  func(testing.TB) string
}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}}

// openAtVersion opens a fresh database from dsn, migrated up to version
// (the schema before the migration under test); it is closed with the test.
func openAtVersion(t *testing.T, dsn func(testing.TB) string, version int64) (context.Context, *db.DB) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := db.MigrateUpTo(ctx, d, version); err != nil {
		t.Fatal(err)
	}
	return ctx, d
}
