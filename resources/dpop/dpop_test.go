package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources/dpop"
)

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

// TestVerifyAppliesJWKRules: the jwk header is held to the shared JWK rules
// (internal/jwk), beyond "public members only". Each header here is one the
// verifier accepted before it used them; the signature is valid each time.
func TestVerifyAppliesJWKRules(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, alg, err := dpop.PublicJWK(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	x := pub["x"].(string)
	const target = "https://rs.example/api"
	v, err := dpop.NewVerifier(dpop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		extra      map[string]any
	}{
		{"as built", "", nil},
		{"use enc", "not a signing key", map[string]any{"use": "enc"}},
		{"alg member of another algorithm", "alg does not match", map[string]any{"alg": "ES384"}},
		{"line break in x", "bad EC key", map[string]any{"x": x[:8] + "\n" + x[8:]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]any{}
			for k, v := range pub {
				h[k] = v
			}
			for k, v := range tc.extra {
				h[k] = v
			}
			tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), jwt.MapClaims{
				"jti": "j-" + tc.name, "iat": time.Now().Unix(), "htm": "GET", "htu": target,
			})
			tok.Header["typ"], tok.Header["jwk"] = "dpop+jwt", h
			proof, err := tok.SignedString(ec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Check(proof, dpop.Request{Method: "GET", URL: target})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(dpop.Reason(err), tc.want) {
				t.Fatalf("err %v, want an invalid proof for %q", err, tc.want)
			}
		})
	}
}
