package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources/dpop"
)

// captureReplay records the expiry each key is stored with, and fails on
// demand like an unreachable database.
type captureReplay struct {
	exp  map[string]time.Time
	fail error
}

func (c *captureReplay) Use(_ context.Context, key string, exp time.Time) (bool, error) {
	if c.fail != nil {
		return false, c.fail
	}
	if _, seen := c.exp[key]; seen {
		return false, nil
	}
	c.exp[key] = exp
	return true, nil
}

var edgeNow = time.Unix(1_700_000_000, 0)

const edgeURL = "https://rs.example/api/photos/"

// signed builds a proof with arbitrary header and claims, signed by key.
func signed(t *testing.T, key ed25519.PrivateKey, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCheckEachRule: every check of RFC 9449 §4.3 that Check applies, at
// its edges, with the reason a client is given.
func TestCheckEachRule(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub, _, err := dpop.PublicJWK(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := dpop.NewVerifier(dpop.Options{Now: func() time.Time { return edgeNow }})
	if err != nil {
		t.Fatal(err)
	}
	proof := func(f dpop.ProofFields) string {
		if f.Method == "" {
			f.Method = "GET"
		}
		if f.URL == "" {
			f.URL = edgeURL
		}
		if f.IssuedAt.IsZero() {
			f.IssuedAt = edgeNow
		}
		p, err := dpop.NewProof(key, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := jwt.MapClaims{"jti": "j", "iat": edgeNow.Unix(), "htm": "GET", "htu": edgeURL}
	get := dpop.Request{Method: "GET", URL: edgeURL}
	for _, tc := range []struct {
		name  string
		proof string
		req   dpop.Request
		want  string // "" = accepted; else a substring of the reason, or "=" and the whole reason
	}{
		{"valid", proof(dpop.ProofFields{}), get, ""},
		{"empty", "", get, "the DPoP header is empty"},
		{"largest size", strings.Repeat("a", 8<<10), get, "not a well-formed JWT"},
		{"too large", strings.Repeat("a", 8<<10+1), get, "too large"},
		{"not a JWT", "a.b", get, "not a well-formed JWT"},
		{"typ", signed(t, key, map[string]any{"typ": "JWT", "jwk": pub}, base), get, "=the DPoP proof header is unacceptable: typ is not dpop+jwt"},
		{"no jwk", signed(t, key, map[string]any{"typ": "dpop+jwt"}, base), get, "=the DPoP proof header is unacceptable: no jwk header"},
		{"jwk not an object", signed(t, key, map[string]any{"typ": "dpop+jwt", "jwk": "k"}, base), get, "unacceptable"},
		{"signature", proof(dpop.ProofFields{})[:len(proof(dpop.ProofFields{}))-4] + "AAAA", get, "signature is invalid"},
		{"htm", proof(dpop.ProofFields{Method: "POST"}), get, "htm does not match"},
		{"htm case", proof(dpop.ProofFields{Method: "get"}), get, "htm does not match"},
		{"htu path", proof(dpop.ProofFields{URL: edgeURL + "x"}), get, "htu does not match"},
		{"htu query and fragment ignored", proof(dpop.ProofFields{URL: edgeURL + "?a=1#f"}), get, ""},
		{"htu scheme and host case", proof(dpop.ProofFields{URL: "HTTPS://RS.EXAMPLE/api/photos/"}), get, ""},
		{"htu https default port", proof(dpop.ProofFields{URL: "https://rs.example:443/api/photos/"}), get, ""},
		{"htu http default port", proof(dpop.ProofFields{URL: "http://rs.example:80/x"}), dpop.Request{Method: "GET", URL: "http://rs.example/x"}, ""},
		{"htu port 80 is not https's", proof(dpop.ProofFields{URL: "https://rs.example:80/x"}), dpop.Request{Method: "GET", URL: "https://rs.example/x"}, "htu does not match"},
		{"htu port 443 is not http's", proof(dpop.ProofFields{URL: "http://rs.example:443/x"}), dpop.Request{Method: "GET", URL: "http://rs.example/x"}, "htu does not match"},
		{"htu other port kept", proof(dpop.ProofFields{URL: "https://rs.example:8443/x"}), dpop.Request{Method: "GET", URL: "https://rs.example:8443/x"}, ""},
		{"htu ports differ", proof(dpop.ProofFields{URL: "https://rs.example:8443/x"}), dpop.Request{Method: "GET", URL: "https://rs.example:9443/x"}, "htu does not match"},
		{"htu other port differs", proof(dpop.ProofFields{URL: "https://rs.example:8443/x"}), dpop.Request{Method: "GET", URL: "https://rs.example/x"}, "htu does not match"},
		{"htu empty path is /", proof(dpop.ProofFields{URL: "https://rs.example"}), dpop.Request{Method: "GET", URL: "https://rs.example/"}, ""},
		{"htu IPv6", proof(dpop.ProofFields{URL: "https://[::1]:8443/x"}), dpop.Request{Method: "GET", URL: "https://[0:0::1]:8443/x"}, "htu does not match"},
		{"htu IPv6 same", proof(dpop.ProofFields{URL: "https://[::1]:8443/x"}), dpop.Request{Method: "GET", URL: "https://[::1]:8443/x?q"}, ""},
		{"htu IPv6 port is not part of the address", proof(dpop.ProofFields{URL: "https://[::1:8443]/x"}), dpop.Request{Method: "GET", URL: "https://[::1]:8443/x"}, "htu does not match"},
		{"htu relative", proof(dpop.ProofFields{URL: "/api/photos/"}), dpop.Request{Method: "GET", URL: "/api/photos/"}, "htu does not match"},
		{"htu no host", proof(dpop.ProofFields{URL: "https:///x"}), dpop.Request{Method: "GET", URL: "https:///x"}, "htu does not match"},
		{"request URL relative", proof(dpop.ProofFields{}), dpop.Request{Method: "GET", URL: "/api/photos/"}, "htu does not match"},
		{"iat missing", signed(t, key, map[string]any{"typ": "dpop+jwt", "jwk": pub}, jwt.MapClaims{"jti": "j", "htm": "GET", "htu": edgeURL}), get, "iat is missing"},
		{"iat oldest", proof(dpop.ProofFields{IssuedAt: edgeNow.Add(-dpop.DefaultMaxAge)}), get, ""},
		{"iat too old", proof(dpop.ProofFields{IssuedAt: edgeNow.Add(-dpop.DefaultMaxAge - time.Second)}), get, "iat is outside"},
		{"iat newest", proof(dpop.ProofFields{IssuedAt: edgeNow.Add(dpop.DefaultMaxAge)}), get, ""},
		{"iat too new", proof(dpop.ProofFields{IssuedAt: edgeNow.Add(dpop.DefaultMaxAge + time.Second)}), get, "iat is outside"},
		{"jti missing", signed(t, key, map[string]any{"typ": "dpop+jwt", "jwk": pub}, jwt.MapClaims{"iat": edgeNow.Unix(), "htm": "GET", "htu": edgeURL}), get, "jti is missing"},
		{"jti longest", proof(dpop.ProofFields{JTI: strings.Repeat("j", 256)}), get, ""},
		{"jti too long", proof(dpop.ProofFields{JTI: strings.Repeat("j", 257)}), get, "jti is missing or too long"},
		{"ath", proof(dpop.ProofFields{AccessToken: "tok"}), dpop.Request{Method: "GET", URL: edgeURL, AccessToken: "tok"}, ""},
		{"ath other token", proof(dpop.ProofFields{AccessToken: "tok"}), dpop.Request{Method: "GET", URL: edgeURL, AccessToken: "tok2"}, "ath does not match"},
		{"ath missing", proof(dpop.ProofFields{}), dpop.Request{Method: "GET", URL: edgeURL, AccessToken: "tok"}, "ath does not match"},
	} {
		p, err := v.Check(tc.proof, tc.req)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want == "" && (p.JKT == "" || p.JTI == "" || !p.IssuedAt.Equal(edgeNow.Add(p.IssuedAt.Sub(edgeNow)))):
			t.Errorf("%s: accepted proof %+v", tc.name, p)
		case strings.HasPrefix(tc.want, "="):
			if !errors.Is(err, dpop.ErrInvalidProof) || dpop.Reason(err) != tc.want[1:] {
				t.Errorf("%s: err %v, want the reason %q", tc.name, err, tc.want[1:])
			}
		case tc.want != "" && (!errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(dpop.Reason(err), tc.want)):
			t.Errorf("%s: err %v, want an invalid proof with %q", tc.name, err, tc.want)
		}
	}
}

// TestVerifyOptionsAndRecord: MaxAge defaults to 60s and may not be
// negative; a proof is recorded until its iat leaves the window (plus a
// second), once; Record refuses an unchecked proof; a failing replay store
// is a server fault, not an invalid proof.
func TestVerifyOptionsAndRecord(t *testing.T) {
	if _, err := dpop.NewVerifier(dpop.Options{MaxAge: -time.Second}); err == nil {
		t.Fatal("negative MaxAge accepted")
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	store := &captureReplay{exp: map[string]time.Time{}}
	v, err := dpop.NewVerifier(dpop.Options{MaxAge: 10 * time.Second, Replay: store, Algs: []string{"EdDSA"}, Now: func() time.Time { return edgeNow }})
	if err != nil {
		t.Fatal(err)
	}
	if a := v.Algs(); len(a) != 1 || a[0] != "EdDSA" {
		t.Fatalf("Algs() = %v", a)
	}
	get := dpop.Request{Method: "GET", URL: edgeURL}
	for _, tc := range []struct {
		iat     time.Duration
		wantExp time.Duration
	}{{0, 11 * time.Second}, {-10 * time.Second, time.Second}, {10 * time.Second, 21 * time.Second}, {-4 * time.Second, 7 * time.Second}} {
		p, err := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL, IssuedAt: edgeNow.Add(tc.iat)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(context.Background(), p, get)
		if err != nil {
			t.Fatalf("iat %v: %v", tc.iat, err)
		}
		if !got.IssuedAt.Equal(edgeNow.Add(tc.iat)) || got.IssuedAt.Location() != time.UTC {
			t.Fatalf("iat %v: IssuedAt %v", tc.iat, got.IssuedAt)
		}
		if len(store.exp) == 0 {
			t.Fatal("nothing recorded")
		}
		for k, exp := range store.exp {
			if !exp.Equal(edgeNow.Add(tc.wantExp)) {
				t.Fatalf("iat %v: recorded until now%+v, want now%+v", tc.iat, exp.Sub(edgeNow), tc.wantExp)
			}
			delete(store.exp, k)
		}
	}
	p, _ := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL, IssuedAt: edgeNow.Add(-11 * time.Second)})
	if _, err := v.Check(p, get); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("MaxAge 10s: an 11s-old proof: %v", err)
	}

	for _, bad := range []*dpop.Proof{nil, {}, {JKT: "x", JTI: "y"}} {
		if err := v.Record(context.Background(), bad); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("Record(%+v) = %v, want an invalid proof", bad, err)
		}
	}
	p, _ = dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL, IssuedAt: edgeNow})
	checked, err := v.Check(p, get)
	if err != nil {
		t.Fatal(err)
	}
	store.fail = errors.New("database down")
	if err := v.Record(context.Background(), checked); err == nil || errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("a failing store gave %v, want a server error", err)
	}
	store.fail = nil
	if err := v.Record(context.Background(), checked); err != nil {
		t.Fatal(err)
	}
	if err := v.Record(context.Background(), checked); !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(dpop.Reason(err), "replay") {
		t.Fatalf("second Record: %v", err)
	}

	def, err := dpop.NewVerifier(dpop.Options{Now: func() time.Time { return edgeNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range []time.Duration{-dpop.DefaultMaxAge, dpop.DefaultMaxAge} {
		p, _ := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL, IssuedAt: edgeNow.Add(age)})
		if _, err := def.Verify(context.Background(), p, get); err != nil {
			t.Fatalf("default MaxAge, iat now%+v: %v", age, err)
		}
	}
}

// TestClientHelpers: the algorithm each key signs with, the default jti
// and iat of NewProof, ath only with an access token, and Reason of an
// error that is not an invalid proof.
func TestClientHelpers(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, alg, err := dpop.PublicJWK(p384.Public()); err != nil || alg != "ES384" {
		t.Fatalf("P-384: %s %v", alg, err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, alg, err := dpop.PublicJWK(p256.Public()); err != nil || alg != "ES256" {
		t.Fatalf("P-256: %s %v", alg, err)
	}
	if _, _, err := dpop.PublicJWK("not a key"); err == nil {
		t.Fatal("PublicJWK accepted a string")
	}
	if _, err := dpop.Thumbprint("not a key"); err == nil {
		t.Fatal("Thumbprint accepted a string")
	}
	if _, err := dpop.NewProof(p256, dpop.ProofFields{}); err != nil {
		t.Fatal(err)
	}

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	parse := func(p string) jwt.MapClaims {
		c := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(p, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := time.Now().Add(-time.Second)
	a, _ := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL})
	b, _ := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: edgeURL, AccessToken: "tok"})
	ca, cb := parse(a), parse(b)
	if ca["jti"] == "" || ca["jti"] == cb["jti"] {
		t.Fatalf("default jti %v, %v: want distinct random values", ca["jti"], cb["jti"])
	}
	if iat, _ := ca.GetIssuedAt(); iat == nil || iat.Before(before) || iat.After(time.Now().Add(time.Second)) {
		t.Fatalf("default iat %v, want now", iat)
	}
	if _, has := ca["ath"]; has {
		t.Fatal("ath without an access token")
	}
	if cb["ath"] != dpop.AccessTokenHash("tok") {
		t.Fatalf("ath %v", cb["ath"])
	}
	if r := dpop.Reason(errors.New("database down")); r != "the DPoP proof is invalid" {
		t.Fatalf("Reason of a foreign error: %q", r)
	}
}

// TestMemoryReplayStoreEdges: a zero or negative size means the default;
// expired entries are neither replays nor counted against a full store.
func TestMemoryReplayStoreEdges(t *testing.T) {
	ctx := context.Background()
	future := time.Now().Add(time.Hour)
	for _, size := range []int{0, -1} {
		m := dpop.NewMemoryReplayStore(size)
		for _, k := range []string{"a", "b", "c"} {
			if ok, err := m.Use(ctx, k, future); !ok || err != nil {
				t.Fatalf("size %d: use %s: %v %v", size, k, ok, err)
			}
		}
	}
	m := dpop.NewMemoryReplayStore(1)
	if ok, err := m.Use(ctx, "old", time.Now().Add(-time.Second)); !ok || err != nil {
		t.Fatalf("old: %v %v", ok, err)
	}
	if ok, err := m.Use(ctx, "old", future); !ok || err != nil {
		t.Fatalf("an expired entry counted as a replay: %v %v", ok, err)
	}
	m = dpop.NewMemoryReplayStore(1)
	if ok, err := m.Use(ctx, "old", time.Now().Add(-time.Second)); !ok || err != nil {
		t.Fatalf("old: %v %v", ok, err)
	}
	if ok, err := m.Use(ctx, "new", future); !ok || err != nil {
		t.Fatalf("a full store of expired entries refused a new one: %v %v", ok, err)
	}
	if ok, err := m.Use(ctx, "newer", future); ok || err == nil {
		t.Fatal("a store full of live entries accepted another")
	}
}
