package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/authgate/authgate/resources/dpop"
)

// RFC 7638 §3.1: the example RSA key's thumbprint.
func TestThumbprintRFC7638Vector(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := dpop.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestVerifyAcceptsEachAlgorithmOnce(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	v, err := dpop.NewVerifier(dpop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
	}{{"EdDSA", ed}, {"ES256", ec}, {"RS256", rk}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dpop.NewProof(tc.key, dpop.ProofFields{Method: "GET", URL: "https://rs.example/api/x/?q=1", AccessToken: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			// htu compared without query, scheme and host case-insensitive,
			// default port dropped (RFC 9449 §4.3 check 9).
			req := dpop.Request{Method: "GET", URL: "HTTPS://RS.example:443/api/x/", AccessToken: "tok"}
			got, err := v.Verify(context.Background(), p, req)
			if err != nil {
				t.Fatalf("valid proof refused: %v", err)
			}
			want, _ := dpop.Thumbprint(tc.key.Public())
			if got.JKT != want {
				t.Fatalf("jkt %s, want %s", got.JKT, want)
			}
			if _, err := v.Verify(context.Background(), p, req); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("replay accepted: %v", err)
			}
		})
	}
}

func TestVerifyRefusesDisallowedAlgorithm(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	v, err := dpop.NewVerifier(dpop.Options{Algs: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := dpop.NewProof(rk, dpop.ProofFields{Method: "POST", URL: "https://as.example/oauth/token"})
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: "https://as.example/oauth/token"}); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("RS256 accepted with algs [ES256]: %v", err)
	}
	if _, err := dpop.NewVerifier(dpop.Options{Algs: []string{"HS256"}}); err == nil {
		t.Fatal("HS256 configurable")
	}
}

func TestMemoryReplayStoreBounded(t *testing.T) {
	m := dpop.NewMemoryReplayStore(2)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	for _, k := range []string{"a", "b"} {
		if ok, err := m.Use(ctx, k, exp); !ok || err != nil {
			t.Fatalf("use %s: %v %v", k, ok, err)
		}
	}
	if ok, _ := m.Use(ctx, "a", exp); ok {
		t.Fatal("replay accepted")
	}
	if ok, err := m.Use(ctx, "c", exp); ok || err == nil {
		t.Fatal("a full store must refuse, not forget live entries")
	}
}
