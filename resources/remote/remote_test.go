package remote_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

const issuer = "https://auth.example"

// issuerServer is a fake authgate: JWKS and introspection endpoints over
// real HTTP, with keys the test controls.
type issuerServer struct {
	*httptest.Server
	mu          sync.Mutex
	keys        map[string]any // kid -> public key
	jwksHits    atomic.Int32
	introHits   atomic.Int32
	intro       map[string]map[string]any // token -> response
	failJWKS    atomic.Bool
	status      atomic.Int32  // when set, introspection answers this status
	retryAfter  atomic.Value  // string Retry-After with status
	stall       atomic.Bool   // when set, introspection hangs until the client gives up
	delay       chan struct{} // when set, introspection waits for it to close
	clientID    string
	clientToken string
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newIssuer(t testing.TB) *issuerServer {
	s := &issuerServer{keys: map[string]any{}, intro: map[string]map[string]any{}, clientID: "rs_1", clientToken: "s3cret"}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		s.jwksHits.Add(1)
		if s.failJWKS.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var keys []map[string]string
		for kid, k := range s.keys {
			switch k := k.(type) {
			case ed25519.PublicKey:
				keys = append(keys, map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": b64(k)})
			case *rsa.PublicKey:
				keys = append(keys, map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
			case *ecdsa.PublicKey:
				raw, _ := k.Bytes()
				keys = append(keys, map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": b64(raw[1:33]), "y": b64(raw[33:])})
			case map[string]string: // a JWK as written, for the key rules
				k["kid"] = kid
				keys = append(keys, k)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	mux.HandleFunc("/oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		s.introHits.Add(1)
		if s.delay != nil {
			<-s.delay
		}
		if s.stall.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		if st := s.status.Load(); st != 0 {
			if ra, _ := s.retryAfter.Load().(string); ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			http.Error(w, `{"error":"unavailable"}`, int(st))
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != s.clientID || secret != s.clientToken {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		res, ok := s.intro[r.PostFormValue("token")]
		s.mu.Unlock()
		if !ok {
			res = map[string]any{"active": false}
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *issuerServer) publish(kid string, pub any) {
	s.mu.Lock()
	s.keys[kid] = pub
	s.mu.Unlock()
}

type claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

func sign(t testing.TB, m jwt.SigningMethod, key crypto.Signer, kid string, mod func(*claims, map[string]any)) string {
	t.Helper()
	now := time.Now()
	c := claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: "42", Audience: jwt.ClaimStrings{"https://photos.example"},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-1",
	}, ClientID: "agci_app", Scope: "photos:read"}
	tok := jwt.NewWithClaims(m, &c)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = kid
	if mod != nil {
		mod(&c, tok.Header)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKSValidator(t *testing.T) {
	srv := newIssuer(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("ed", edKey.Public())
	srv.publish("rsa", rsaKey.Public())
	srv.publish("ec", ecKey.Public())

	v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		invalid bool
		check   func(t *testing.T, bt *resources.BearerToken)
	}{
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", nil), false, func(t *testing.T, bt *resources.BearerToken) {
			if bt.UserID != 42 || bt.ClientID != "agci_app" || !bt.Scopes.Has("photos:read") || bt.TokenID != "jti-1" {
				t.Fatalf("%+v", bt)
			}
		}},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa", nil), false, nil},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, "ec", nil), false, nil},
		{"client credentials (sub = client)", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Subject = "agci_app" }), false, func(t *testing.T, bt *resources.BearerToken) {
			if bt.UserID != 0 {
				t.Fatalf("%+v", bt)
			}
		}},
		{"forged signature", sign(t, jwt.SigningMethodEdDSA, otherKey, "ed", nil), true, nil},
		{"key of another algorithm (ES256 header, EdDSA kid)", sign(t, jwt.SigningMethodES256, ecKey, "ed", nil), true, nil},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, edKey, "nope", nil), true, nil},
		{"wrong issuer", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Issuer = "https://evil" }), true, nil},
		{"audience is reported, for the Guard to check", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Audience = jwt.ClaimStrings{"https://other"} }), false, func(t *testing.T, bt *resources.BearerToken) {
			if len(bt.Audience) != 1 || bt.Audience[0] != "https://other" {
				t.Fatalf("%+v", bt)
			}
		}},
		{"expired", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }), true, nil},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.ExpiresAt = nil }), true, nil},
		{"typ JWT (an ID token, say)", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(_ *claims, h map[string]any) { h["typ"] = "JWT" }), true, nil},
		{"numeric-looking bad sub", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Subject = "alice" }), true, nil},
		{"bad scope claim", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Scope = "a  b" }), true, nil},
		{"not a JWT", "agat_opaque", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bt, err := v.ValidateBearer(context.Background(), tc.token)
			if tc.invalid {
				if !errors.Is(err, resources.ErrBearerInvalid) {
					t.Fatalf("err = %v; want ErrBearerInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, bt)
			}
		})
	}
	// The "alg":"none" and HS256-with-public-key attacks.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuer, "aud": "https://photos.example", "exp": time.Now().Add(time.Hour).Unix(), "sub": "42", "client_id": "x"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuer, "aud": "https://photos.example", "exp": time.Now().Add(time.Hour).Unix(), "sub": "42", "client_id": "x"})
	hs.Header["kid"], hs.Header["typ"] = "ed", "at+jwt"
	hsTok, _ := hs.SignedString([]byte(edKey.Public().(ed25519.PublicKey)))
	for _, tok := range []string{none, hsTok} {
		if _, err := v.ValidateBearer(context.Background(), tok); !errors.Is(err, resources.ErrBearerInvalid) {
			t.Fatalf("algorithm attack accepted: %v", err)
		}
	}
	// Unknown kids cannot hammer the issuer: one fetch per MinRefetch.
	if n := srv.jwksHits.Load(); n > 2 {
		t.Fatalf("JWKS fetched %d times", n)
	}
}

// TestJWKSKeyRules: keys the shared JWK rules refuse are ignored (RFC 7517
// §5), so tokens signed with them are invalid, even when the signature
// would verify. Each JWK here is one the old remote parser accepted.
func TestJWKSKeyRules(t *testing.T) {
	srv := newIssuer(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	n, e := b64(rsaKey.N.Bytes()), b64(big.NewInt(int64(rsaKey.E)).Bytes())
	x := b64(edKey.Public().(ed25519.PublicKey))
	srv.publish("good", map[string]string{"kty": "RSA", "alg": "RS256", "n": n, "e": e})
	srv.publish("private", map[string]string{"kty": "RSA", "alg": "RS256", "n": n, "e": e, "d": b64(rsaKey.D.Bytes())})
	srv.publish("leading-zero", map[string]string{"kty": "RSA", "alg": "RS256", "n": b64(append([]byte{0}, rsaKey.N.Bytes()...)), "e": e})
	srv.publish("line-break", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x[:8] + "\n" + x[8:]})
	srv.publish("ed", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x})
	v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kid string
		m   jwt.SigningMethod
		key crypto.Signer
		ok  bool
	}{
		{"good", jwt.SigningMethodRS256, rsaKey, true},
		{"ed", jwt.SigningMethodEdDSA, edKey, true},
		{"private", jwt.SigningMethodRS256, rsaKey, false},
		{"leading-zero", jwt.SigningMethodRS256, rsaKey, false},
		{"line-break", jwt.SigningMethodEdDSA, edKey, false},
	} {
		_, err := v.ValidateBearer(context.Background(), sign(t, tc.m, tc.key, tc.kid, nil))
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.kid, err)
		}
		if !tc.ok && !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("%s: key accepted (err %v)", tc.kid, err)
		}
	}
}

func TestJWKSRotationAndOutage(t *testing.T) {
	srv := newIssuer(t)
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k1", k1.Public())
	start := time.Now()
	var offset atomic.Int64 // the background refresh reads the clock
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	now := start
	v, _ := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer,
		JWKSURL: srv.URL + "/oauth/jwks.json", MinRefetch: time.Minute, MaxAge: time.Hour, Now: clock})
	ctx := context.Background()
	mustValid := func(tok string) {
		t.Helper()
		if _, err := v.ValidateBearer(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	longLived := func(c *claims, _ map[string]any) { c.ExpiresAt = jwt.NewNumericDate(now.Add(24 * time.Hour)) }
	t1 := sign(t, jwt.SigningMethodEdDSA, k1, "k1", longLived)
	mustValid(t1)
	mustValid(t1)
	if srv.jwksHits.Load() != 1 {
		t.Fatalf("hits = %d; keys are cached", srv.jwksHits.Load())
	}
	// Rotation: k2 is published; its first token triggers one refetch
	// (after MinRefetch since the last fetch).
	srv.publish("k2", k2.Public())
	advance(2 * time.Minute)
	mustValid(sign(t, jwt.SigningMethodEdDSA, k2, "k2", nil))
	if srv.jwksHits.Load() != 2 {
		t.Fatalf("hits = %d after rotation", srv.jwksHits.Load())
	}
	// An outage after MaxAge: known keys keep working, and the failed
	// refresh is throttled like a successful one: many validations, at
	// most one fetch per MinRefetch.
	srv.failJWKS.Store(true)
	advance(2 * time.Hour)
	before := srv.jwksHits.Load()
	for range 50 {
		mustValid(t1)
		waitIdle(v)
	}
	if n := srv.jwksHits.Load() - before; n > 1 {
		t.Fatalf("%d JWKS fetches during an outage within MinRefetch; want at most 1", n)
	}
	// An unknown kid during the outage cannot be checked: unavailable
	// (503), not an invalid token.
	_, k3, _ := ed25519.GenerateKey(rand.Reader)
	advance(2 * time.Hour)
	_, err := v.ValidateBearer(ctx, sign(t, jwt.SigningMethodEdDSA, k3, "k3", longLived))
	if !errors.Is(err, resources.ErrUnavailable) {
		t.Fatalf("outage error = %v; want resources.ErrUnavailable", err)
	}
	before = srv.jwksHits.Load()
	for range 20 {
		if _, err := v.ValidateBearer(ctx, sign(t, jwt.SigningMethodEdDSA, k3, "k3", longLived)); !errors.Is(err, resources.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if n := srv.jwksHits.Load() - before; n != 0 {
		t.Fatalf("%d fetches for unknown kids within MinRefetch of a failed fetch", n)
	}
	mustValid(t1)
}

// waitIdle waits for a background JWKS refresh to finish, so that fetch
// counts are deterministic.
func waitIdle(v *remote.JWKSValidator) {
	for i := 0; i < 1000 && remote.Refreshing(v); i++ {
		time.Sleep(time.Millisecond)
	}
}
