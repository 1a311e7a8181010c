package app_test

import (
	"context"
	"fmt"
	"io"
	"strings"
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

// TestRestartGeneratesNothing: the first start generates the signing keys
// (an RSA ID-token key among them: slow, once); a restart on the same
// database loads them and generates none, applies no migration, and adds
// no user.
func TestRestartGeneratesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := startupConfig(t, tc.dsn(t))
			startOnce(t, cfg)
			state := func() string {
				t.Helper()
				a, err := app.New(context.Background(), cfg, nil, app.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				var kids []string
				if err := a.DB.Select(&kids, `SELECT kid FROM signing_keys ORDER BY id`); err != nil {
					t.Fatal(err)
				}
				var users int
				if err := a.DB.Get(&users, `SELECT COUNT(*) FROM users`); err != nil {
					t.Fatal(err)
				}
				version, pending, err := a.DB.MigrationStatus(context.Background())
				if err != nil || pending {
					t.Fatalf("migration status: %d pending=%v %v", version, pending, err)
				}
				return fmt.Sprintf("keys %v, %d users, schema %d", kids, users, version)
			}
			first := state()
			startOnce(t, cfg)
			if again := state(); again != first {
				t.Fatalf("a restart changed the database: %s, then %s", first, again)
			}
			if !strings.Contains(first, "keys [") || strings.Contains(first, "keys []") {
				t.Fatalf("no signing key after the first start: %s", first)
			}
		})
	}
}
