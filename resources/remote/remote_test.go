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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
	"github.com/authgate/authgate/tokens"
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
	clientID    string
	clientToken string
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newIssuer(t *testing.T) *issuerServer {
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
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	mux.HandleFunc("/oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		s.introHits.Add(1)
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

func sign(t *testing.T, m jwt.SigningMethod, key crypto.Signer, kid string, mod func(*claims, map[string]any)) string {
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

	v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, Audience: "https://photos.example", JWKSURL: srv.URL + "/oauth/jwks.json"})
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
		{"wrong audience", sign(t, jwt.SigningMethodEdDSA, edKey, "ed", func(c *claims, _ map[string]any) { c.Audience = jwt.ClaimStrings{"https://other"} }), true, nil},
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

func TestJWKSRotationAndOutage(t *testing.T) {
	srv := newIssuer(t)
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k1", k1.Public())
	now := time.Now()
	clock := func() time.Time { return now }
	v, _ := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, Audience: "https://photos.example",
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
	now = now.Add(2 * time.Minute)
	mustValid(sign(t, jwt.SigningMethodEdDSA, k2, "k2", nil))
	if srv.jwksHits.Load() != 2 {
		t.Fatalf("hits = %d after rotation", srv.jwksHits.Load())
	}
	// An outage after MaxAge: known keys keep working; the error for an
	// unknown kid is a server fault, not ErrBearerInvalid.
	srv.failJWKS.Store(true)
	now = now.Add(2 * time.Hour)
	mustValid(t1)
	_, k3, _ := ed25519.GenerateKey(rand.Reader)
	now = now.Add(2 * time.Hour)
	_, err := v.ValidateBearer(ctx, sign(t, jwt.SigningMethodEdDSA, k3, "k3", longLived))
	if err == nil || errors.Is(err, resources.ErrBearerInvalid) {
		t.Fatalf("outage error = %v", err)
	}
}

func TestIntrospector(t *testing.T) {
	srv := newIssuer(t)
	exp := time.Now().Add(time.Hour).Unix()
	srv.intro["agat_live"] = map[string]any{"active": true, "token_type": "Bearer", "client_id": "agci_app", "sub": "7", "username": "alice", "scope": "photos:read photos:write", "exp": exp, "aud": "https://photos.example", "jti": "agat_liv"}
	srv.intro["agrt_refresh"] = map[string]any{"active": true, "token_type": "refresh_token", "client_id": "agci_app", "sub": "7", "exp": exp}
	srv.intro["agp_apitoken"] = map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "exp": exp,
		"policy": map[string]any{"resources": map[string]any{"photos": map[string]any{"*": map[string]any{"block": []string{"DELETE"}}}}}}
	srv.intro["agp_nopolicy"] = map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice"}
	srv.intro["agat_expired"] = map[string]any{"active": true, "token_type": "Bearer", "client_id": "c", "sub": "7", "exp": time.Now().Add(-time.Minute).Unix()}

	now := time.Now()
	in, err := remote.NewIntrospector(remote.IntrospectorOptions{URL: srv.URL + "/oauth/introspect", ClientID: "rs_1", ClientSecret: "s3cret", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bt, err := in.ValidateBearer(ctx, "agat_live")
	if err != nil || bt.UserID != 7 || bt.Username != "alice" || !bt.Scopes.Has("photos:write") || len(bt.Audience) != 1 {
		t.Fatalf("live: %+v %v", bt, err)
	}
	for _, tok := range []string{"agrt_refresh", "agat_unknown", "agat_expired", "agp_apitoken"} {
		if _, err := in.ValidateBearer(ctx, tok); !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("%s: %v", tok, err)
		}
	}
	// Cached: repeated validation makes no new call until CacheTTL.
	hits := srv.introHits.Load()
	for range 5 {
		if _, err := in.ValidateBearer(ctx, "agat_live"); err != nil {
			t.Fatal(err)
		}
	}
	if srv.introHits.Load() != hits {
		t.Fatalf("cache missed: %d -> %d", hits, srv.introHits.Load())
	}
	now = now.Add(31 * time.Second)
	srv.mu.Lock()
	srv.intro["agat_live"] = map[string]any{"active": false} // revoked
	srv.mu.Unlock()
	if _, err := in.ValidateBearer(ctx, "agat_live"); !errors.Is(err, resources.ErrBearerInvalid) {
		t.Fatalf("revocation not seen after CacheTTL: %v", err)
	}

	// API tokens.
	a, err := in.Authenticate(ctx, "agp_apitoken")
	if err != nil || a.User.ID != 7 || a.User.Username != "alice" {
		t.Fatalf("api token: %+v %v", a, err)
	}
	if a.Policy.Decide("photos", "DELETE", "").Allowed || !a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatal("policy not applied")
	}
	if a, err := in.Authenticate(ctx, "agp_nopolicy"); err != nil || a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatalf("a response without a policy must deny: %v", err)
	}
	var ae *tokens.AuthError
	if _, err := in.Authenticate(ctx, "agat_expired"); !errors.As(err, &ae) || !errors.Is(err, tokens.ErrTokenNotFound) {
		t.Fatalf("inactive api token: %v", err)
	}

	// Wrong client credentials are a server-side fault, never "invalid".
	bad, _ := remote.NewIntrospector(remote.IntrospectorOptions{URL: srv.URL + "/oauth/introspect", ClientID: "rs_1", ClientSecret: "wrong"})
	if _, err := bad.ValidateBearer(ctx, "agat_live2"); err == nil || errors.Is(err, resources.ErrBearerInvalid) || strings.Contains(err.Error(), "agat_live2") {
		t.Fatalf("bad client: %v", err)
	}
}

// TestRemoteGuard: a resource server's Guard built from the remote
// validators enforces scopes and API-token policies like authgate's.
func TestRemoteGuard(t *testing.T) {
	gin.SetMode(gin.TestMode)
	srv := newIssuer(t)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k", k.Public())
	srv.intro["agp_ro"] = map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice",
		"policy": map[string]any{"resources": map[string]any{"*": map[string]any{"allow": []string{"GET"}, "block": []string{"*"}}}}}
	jv, _ := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, Audience: "https://photos.example", JWKSURL: srv.URL + "/oauth/jwks.json"})
	in, _ := remote.NewIntrospector(remote.IntrospectorOptions{URL: srv.URL + "/oauth/introspect", ClientID: "rs_1", ClientSecret: "s3cret"})
	g := resources.NewGuard(resources.GuardConfig{Bearer: jv, Tokens: in})
	r := gin.New()
	h := g.Protect(resources.Resource{Name: "photos"})
	ok := func(c *gin.Context) { c.JSON(200, gin.H{"stat": "ok"}) }
	r.GET("/photos/", h, ok)
	r.POST("/photos/", h, ok)
	jwtTok := sign(t, jwt.SigningMethodEdDSA, k, "k", nil) // scope photos:read
	tests := []struct {
		name, method, authz string
		status, code        int
	}{
		{"jwt read", "GET", "Bearer " + jwtTok, 200, 0},
		{"jwt write without scope", "POST", "Bearer " + jwtTok, 403, 112},
		{"api token read", "GET", "token agp_ro", 200, 0},
		{"api token write blocked", "POST", "token agp_ro", 403, 101},
		{"unknown api token", "GET", "token agp_nope", 401, 104},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/photos/", nil)
			req.Header.Set("Authorization", tc.authz)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			var body struct {
				Err struct{ Code int } `json:"err"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || body.Err.Code != tc.code {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}
}
