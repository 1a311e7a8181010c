package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// clientFeedBound is the documented bound for another process's change to
// reach a server (docs/architecture.md, "Storage and invalidation").
const clientFeedBound = time.Second

// TestClientCacheAcrossInstances: two servers and a publish-only CLI handle
// on one database (SQLite file or PostgreSQL schema). Both servers cache a
// client after one client_credentials request; a secret rotated on A stops
// working on A at once and on B within the bound; a client disabled by the
// CLI, then deleted on B, is refused by both within the bound. Control: an
// unannounced change of the stored secret is not seen (the cached path does
// not read the client row).
func TestClientCacheAcrossInstances(t *testing.T) {
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

			c, secret, err := a.OAuth.CreateClient(ctx, authserver.ClientSpec{Name: "svc"})
			if err != nil {
				t.Fatal(err)
			}
			token := func(inst *app.App, secret string) int {
				h := http.Header{}
				req, _ := http.NewRequest(http.MethodPost, "/", nil)
				req.SetBasicAuth(c.ID, secret)
				h.Set("Authorization", req.Header.Get("Authorization"))
				return send(t, inst, http.MethodPost, authserver.PathToken, url.Values{"grant_type": {"client_credentials"}}, h).Code
			}
			for name, inst := range map[string]*app.App{"A": a, "B": b} {
				if code := token(inst, secret); code != http.StatusOK {
					t.Fatalf("%s: token request %d", name, code)
				}
			}
			refusedWithin := func(what string, inst *app.App, secret string, bound time.Duration) {
				t.Helper()
				start := time.Now()
				for token(inst, secret) != http.StatusUnauthorized {
					if time.Since(start) > bound {
						t.Fatalf("%s: still accepted after %s", what, bound)
					}
					time.Sleep(5 * time.Millisecond)
				}
				t.Logf("%s: refused after %s", what, time.Since(start).Round(time.Millisecond))
			}

			// Control: the stored secret changed behind the caches' back.
			if _, err := a.DB.ExecContext(ctx, a.DB.Rebind(`UPDATE oauth_clients SET secret_digest = ? WHERE client_id = ?`),
				"0000000000000000000000000000000000000000000000000000000000000000", c.ID); err != nil {
				t.Fatal(err)
			}
			for name, inst := range map[string]*app.App{"A": a, "B": b} {
				if code := token(inst, secret); code != http.StatusOK {
					t.Fatalf("%s read the client row on a cached request (status %d)", name, code)
				}
			}

			_, secret2, err := a.OAuth.Clients.RotateSecret(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if code := token(a, secret); code != http.StatusUnauthorized {
				t.Fatalf("A accepted the old secret after its own rotation: %d", code)
			}
			refusedWithin("old secret on B", b, secret, clientFeedBound)
			for name, inst := range map[string]*app.App{"A": a, "B": b} {
				if code := token(inst, secret2); code != http.StatusOK {
					t.Fatalf("%s refused the new secret: %d", name, code)
				}
			}

			if _, err := cli.OAuth.Clients.SetDisabled(ctx, c.ID, true); err != nil {
				t.Fatal(err)
			}
			refusedWithin("disabled by the CLI, on A", a, secret2, clientFeedBound)
			refusedWithin("disabled by the CLI, on B", b, secret2, clientFeedBound)

			if _, err := b.OAuth.Clients.SetDisabled(ctx, c.ID, false); err != nil {
				t.Fatal(err)
			}
			if code := token(b, secret2); code != http.StatusOK {
				t.Fatalf("B refused its own re-enabled client: %d", code)
			}
			for token(a, secret2) != http.StatusOK {
				time.Sleep(5 * time.Millisecond) // A's cache learns the re-enable (bounded by the test timeout)
			}
			if err := b.OAuth.Clients.Delete(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if code := token(b, secret2); code != http.StatusUnauthorized {
				t.Fatalf("B accepted its own deleted client: %d", code)
			}
			refusedWithin("deleted on B, on A", a, secret2, clientFeedBound)
		})
	}
}
