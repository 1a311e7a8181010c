package oauthstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/notify"
)

// clientBound is how long another instance may serve a changed client: the
// SQLite change feed's documented bound (PostgreSQL's NOTIFY is faster).
const clientBound = time.Second

// cachedStore opens dsn as a separate "process": its own pool, bus and
// cached client store.
func cachedStore(t *testing.T, dsn string, size int) (*SQLClientStore, *db.DB) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	bus, err := notify.New(ctx, d, dsn, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	s := NewSQLClientStore(d)
	s.EnableCache(bus, size)
	return s, d
}

// TestClientStoreConformanceCached: the cached store passes the same suite.
func TestClientStoreConformanceCached(t *testing.T) {
	for _, dial := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(dial.name, func(t *testing.T) {
			s, d := cachedStore(t, dial.dsn(t), 0)
			runClientStoreSuite(t, s, d)
		})
	}
}

// TestClientCache: two instances on one database cache a client; a client
// disabled, re-enabled, its secret rotated, updated or deleted on A is seen
// by A at once and by B within the bound; a change nobody announces is not
// seen (the control: the cache answers without a query); the cache never
// holds more than its bound.
func TestClientCache(t *testing.T) {
	for _, dial := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(dial.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dial.dsn(t)
			a, ad := cachedStore(t, dsn, 4)
			b, _ := cachedStore(t, dsn, 4)
			c, secret, err := a.Create(ctx, ClientSpec{Name: "svc", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"x:read"}})
			if err != nil {
				t.Fatal(err)
			}
			load := func(s *SQLClientStore) (*Client, error) { return s.GetClient(ctx, c.ID) }
			for _, s := range []*SQLClientStore{a, b} {
				if _, err := load(s); err != nil {
					t.Fatal(err)
				}
				if s.CacheLen() != 1 {
					t.Fatalf("cache holds %d clients after one lookup", s.CacheLen())
				}
			}
			// Control: an unannounced change is not seen, so the client comes
			// from the cache and the cases below measure the notices.
			if _, err := ad.ExecContext(ctx, ad.Rebind(`UPDATE oauth_clients SET name = 'sneaky' WHERE client_id = ?`), c.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * notify.DefaultPollInterval)
			for _, s := range []*SQLClientStore{a, b} {
				if got, _ := load(s); got == nil || got.Name != "svc" {
					t.Fatalf("a cached lookup read the database: %+v", got)
				}
			}
			// A caller's copy is its own.
			got, _ := load(a)
			got.Name = "scribbled"
			if again, _ := load(a); again.Name != "svc" {
				t.Fatal("a caller's change reached the cache")
			}

			seen := func(what string, change func() error, ok func(*Client, error) bool) {
				t.Helper()
				if err := change(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !ok(load(a)) {
					t.Fatalf("%s: A did not see its own change at once", what)
				}
				start := time.Now()
				for !ok(load(b)) {
					if time.Since(start) > clientBound {
						t.Fatalf("%s: B did not see it within %s", what, clientBound)
					}
					time.Sleep(5 * time.Millisecond)
				}
				t.Logf("%s: B saw it after %s", what, time.Since(start).Round(time.Millisecond))
			}
			seen("disable", func() error { _, err := a.SetDisabled(ctx, c.ID, true); return err },
				func(c *Client, err error) bool { return err == nil && c.Disabled() })
			seen("enable", func() error { _, err := a.SetDisabled(ctx, c.ID, false); return err },
				func(c *Client, err error) bool { return err == nil && !c.Disabled() })
			var newSecret string
			seen("rotate secret", func() error { _, s, err := a.RotateSecret(ctx, c.ID); newSecret = s; return err },
				func(c *Client, err error) bool {
					return err == nil && !c.VerifySecret(secret) && c.VerifySecret(newSecret)
				})
			seen("update scopes", func() error {
				_, err := a.Update(ctx, c.ID, func(sp *ClientSpec) error { sp.Scopes = []string{"y:read"}; return nil })
				return err
			}, func(c *Client, err error) bool { return err == nil && len(c.Scopes) == 1 && c.Scopes[0] == "y:read" })
			seen("delete", func() error { return a.Delete(ctx, c.ID) },
				func(_ *Client, err error) bool { return errors.Is(err, ErrClientNotFound) })

			for i := range 10 {
				cl, _, err := a.Create(ctx, ClientSpec{Name: fmt.Sprint("c", i), GrantTypes: []string{GrantClientCredentials}})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.GetClient(ctx, cl.ID); err != nil {
					t.Fatal(err)
				}
				if n := a.CacheLen(); n > 4 {
					t.Fatalf("%d clients cached, bound 4", n)
				}
			}
		})
	}
}

// TestClientCacheEpoch: a client read before a drop is never stored after
// it, even when the drop named another client.
func TestClientCacheEpoch(t *testing.T) {
	c := newClientCache(8)
	for _, drop := range []string{"agci_x", "agci_other", "*"} {
		_, epoch := c.get("agci_x") // a miss: the query would start now
		c.drop(drop)
		c.put(epoch, &Client{ID: "agci_x", Name: "stale"})
		if got, _ := c.get("agci_x"); got != nil {
			t.Fatalf("drop %q: a row read before it was stored", drop)
		}
	}
	_, epoch := c.get("agci_x")
	c.put(epoch, &Client{ID: "agci_x", Name: "fresh"})
	if got, _ := c.get("agci_x"); got == nil || got.Name != "fresh" {
		t.Fatalf("a row read after the last drop was not stored: %+v", got)
	}
}
