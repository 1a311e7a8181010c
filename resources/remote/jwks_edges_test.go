package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// TestJWKSExpiryAndDefaultLeeway: the BearerToken carries the JWT's exp,
// and with the default 5 s leeway a token 4 s past exp is still accepted
// while one 6 s past is not.
func TestJWKSExpiryAndDefaultLeeway(t *testing.T) {
	srv := newIssuer(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("ed", key.Public())
	v := newJWKS(t, srv)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	bt, err := v.ValidateBearer(ctx, sign(t, jwt.SigningMethodEdDSA, key, "ed", func(c *claims, _ map[string]any) {
		c.ExpiresAt = jwt.NewNumericDate(exp)
	}))
	if err != nil || !bt.ExpiresAt.Equal(exp) {
		t.Fatalf("ExpiresAt %v, %v; want %v", bt, err, exp)
	}
	for _, tc := range []struct {
		past time.Duration
		ok   bool
	}{{4 * time.Second, true}, {6 * time.Second, false}} {
		tok := sign(t, jwt.SigningMethodEdDSA, key, "ed", func(c *claims, _ map[string]any) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-tc.past))
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})
		_, err := v.ValidateBearer(ctx, tok)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("%v past exp: %v, want ok=%v (default leeway %v)", tc.past, err, tc.ok, 5*time.Second)
		}
	}
}

// TestJWKSRefetchTiming: known keys are used without a fetch until they
// are MaxAge old, and from then on refreshed (in the background); an
// unknown kid fetches at once, but not again within MinRefetch of the
// last try.
func TestJWKSRefetchTiming(t *testing.T) {
	srv := newIssuer(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("ed", key.Public())
	t0 := time.Now()
	now := t0
	v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json",
		MaxAge: 10 * time.Minute, MinRefetch: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	known := sign(t, jwt.SigningMethodEdDSA, key, "ed", nil)
	unknown := sign(t, jwt.SigningMethodEdDSA, key, "nope", nil)
	fetches := func(at time.Duration, tok string) int32 {
		t.Helper()
		now = t0.Add(at)
		before := srv.jwksHits.Load()
		_, _ = v.ValidateBearer(ctx, tok)
		// A refresh of a known key runs in the background: give it time
		// to start and finish.
		for i := 0; i < 100 && srv.jwksHits.Load() == before; i++ {
			time.Sleep(2 * time.Millisecond)
		}
		waitIdle(v)
		return srv.jwksHits.Load() - before
	}
	if n := fetches(0, known); n != 1 {
		t.Fatalf("first use: %d fetches", n)
	}
	if n := fetches(2*time.Minute, known); n != 0 {
		t.Fatalf("known key, fresh, past MinRefetch: %d fetches", n)
	}
	if n := fetches(10*time.Minute-time.Second, known); n != 0 {
		t.Fatalf("known key just under MaxAge: %d fetches", n)
	}
	if n := fetches(10*time.Minute, known); n != 1 {
		t.Fatalf("known key at MaxAge: %d fetches, want a refresh", n)
	}
	// The refresh at 10m is the last try.
	if n := fetches(10*time.Minute+59*time.Second, unknown); n != 0 {
		t.Fatalf("unknown kid within MinRefetch of the last try: %d fetches", n)
	}
	if n := fetches(11*time.Minute, unknown); n != 1 {
		t.Fatalf("unknown kid at MinRefetch after the last try: %d fetches, want 1", n)
	}
}
