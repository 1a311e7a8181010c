package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
)

// BenchmarkRemoteJWT validates an EdDSA JWT access token with a cached
// JWKS key (no network).
func BenchmarkRemoteJWT(b *testing.B) {
	srv := newIssuer(b)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k", k.Public())
	v := newJWKS(b, srv)
	tok := sign(b, jwt.SigningMethodEdDSA, k, "k", nil)
	ctx := context.Background()
	if _, err := v.ValidateBearer(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.ValidateBearer(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntrospectionCacheHit authenticates an API token whose
// introspection is cached.
func BenchmarkIntrospectionCacheHit(b *testing.B) {
	srv := newIssuer(b)
	tok := apiToken(b)
	srv.set(tok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": map[string]any{}})
	in := newIntrospector(b, srv, nil)
	ctx := context.Background()
	if _, err := in.AuthenticateAPIToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.AuthenticateAPIToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	if n := srv.introHits.Load(); n != 1 {
		b.Fatalf("%d calls", n)
	}
}

// BenchmarkMalformedRemote refuses a malformed API token and a malformed
// access token without a call.
func BenchmarkMalformedRemote(b *testing.B) {
	srv := newIssuer(b)
	in := newIntrospector(b, srv, nil)
	good := apiToken(b)
	bad := good[:len(good)-6] + "000000"
	if bad == good {
		b.Skip("unlucky checksum")
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.AuthenticateAPIToken(ctx, bad); !errors.Is(err, resources.ErrTokenMalformed) {
			b.Fatal(err)
		}
		if _, err := in.ValidateBearer(ctx, "agat_x"); !errors.Is(err, resources.ErrBearerInvalid) {
			b.Fatal(err)
		}
	}
	if n := srv.introHits.Load(); n != 0 {
		b.Fatalf("%d calls", n)
	}
}
