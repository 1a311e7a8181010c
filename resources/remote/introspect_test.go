package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// mint returns a well-formed random vendor_checksum value "<prefix>_" +
// n base62 characters + checksum, as authgate issues them.
func mint(t testing.TB, prefix string, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		r, err := rand.Int(rand.Reader, big.NewInt(62))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = tokenformat.Alphabet[r.Int64()]
	}
	sum := tokenformat.Checksum(b)
	return prefix + "_" + string(b) + string(sum[:])
}

func opaqueAT(t testing.TB) string { return mint(t, tokenformat.PrefixAccessToken, 43) }
func apiToken(t testing.TB) string { return mint(t, "agp", 30) }

func (s *issuerServer) set(tok string, res map[string]any) {
	s.mu.Lock()
	s.intro[tok] = res
	s.mu.Unlock()
}

func newJWKS(t testing.TB, srv *issuerServer) *remote.JWKSValidator {
	t.Helper()
	v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newIntrospector(t testing.TB, srv *issuerServer, mod func(*remote.IntrospectorOptions)) *remote.Introspector {
	t.Helper()
	o := remote.IntrospectorOptions{URL: srv.URL + "/oauth/introspect", ClientID: "rs_1", ClientSecret: "s3cret"}
	if mod != nil {
		mod(&o)
	}
	in, err := remote.NewIntrospector(o)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestIntrospector(t *testing.T) {
	srv := newIssuer(t)
	exp := time.Now().Add(time.Hour).Unix()
	live, refresh, expired := opaqueAT(t), mint(t, "agrt", 43), opaqueAT(t)
	apiTok, noPolicy := apiToken(t), apiToken(t)
	srv.set(live, map[string]any{"active": true, "token_type": "Bearer", "client_id": "agci_app", "sub": "7", "username": "alice", "scope": "photos:read photos:write", "exp": exp, "aud": "https://photos.example", "jti": "agat_liv"})
	srv.set(refresh, map[string]any{"active": true, "token_type": "refresh_token", "client_id": "agci_app", "sub": "7", "exp": exp})
	srv.set(apiTok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "exp": exp, "api_token_id": "12", "deprecated": false,
		"policy": map[string]any{"resources": map[string]any{"photos": map[string]any{"*": map[string]any{"block": []string{"DELETE"}}}}}})
	srv.set(noPolicy, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice"})
	srv.set(expired, map[string]any{"active": true, "token_type": "Bearer", "client_id": "c", "sub": "7", "exp": time.Now().Add(-time.Minute).Unix()})

	now := time.Now()
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	bt, err := in.ValidateBearer(ctx, live)
	if err != nil || bt.UserID != 7 || bt.Username != "alice" || !bt.Scopes.Has("photos:write") || len(bt.Audience) != 1 {
		t.Fatalf("live: %+v %v", bt, err)
	}
	for _, tok := range []string{refresh, opaqueAT(t), expired, apiTok} {
		if _, err := in.ValidateBearer(ctx, tok); !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("%s: %v", tok[:9], err)
		}
	}
	// Cached: repeated validation makes no new call until the TTL.
	hits := srv.introHits.Load()
	for range 5 {
		if _, err := in.ValidateBearer(ctx, live); err != nil {
			t.Fatal(err)
		}
	}
	if srv.introHits.Load() != hits {
		t.Fatalf("cache missed: %d -> %d", hits, srv.introHits.Load())
	}
	now = now.Add(remote.DefaultAccessTokenTTL + time.Second)
	srv.set(live, map[string]any{"active": false}) // revoked
	if _, err := in.ValidateBearer(ctx, live); !errors.Is(err, resources.ErrBearerInvalid) {
		t.Fatalf("revocation not seen after the TTL: %v", err)
	}

	// API tokens.
	a, err := in.AuthenticateAPIToken(ctx, apiTok)
	if err != nil || a.User.ID != 7 || a.User.Username != "alice" || a.Token.ID != 12 || a.Token.Prefix != apiTok[:8] || a.Token.Expires == nil {
		t.Fatalf("api token: %+v %v", a, err)
	}
	if a.Policy.Decide("photos", "DELETE", "").Allowed || !a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatal("policy not applied")
	}
	if a, err := in.AuthenticateAPIToken(ctx, noPolicy); err != nil || a.Policy.Decide("photos", "GET", "").Allowed {
		t.Fatalf("a response without a policy must deny: %v", err)
	}
	var te *resources.TokenError
	if _, err := in.AuthenticateAPIToken(ctx, apiToken(t)); !errors.As(err, &te) || !errors.Is(err, resources.ErrTokenUnknown) {
		t.Fatalf("unknown api token: %v", err)
	}

	// Wrong client credentials are a server-side fault, never "invalid".
	bad := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.ClientSecret = "wrong" })
	tok := opaqueAT(t)
	if _, err := bad.ValidateBearer(ctx, tok); err == nil || errors.Is(err, resources.ErrBearerInvalid) || errors.Is(err, resources.ErrUnavailable) || strings.Contains(err.Error(), tok) {
		t.Fatalf("bad client: %v", err)
	}
}

// A malformed credential never reaches the authorization server.
func TestMalformedRefusedLocally(t *testing.T) {
	srv := newIssuer(t)
	in := newIntrospector(t, srv, nil)
	ctx := context.Background()
	good := apiToken(t)
	corrupt := good[:len(good)-1] + string("01"[map[bool]int{true: 1}[good[len(good)-1] == '0']])
	for _, raw := range []string{"agp_short", corrupt, "junk", strings.Repeat("z", 40), "xyz_" + good[4:], opaqueAT(t)} {
		if _, err := in.AuthenticateAPIToken(ctx, raw); !errors.Is(err, resources.ErrTokenMalformed) {
			t.Errorf("api token %q: %v", raw, err)
		}
	}
	at := opaqueAT(t)
	for _, raw := range []string{at[:len(at)-1] + "!", "agat_" + strings.Repeat("a", 49), "a.b", "not-a-token", "a..c", apiToken(t)} {
		if _, err := in.ValidateBearer(ctx, raw); !errors.Is(err, resources.ErrBearerInvalid) {
			t.Errorf("access token %q: %v", raw, err)
		}
	}
	if n := srv.introHits.Load(); n != 0 {
		t.Fatalf("%d introspection calls for malformed credentials; want 0", n)
	}
}

// Identical concurrent lookups make one call; a refusal is remembered.
func TestSingleflightAndNegativeCache(t *testing.T) {
	srv := newIssuer(t)
	release := make(chan struct{})
	srv.delay = release
	in := newIntrospector(t, srv, nil)
	tok := opaqueAT(t)
	srv.set(tok, map[string]any{"active": true, "token_type": "Bearer", "client_id": "agci_app", "sub": "7", "scope": "photos:read", "exp": time.Now().Add(time.Hour).Unix()})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := in.ValidateBearer(context.Background(), tok)
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them pile up on the one call
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.introHits.Load(); n != 1 {
		t.Fatalf("%d calls for 20 concurrent identical lookups; want 1", n)
	}
	unknown := apiToken(t)
	for range 5 {
		_, _ = in.AuthenticateAPIToken(context.Background(), unknown)
	}
	if n := srv.introHits.Load(); n != 2 {
		t.Fatalf("%d calls; an inactive answer must be cached", n)
	}
}

// The cache lifetime of an API token is bounded (default 10 s).
func TestAPITokenCacheBounded(t *testing.T) {
	srv := newIssuer(t)
	now := time.Now()
	in := newIntrospector(t, srv, func(o *remote.IntrospectorOptions) { o.Now = func() time.Time { return now } })
	tok := apiToken(t)
	srv.set(tok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": map[string]any{}})
	if _, err := in.AuthenticateAPIToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	srv.set(tok, map[string]any{"active": false, "token_type": "api_token", "inactive_reason": "invalid",
		"error_description": "This API token became invalid on Aug. 2, 2022, 10:45 a.m.: leaked"})
	now = now.Add(remote.DefaultAPITokenTTL - time.Second)
	if _, err := in.AuthenticateAPIToken(context.Background(), tok); err != nil {
		t.Fatalf("within the TTL the cached answer is used: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := in.AuthenticateAPIToken(context.Background(), tok); !errors.Is(err, resources.ErrTokenInvalidated) {
		t.Fatalf("after %v the invalidation must be seen: %v", remote.DefaultAPITokenTTL, err)
	}
	if remote.DefaultAPITokenTTL > 10*time.Second {
		t.Fatal("the default API-token TTL must be at most 10s")
	}
}

func TestNewIntrospectorRefusesBadConfig(t *testing.T) {
	for _, o := range []remote.IntrospectorOptions{
		{ClientID: "rs"},
		{URL: "auth.example/oauth/introspect", ClientID: "rs"},
		{URL: "https://auth.example/oauth/introspect"},
		{URL: "https://auth.example/oauth/introspect", ClientID: "rs", MaxEntries: -1},
		{URL: "https://auth.example/oauth/introspect", ClientID: "rs", APITokenTypes: []string{"agp_"}},
	} {
		if _, err := remote.NewIntrospector(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := remote.NewJWKSValidator(remote.JWKSOptions{}); err == nil {
		t.Error("JWKS validator without issuer accepted")
	}
	if _, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, MaxAge: -1}); err == nil {
		t.Error("negative MaxAge accepted")
	}
}

// remoteGuard is a resource server's Guard built from the remote
// validators, on a gin router serving GET and POST /photos/.
func remoteGuard(t *testing.T, srv *issuerServer, mod func(*remote.IntrospectorOptions)) (*gin.Engine, ed25519.PrivateKey) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k", k.Public())
	jv, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	in := newIntrospector(t, srv, mod)
	g, err := resources.NewGuard(resources.GuardConfig{Bearer: jv, Tokens: in, Audience: "https://photos.example", NoFailedAuthLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	h := g.Protect(resources.Resource{Name: "photos"})
	ok := func(c *gin.Context) { c.JSON(200, gin.H{"stat": "ok"}) }
	r.GET("/photos/", h, ok)
	r.POST("/photos/", h, ok)
	return r, k
}

type result struct {
	status int
	code   int
	msg    string
	header http.Header
}

func do(r http.Handler, method, authz string) result {
	req := httptest.NewRequest(method, "/photos/", nil)
	req.Header.Set("Authorization", authz)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	var body struct {
		Err struct {
			Code int
			Msg  string
		} `json:"err"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return result{w.Code, body.Err.Code, body.Err.Msg, w.Header()}
}

// TestRemoteGuard: scopes, policies, audience and Djblets' messages at a
// distance are the same as authgate's own.
func TestRemoteGuard(t *testing.T) {
	srv := newIssuer(t)
	r, k := remoteGuard(t, srv, nil)
	ro, expired, invalid, old, legacy := apiToken(t), apiToken(t), apiToken(t), apiToken(t), "0123456789abcdef0123456789abcdef01234567"
	readOnly := map[string]any{"resources": map[string]any{"*": map[string]any{"allow": []string{"GET"}, "block": []string{"*"}}}}
	srv.set(ro, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": readOnly, "deprecated": false})
	srv.set(legacy, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": readOnly, "deprecated": true})
	srv.set(expired, map[string]any{"active": false, "token_type": "api_token", "inactive_reason": "expired",
		"error_description": "This API token expired on Aug. 2, 2022, 10:45 a.m.."})
	srv.set(invalid, map[string]any{"active": false, "token_type": "api_token", "inactive_reason": "invalid",
		"error_description": "This API token became invalid on Aug. 2, 2022, 10:45 a.m.: leaked"})
	srv.set(old, map[string]any{"active": false})          // an older server: no reason
	jwtTok := sign(t, jwt.SigningMethodEdDSA, k, "k", nil) // scope photos:read, aud photos
	otherAud := sign(t, jwt.SigningMethodEdDSA, k, "k", func(c *claims, _ map[string]any) { c.Audience = jwt.ClaimStrings{issuer} })
	tests := []struct {
		name, method, authz string
		status, code        int
		msg, deprecated     string
	}{
		{"jwt read", "GET", "Bearer " + jwtTok, 200, 0, "", ""},
		{"jwt write without scope", "POST", "Bearer " + jwtTok, 403, 112, "", ""},
		{"jwt for another audience", "GET", "Bearer " + otherAud, 401, 104, "The OAuth2 access token is not meant for this server.", ""},
		{"api token read", "GET", "token " + ro, 200, 0, "", ""},
		{"api token write blocked", "POST", "token " + ro, 403, 101, "", ""},
		{"unknown api token", "GET", "token " + apiToken(t), 401, 104, "The username or password was not correct", ""},
		{"malformed api token", "GET", "token agp_nope", 401, 104, "The API token is malformed: its format or checksum is wrong.", ""},
		{"expired api token", "GET", "token " + expired, 401, 104, "This API token expired on Aug. 2, 2022, 10:45 a.m..", ""},
		{"invalidated api token", "GET", "token " + invalid, 401, 104, "This API token became invalid on Aug. 2, 2022, 10:45 a.m.: leaked", ""},
		{"older server, no reason", "GET", "token " + old, 401, 104, "The username or password was not correct", ""},
		{"deprecated format", "GET", "token " + legacy, 200, 0, "", resources.DeprecatedTokenMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(r, tc.method, tc.authz)
			if got.status != tc.status || got.code != tc.code || tc.msg != "" && got.msg != tc.msg {
				t.Fatalf("%d %d %q", got.status, got.code, got.msg)
			}
			if d := got.header.Get(resources.DeprecatedTokenHeader); d != tc.deprecated {
				t.Fatalf("%s: %q", resources.DeprecatedTokenHeader, d)
			}
		})
	}
}

// The Guard refuses a remote validator without an audience to check.
func TestRemoteGuardNeedsAudience(t *testing.T) {
	jv, _ := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer})
	if _, err := resources.NewGuard(resources.GuardConfig{Bearer: jv}); err == nil {
		t.Fatal("a Guard with a JWKS validator and no Audience was built")
	}
}

// An unavailable authorization server is a 503 with Retry-After for
// uncached credentials, never a 500; cached ones keep working; and after a
// 429 the Introspector stops asking until Retry-After has passed.
func TestUnavailable503(t *testing.T) {
	srv := newIssuer(t)
	r, _ := remoteGuard(t, srv, func(o *remote.IntrospectorOptions) { o.Timeout = 200 * time.Millisecond })
	cachedTok := apiToken(t)
	srv.set(cachedTok, map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice", "policy": map[string]any{}})
	if got := do(r, "GET", "token "+cachedTok); got.status != 200 {
		t.Fatalf("warm-up: %+v", got)
	}
	check := func(name string, wantRetry string) {
		t.Helper()
		got := do(r, "GET", "token "+apiToken(t))
		if got.status != 503 || got.code != resources.CodeUnavailable || got.header.Get("Retry-After") != wantRetry ||
			got.msg != "The authorization server is unavailable; try again later." {
			t.Fatalf("%s: %d %d %q Retry-After %q", name, got.status, got.code, got.msg, got.header.Get("Retry-After"))
		}
		if got := do(r, "GET", "token "+cachedTok); got.status != 200 {
			t.Fatalf("%s: a cached token must keep working: %+v", name, got)
		}
	}
	srv.status.Store(http.StatusInternalServerError)
	check("500", "5")
	srv.status.Store(http.StatusBadGateway)
	check("502", "5")
	srv.stall.Store(true)
	srv.status.Store(0)
	check("timeout", "5")
	srv.stall.Store(false)

	srv.status.Store(http.StatusTooManyRequests)
	srv.retryAfter.Store("7")
	check("429", "7")
	// Backing off: no call reaches the server until Retry-After passes.
	hits := srv.introHits.Load()
	srv.status.Store(0)
	for range 10 {
		if got := do(r, "GET", "token "+apiToken(t)); got.status != 503 {
			t.Fatalf("during back-off: %+v", got)
		}
	}
	if n := srv.introHits.Load() - hits; n != 0 {
		t.Fatalf("%d calls during the back-off", n)
	}

	// A JWT whose key cannot be fetched: 503 too.
	srv.failJWKS.Store(true)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	if got := do(r, "GET", "Bearer "+sign(t, jwt.SigningMethodEdDSA, k2, "k2", nil)); got.status != 503 || got.code != resources.CodeUnavailable || got.header.Get("Retry-After") == "" {
		t.Fatalf("JWKS down: %+v", got)
	}

	// Unreachable.
	srv.Close()
	srv2 := newIssuer(t)
	r2, _ := remoteGuard(t, srv2, nil)
	srv2.Close()
	if got := do(r2, "GET", "token "+apiToken(t)); got.status != 503 || got.header.Get("Retry-After") == "" {
		t.Fatalf("unreachable: %+v", got)
	}
}
