package authserver

import (
	"context"
	"net/url"
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
		ks := NewKeySet(d, ttl)
		ks.now = clk.now
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil { // idempotent
			t.Fatal(err)
		}
		first, err := ks.signer(ctx)
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
		if !slices.Equal(kids(set), []string{first.KID, next.KID}) {
			t.Fatalf("JWKS before activation %v", kids(set))
		}
		if k, _ := ks.signer(ctx); k.KID != first.KID {
			t.Fatal("a pending key signs")
		}

		// A second instance sharing the database.
		other := NewKeySet(d, ttl)
		other.now = clk.now

		clk.add(10 * time.Minute)
		ks.loadedAt = time.Time{} // next call reloads, as after the refresh interval
		if k, _ := ks.signer(ctx); k.KID != next.KID {
			t.Fatalf("after activation signer is %s, want %s", k.KID, next.KID)
		}
		if k, _ := other.signer(ctx); k.KID != next.KID {
			t.Fatalf("other instance signs with %s", k.KID)
		}
		list, _ = ks.List(ctx)
		if list[0].State != KeyRetired || list[1].State != KeyActive || list[0].PublishedUntil == nil {
			t.Fatalf("after activation %+v", list)
		}
		if _, ok := ks.verifier(ctx, first.KID); !ok {
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
		if _, ok := ks.verifier(ctx, first.KID); ok {
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

// TestRetiredKeyTokensStayValid issues a JWT, rotates with immediate
// activation, and checks the old token still validates over HTTP while new
// tokens carry the new kid; a token whose key is unknown is refused.
func TestRetiredKeyTokensStayValid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, nil)
		c, secret := h.serviceClient()
		form := url.Values{"grant_type": {"client_credentials"}}
		old := h.token(form, c.ID, secret).str("access_token")
		info, err := h.s.Keys.Rotate(context.Background(), AlgRS256, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.s.Keys.loadedAt = time.Time{}
		fresh := h.token(form, c.ID, secret).str("access_token")
		if kidOf(t, fresh) != info.KID || kidOf(t, old) == info.KID {
			t.Fatalf("kids: old %s fresh %s new %s", kidOf(t, old), kidOf(t, fresh), info.KID)
		}
		for _, at := range []string{old, fresh} {
			if r := h.api("Bearer " + at); r.Status != 200 {
				t.Fatalf("API refused a token: %d %s", r.Status, r.Raw)
			}
		}
		if len(h.jwks()) != 2 {
			t.Fatal("JWKS does not publish both keys")
		}
	})
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	var hdr struct {
		KID string `json:"kid"`
	}
	decodeSegment(t, jwt, 0, &hdr)
	return hdr.KID
}
