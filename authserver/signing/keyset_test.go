package signing

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// clock is a settable time source shared by the server under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

// newKeySet is NewKeySet with MaxTokenTTL an hour unless o says otherwise.
func newKeySet(t testing.TB, d *db.DB, o Options) *KeySet {
	t.Helper()
	if o.MaxTokenTTL == 0 {
		o.MaxTokenTTL = time.Hour
	}
	ks, err := NewKeySet(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func kids(set JWKS) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	return out
}

// TestKeyRotationLifecycle: a new key is published before it signs; the
// old one stays published until its last token has expired, and tokens it
// signed keep validating until then; every instance (KeySet) sharing the
// database sees the same keys.
func TestKeyRotationLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		const ttl = time.Hour
		ks := newKeySet(t, d, Options{MaxTokenTTL: ttl, Now: clk.now})
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil { // idempotent
			t.Fatal(err)
		}
		first, err := ks.Signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := ks.List(ctx)
		if len(list) != 1 || list[0].State != KeyActive {
			t.Fatalf("initial keys %+v", list)
		}

		next, err := ks.Rotate(ctx, AlgES256, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if next.State != KeyPending {
			t.Fatalf("new key state %s", next.State)
		}
		set, _ := ks.JWKS(ctx)
		if !slices.Equal(kids(set), []string{first.KID(), next.KID}) {
			t.Fatalf("JWKS before activation %v", kids(set))
		}
		if k, _ := ks.Signer(ctx); k.KID() != first.KID() {
			t.Fatal("a pending key signs")
		}

		// A second instance sharing the database.
		other := newKeySet(t, d, Options{MaxTokenTTL: ttl, Now: clk.now})

		clk.add(10 * time.Minute)
		ks.loadedAt = time.Time{} // next call reloads, as after the refresh interval
		if k, _ := ks.Signer(ctx); k.KID() != next.KID {
			t.Fatalf("after activation signer is %s, want %s", k.KID(), next.KID)
		}
		if k, _ := other.Signer(ctx); k.KID() != next.KID {
			t.Fatalf("other instance signs with %s", k.KID())
		}
		list, _ = ks.List(ctx)
		if list[0].State != KeyRetired || list[1].State != KeyActive || list[0].PublishedUntil == nil {
			t.Fatalf("after activation %+v", list)
		}
		if _, ok := ks.verifier(ctx, first.KID()); !ok {
			t.Fatal("retired key no longer verifies")
		}

		clk.add(ttl)
		list, _ = ks.List(ctx)
		if list[0].State != KeyExpired {
			t.Fatalf("retired key after its tokens expired: %s", list[0].State)
		}
		set, _ = ks.JWKS(ctx)
		if !slices.Equal(kids(set), []string{next.KID}) {
			t.Fatalf("JWKS after expiry %v", kids(set))
		}
		if _, ok := ks.verifier(ctx, first.KID()); ok {
			t.Fatal("expired key still verifies")
		}
		if _, err := ks.Rotate(ctx, "HS256", 0); err == nil {
			t.Fatal("HS256 accepted")
		}
		if _, err := ks.Rotate(ctx, AlgEdDSA, -time.Second); err == nil {
			t.Fatal("negative delay accepted")
		}
	})
}
