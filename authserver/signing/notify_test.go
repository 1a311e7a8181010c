package signing

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/notify"
)

// TestKeySetInvalidate: a KeySet serves its cached keys until Invalidate,
// then reloads on next use (another instance rotated).
func TestKeySetInvalidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ks := newKeySet(t, d, Options{})
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		other, err := newKeySet(t, d, Options{}).Rotate(ctx, AlgES256, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		set, err := ks.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(kids(set), other.KID) {
			t.Fatal("cached JWKS already has the other instance's key: the test proves nothing")
		}
		ks.Invalidate()
		if set, err = ks.JWKS(ctx); err != nil || !slices.Contains(kids(set), other.KID) {
			t.Fatalf("after Invalidate: %v %v, want %s", kids(set), err, other.KID)
		}
	})
}

// TestKeySetLoadOrder: a load that started before Invalidate may have read
// the table before the change, so it is not fresh; a load that started
// before the stored one never replaces it.
func TestKeySetLoadOrder(t *testing.T) {
	ks := newKeySet(t, dbtest.Open(t), Options{})
	oldKeys, newKeys := []*Key{{kid: "old"}}, []*Key{{kid: "new"}}
	fresh := func() bool {
		ks.mu.RLock()
		defer ks.mu.RUnlock()
		return !ks.loadedAt.IsZero()
	}
	stored := func() string {
		ks.mu.RLock()
		defer ks.mu.RUnlock()
		return ks.keys[0].kid
	}

	early := ks.startLoad()
	ks.Invalidate()
	ks.store(early, oldKeys)
	if fresh() || stored() != "old" {
		t.Fatalf("load started before Invalidate: fresh %v, keys %s; want stale old", fresh(), stored())
	}

	first, second := ks.startLoad(), ks.startLoad()
	ks.store(second, newKeys)
	ks.store(first, oldKeys)
	if !fresh() || stored() != "new" {
		t.Fatalf("out-of-order loads: fresh %v, keys %s; want fresh new", fresh(), stored())
	}
}

// TestKeySetAnnouncesRotation: with a notifier, Rotate announces the new
// kid in its transaction, and a subscriber invalidating another KeySet
// makes it serve the key at once.
func TestKeySetAnnouncesRotation(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return dbtest.SQLiteDSN(t) }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := tc.dsn(t)
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

			server := newKeySet(t, d, Options{})
			if err := server.Ensure(ctx, AlgEdDSA); err != nil {
				t.Fatal(err)
			}
			announced := make(chan string, 8)
			bus.Subscribe(KeyNotifyKind, func(kid string) {
				server.Invalidate()
				announced <- kid
			})

			rotator := newKeySet(t, d, Options{Notifier: bus})
			info, err := rotator.Rotate(ctx, AlgRS256, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.After(2 * time.Second)
			for got := ""; got != info.KID; { // skipping notify.All
				select {
				case got = <-announced:
				case <-deadline:
					t.Fatal("rotation not announced within 2s")
				}
			}
			if set, err := server.JWKS(ctx); err != nil || !slices.Contains(kids(set), info.KID) {
				t.Fatalf("server JWKS %v (%v) lacks the announced key %s", kids(set), err, info.KID)
			}
		})
	}
}

// TestEnsureAnnouncesFirstKey: with the notifier given at construction,
// the key Ensure creates on an empty table is announced like a rotated one,
// so an instance that started at the same moment reloads at once.
func TestEnsureAnnouncesFirstKey(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.SQLiteDSN(t)
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
	announced := make(chan string, 8)
	bus.Subscribe(KeyNotifyKind, func(kid string) { announced <- kid })

	ks := newKeySet(t, d, Options{Notifier: bus})
	if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
		t.Fatal(err)
	}
	k, err := ks.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case kid := <-announced:
		if kid != k.KID() {
			t.Fatalf("announced %s, first key %s", kid, k.KID())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("first key not announced within 2s")
	}
}
