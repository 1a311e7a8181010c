package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// TestTokenCacheAcrossInstances: two instances on one database (SQLite file
// or PostgreSQL schema) cache API-token lookups (the default on both); a
// change made on A, or by a publish-only CLI handle, is seen by A at once and
// by B within two seconds (PostgreSQL: NOTIFY; SQLite: the change feed,
// polled every 250 ms), well before the 30 s TTL.
func TestTokenCacheAcrossInstances(t *testing.T) {
	ctx := context.Background()
	for _, dial := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(dial.name, func(t *testing.T) {
			dsn := dial.dsn(t)
			a, b := newInstance(t, dsn), newInstance(t, dsn)
			cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn})
			if err != nil {
				t.Fatal(err)
			}
			cli, err := app.New(ctx, cfg, nil, app.Options{PublishOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.Close() })

			// setup makes a user with one token, authenticated on both instances
			// (so both have it cached).
			setup := func(t *testing.T) (users.User, *tokens.Token, string) {
				t.Helper()
				u, err := a.Users.Create(ctx, users.NewUser{Username: "u" + randomHex(4)})
				if err != nil {
					t.Fatal(err)
				}
				tok, raw, err := a.Tokens.Generate(ctx, tokens.GenerateParams{User: u})
				if err != nil {
					t.Fatal(err)
				}
				for _, inst := range []*app.App{a, b} {
					before := inst.Tokens.CacheLen()
					if _, err := inst.Tokens.Authenticate(ctx, raw); err != nil {
						t.Fatal(err)
					}
					if inst.Tokens.CacheLen() != before+1 {
						t.Fatal("the token was not cached: is the cache on?")
					}
				}
				return u, tok, raw
			}
			isErr := func(kind error) func(*tokens.Authenticated, error) bool {
				return func(_ *tokens.Authenticated, err error) bool { return errors.Is(err, kind) }
			}
			blockAll := `{"resources":{"*":{"block":["*"]}}}`

			for _, tc := range []struct {
				name   string
				change func(t *testing.T, u users.User, tok *tokens.Token) error
				seen   func(*tokens.Authenticated, error) bool
				local  bool // A sees it at once (the change was made on A)
			}{
				{"invalidate", func(_ *testing.T, _ users.User, tok *tokens.Token) error {
					_, err := a.Tokens.Invalidate(ctx, tok.ID, "revoked")
					return err
				}, isErr(tokens.ErrTokenInvalid), true},
				{"update policy", func(_ *testing.T, _ users.User, tok *tokens.Token) error {
					_, err := a.Tokens.Update(ctx, tok.ID, func(t *tokens.Token) error { t.Policy = []byte(blockAll); return nil })
					return err
				}, func(au *tokens.Authenticated, err error) bool {
					return err == nil && string(au.Token.Policy) == blockAll
				}, true},
				{"update expires", func(_ *testing.T, _ users.User, tok *tokens.Token) error {
					past := time.Now().Add(-time.Minute)
					_, err := a.Tokens.Update(ctx, tok.ID, func(t *tokens.Token) error { t.Expires = &past; return nil })
					return err
				}, isErr(tokens.ErrTokenExpired), true},
				{"delete", func(_ *testing.T, _ users.User, tok *tokens.Token) error {
					return a.Tokens.Delete(ctx, tok.ID)
				}, isErr(tokens.ErrTokenNotFound), true},
				{"invalidate user's tokens", func(_ *testing.T, u users.User, _ *tokens.Token) error {
					_, err := a.Tokens.InvalidateUsers(ctx, []int64{u.ID}, "offboarded")
					return err
				}, isErr(tokens.ErrTokenInvalid), true},
				{"user deactivated", func(_ *testing.T, u users.User, _ *tokens.Token) error {
					return a.Users.SetActive(ctx, u.ID, false)
				}, isErr(tokens.ErrUserInactive), true},
				{"admin flag granted", func(_ *testing.T, u users.User, _ *tokens.Token) error {
					return a.Users.SetAdmin(ctx, u.ID, true)
				}, func(au *tokens.Authenticated, err error) bool { return err == nil && au.User.IsAdmin }, true},
				{"CLI token invalidate", func(_ *testing.T, _ users.User, tok *tokens.Token) error {
					_, err := cli.Tokens.Invalidate(ctx, tok.ID, "revoked")
					return err
				}, isErr(tokens.ErrTokenInvalid), false},
				{"CLI user deactivate", func(_ *testing.T, u users.User, _ *tokens.Token) error {
					return cli.Users.SetActive(ctx, u.ID, false)
				}, isErr(tokens.ErrUserInactive), false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					u, tok, raw := setup(t)
					if err := tc.change(t, u, tok); err != nil {
						t.Fatal(err)
					}
					if tc.local {
						if !tc.seen(a.Tokens.Authenticate(ctx, raw)) {
							t.Fatal("A did not see its own change at once")
						}
					}
					for name, inst := range map[string]*app.App{"A": a, "B": b} {
						eventually(t, name+" sees the change", func() bool { return tc.seen(inst.Tokens.Authenticate(ctx, raw)) })
					}
				})
			}

			// Control: a change nobody announces is not seen while the entry lives,
			// so the subtests above measure the notices, not a missing cache.
			t.Run("unannounced change waits for the TTL", func(t *testing.T) {
				_, tok, raw := setup(t)
				if _, err := a.DB.ExecContext(ctx, a.DB.Rebind(`UPDATE api_tokens SET valid = FALSE WHERE id = ?`), tok.ID); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
				if _, err := b.Tokens.Authenticate(ctx, raw); err != nil {
					t.Fatalf("B re-read the token without a notice (%v): not cached?", err)
				}
				b.Tokens.DropCached(tokens.NotifyKind, "*")
				if _, err := b.Tokens.Authenticate(ctx, raw); !errors.Is(err, tokens.ErrTokenInvalid) {
					t.Fatalf("after dropping everything: %v, want invalid", err)
				}
			})
		})
	}
}

// TestTokenCacheOnSQLite: SQLite caches API-token lookups by default, and
// the retired tokens.cache_sqlite key (even false) changes nothing;
// tokens.cache_ttl: 0 turns the cache off.
func TestTokenCacheOnSQLite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		overrides configs.Overrides
		cached    bool
	}{
		{"default", configs.Overrides{}, true},
		{"retired cache_sqlite false", configs.Overrides{"tokens.cache_sqlite": false}, true},
		{"cache_ttl 0", configs.Overrides{"tokens.cache_ttl": "0s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.overrides["database.url"] = dbtest.SQLiteDSN(t)
			cfg, err := configs.Load("", nil, tc.overrides)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := app.New(ctx, cfg, nil, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			u, err := inst.Users.Create(ctx, users.NewUser{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			_, raw, err := inst.Tokens.Generate(ctx, tokens.GenerateParams{User: u})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := inst.Tokens.Authenticate(ctx, raw); err != nil {
				t.Fatal(err)
			}
			if got := inst.Tokens.CacheLen() == 1; got != tc.cached {
				t.Fatalf("cached = %v, want %v", got, tc.cached)
			}
			if tc.cached { // in-process: a deactivation is seen at once
				if err := inst.Users.SetActive(ctx, u.ID, false); err != nil {
					t.Fatal(err)
				}
				if _, err := inst.Tokens.Authenticate(ctx, raw); !errors.Is(err, tokens.ErrUserInactive) {
					t.Fatalf("after deactivation: %v", err)
				}
			}
		})
	}
}
