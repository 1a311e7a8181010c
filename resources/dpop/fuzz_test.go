package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/resources/dpop"
)

// mapReplay remembers every key for ever (the fuzz clock stands still).
type mapReplay struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *mapReplay) Use(_ context.Context, key string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[key] {
		return false, nil
	}
	m.seen[key] = true
	return true, nil
}

// FuzzProof feeds arbitrary DPoP proofs (and request methods) to the
// verifier. Whatever the input, Check never panics and refuses with an
// error wrapping ErrInvalidProof (the Guard's 401), never another error
// (a 500); an accepted proof names its key and jti, and Record accepts it
// once.
func FuzzProof(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	const target = "https://photos.example/photos/"
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	seed := func(p string, err error) string {
		if err != nil {
			f.Fatal(err)
		}
		return p
	}
	good := seed(dpop.NewProof(edKey, dpop.ProofFields{Method: "GET", URL: target, AccessToken: "tok", IssuedAt: now}))
	for _, s := range []string{
		good,
		seed(dpop.NewProof(ecKey, dpop.ProofFields{Method: "GET", URL: target, AccessToken: "tok", IssuedAt: now})),
		seed(dpop.NewProof(edKey, dpop.ProofFields{Method: "POST", URL: target, AccessToken: "tok", IssuedAt: now})),
		seed(dpop.NewProof(edKey, dpop.ProofFields{Method: "GET", URL: target + "?q#f", IssuedAt: now.Add(-time.Hour)})),
		good[:len(good)-3], strings.Replace(good, ".", "..", 1), "", ".", "..", "a.b.c", "e30.e30.e30",
		"eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.",
	} {
		f.Add(s, "GET")
	}
	v, err := dpop.NewVerifier(dpop.Options{Now: func() time.Time { return now }, Replay: &mapReplay{seen: map[string]bool{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, proof, method string) {
		p, err := v.Check(proof, dpop.Request{Method: method, URL: target, AccessToken: "tok"})
		if err != nil {
			if !errors.Is(err, dpop.ErrInvalidProof) || dpop.Reason(err) == "" {
				t.Fatalf("Check(%q): %v is not an invalid-proof error", proof, err)
			}
			return
		}
		if p.JKT == "" || p.JTI == "" || method != "GET" {
			t.Fatalf("accepted %q for %q: %+v", proof, method, p)
		}
		if err := v.Record(context.Background(), p); err != nil && !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("Record: %v", err)
		}
		if err := v.Record(context.Background(), p); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("a proof was accepted twice: %v", err)
		}
	})
}
