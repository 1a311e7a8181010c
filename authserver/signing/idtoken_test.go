package signing

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestIDTokenKeysRotateApart: the RS256 ID-token key exists beside the
// access-token key from the start and is published; rotating the
// access-token key (even to RS256) leaves it active; rotating the ID-token
// key publishes the new one first and keeps the old one published until its
// last token expired; a client's other algorithm gets a key on first use.
func TestIDTokenKeysRotateApart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		const ttl = time.Hour
		ks := newKeySet(t, d, Options{MaxTokenTTL: ttl, Now: clk.now})
		if err := ks.Ensure(ctx, AlgEdDSA); err != nil {
			t.Fatal(err)
		}
		for range 2 { // idempotent
			if err := ks.EnsureIDTokenKey(ctx, AlgRS256); err != nil {
				t.Fatal(err)
			}
		}
		access, _ := ks.Signer(ctx)
		idKey, err := ks.IDTokenSigner(ctx, AlgRS256)
		if err != nil || access.Alg() != AlgEdDSA || idKey.Alg() != AlgRS256 {
			t.Fatalf("access %v, id %v, %v", access, idKey, err)
		}
		set, _ := ks.JWKS(ctx)
		if !slices.Equal(kids(set), []string{access.KID(), idKey.KID()}) {
			t.Fatalf("JWKS %v", kids(set))
		}

		// An access-token rotation, to RS256 at that: ID tokens keep
		// their key, access tokens switch.
		next, err := ks.Rotate(ctx, AlgRS256, 0)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(ttl + time.Minute)
		ks.Invalidate()
		if k, _ := ks.Signer(ctx); k.KID() != next.KID {
			t.Fatalf("access signer %s, want %s", k.KID(), next.KID)
		}
		if k, _ := ks.IDTokenSigner(ctx, AlgRS256); k.KID() != idKey.KID() {
			t.Fatalf("ID-token signer %s after an access-token rotation, want %s", k.KID(), idKey.KID())
		}
		set, _ = ks.JWKS(ctx)
		if !slices.Equal(kids(set), []string{idKey.KID(), next.KID}) {
			t.Fatalf("JWKS after the access key's retirement %v", kids(set))
		}

		// An ID-token rotation: published first, then signing; the old
		// key stays published for the longest token lifetime.
		newID, err := ks.RotateFor(ctx, PurposeIDToken, AlgRS256, 10*time.Minute)
		if err != nil || newID.State != KeyPending || newID.Purpose != PurposeIDToken {
			t.Fatalf("rotate ID-token key: %+v, %v", newID, err)
		}
		if k, _ := ks.IDTokenSigner(ctx, AlgRS256); k.KID() != idKey.KID() {
			t.Fatal("a pending ID-token key signs")
		}
		clk.add(10 * time.Minute)
		ks.Invalidate()
		if k, _ := ks.IDTokenSigner(ctx, AlgRS256); k.KID() != newID.KID {
			t.Fatalf("ID-token signer %s after activation, want %s", k.KID(), newID.KID)
		}
		if k, _ := ks.Signer(ctx); k.KID() != next.KID {
			t.Fatal("an ID-token rotation moved the access-token key")
		}
		if _, ok := ks.verifier(ctx, idKey.KID()); !ok {
			t.Fatal("the retired ID-token key no longer verifies")
		}
		clk.add(ttl)
		if _, ok := ks.verifier(ctx, idKey.KID()); ok {
			t.Fatal("the expired ID-token key still verifies")
		}

		// A client registered for ES256: a key on first use.
		es, err := ks.IDTokenSigner(ctx, AlgES256)
		if err != nil || es.Alg() != AlgES256 {
			t.Fatalf("ES256 ID-token key: %v, %v", es, err)
		}
		if _, err := ks.IDTokenSigner(ctx, "HS256"); err == nil {
			t.Fatal("HS256 ID-token key")
		}
		if _, err := ks.RotateFor(ctx, "other", AlgRS256, 0); err == nil {
			t.Fatal("unknown purpose accepted")
		}
	})
}

// BenchmarkIDTokenSign: the cost of signing one ID token with the key of
// each algorithm (the key is cached; no database access per token).
func BenchmarkIDTokenSign(b *testing.B) {
	ks := newKeySet(b, dbtest.Open(b), Options{})
	ctx := context.Background()
	claims := jwt.MapClaims{"iss": "https://auth.example", "sub": "42", "aud": "agci_x", "nonce": "n"}
	for _, alg := range SupportedAlgs {
		b.Run(alg, func(b *testing.B) {
			k, err := ks.IDTokenSigner(ctx, alg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := k.Sign(claims, "JWT"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
