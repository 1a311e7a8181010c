package app_test

import (
	"context"
	"io"
	"testing"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// startupConfig is the configuration `authgate serve` starts with on the
// SQLite file at dsn.
func startupConfig(tb testing.TB, dsn string) configs.Config {
	tb.Helper()
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// startOnce builds and closes an App on cfg, with the admin `serve`
// ensures, as `authgate serve` does before it listens.
func startOnce(tb testing.TB, cfg configs.Config) {
	tb.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, cfg, nil, app.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("AUTHGATE_ADMIN_PASSWORD", "correct-horse-battery-staple-42")
	if err := a.EnsureAdmin(ctx, io.Discard); err != nil {
		tb.Fatal(err)
	}
	if err := a.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStartExisting measures what `authgate serve` does before it
// listens, on a SQLite database an earlier start already migrated and
// seeded: open, migration check, key loading, stores, router.
func BenchmarkStartExisting(b *testing.B) {
	cfg := startupConfig(b, dbtest.SQLiteDSN(b))
	startOnce(b, cfg) // first start: migrations, keys, admin
	b.ReportAllocs()
	for b.Loop() {
		startOnce(b, cfg)
	}
}
