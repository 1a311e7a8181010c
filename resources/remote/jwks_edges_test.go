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
