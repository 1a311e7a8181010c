package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
)

// Tests for the items of docs/security.md, "RFC 9700 and OAuth 2.1 rules";
// docs/security.md, "Token formats" that the
// authorization server core owns. (Browser rules — 303, anti-clickjacking,
// no CORS on /oauth/authorize — are the web pages' tests; the closing note
// maps every item to its test.)

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": redirect URIs
// matched by exact string comparison; the only
// exception is the loopback port (RFC 8252); http refused except loopback.
func TestChecklist_RedirectURIExactMatchLoopbackPortOnly(t *testing.T) {
	reg := []string{"https://app.example.com/cb", "http://127.0.0.1/native", "http://[::1]:8080/v6", "http://localhost/l", "com.example.app:/cb"}
	cases := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/cb", true},
		{"https://app.example.com/cb/", false},
		{"https://app.example.com/CB", false},
		{"https://app.example.com/cb?x=1", false},
		{"https://app.example.com:443/cb", false},
		{"http://app.example.com/cb", false},
		{"https://evil.app.example.com/cb", false},
		{"https://app.example.com.evil/cb", false},
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:49152/native", true},
		{"http://127.0.0.1:49152/native?x", false},
		{"http://127.0.0.1:49152/other", false},
		{"http://127.0.0.2:49152/native", false},
		{"https://127.0.0.1:49152/native", false},
		{"http://user@127.0.0.1:49152/native", false},
		{"http://127.0.0.1:49152/native#f", false},
		{"http://127.0.0.1:abc/native", false},
		{"http://[::1]:1/v6", true},
		{"http://localhost/l", true},
		// RFC 8252 §7.3 grants the any-port exception to loopback IP
		// literals; localhost is NOT RECOMMENDED (§8.3) and matched exactly.
		{"http://localhost:5000/l", false},
		{"http://127.0.0.1:99999/native", false},
		{"http://127.0.0.1:65535/native", true},
		{"http://127.0.0.1:5000/l", false},
		{"com.example.app:/cb", true},
		{"com.example.app:/cb2", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := authserver.MatchRedirectURI(reg, tc.uri); got != tc.want {
			t.Errorf("MatchRedirectURI(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example.com/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://localhost/cb", true},
		{"http://[::1]/cb", true},
		{"com.example.app:/oauth", true},
		{"http://app.example.com/cb", false},
		{"http://10.0.0.1/cb", false},
		{"myapp:/cb", false},
		{"https://app.example.com/cb#x", false},
		{"https://*.example.com/cb", false},
		{"https://u:p@app.example.com/cb", false},
		{"/cb", false},
		{"https:///cb", false},
	} {
		if err := authserver.ValidateRedirectURI(tc.uri); (err == nil) != tc.ok {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok=%v", tc.uri, err, tc.ok)
		}
	}
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": PKCE supported and
// enforced, S256 only by default, advertised,
// verifier without challenge refused, constant challenges spotted.
func TestChecklist_PKCE(t *testing.T) {
	eachHarness(t, func(c *authserver.Config) { c.AllowConfidentialWithoutPKCE = true }, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		if got := h.s.Metadata().CodeChallengeMethodsSupported; len(got) != 1 || got[0] != "S256" {
			t.Fatalf("code_challenge_methods_supported %v", got)
		}
		v, ch := pkce()
		expectError(t, h.exchange(c, secret, h.mustCode(codeReq{client: c, scope: "test:read"}), v), http.StatusBadRequest, "invalid_grant")
		if _, err := h.mintCode(codeReq{client: c, scope: "test:read", challenge: v, method: "plain"}); err == nil {
			t.Fatal("plain accepted by default")
		}
		code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
		if _, err := h.mintCode(codeReq{client: c, scope: "test:read", challenge: ch}); err == nil {
			t.Fatal("a repeated (constant) challenge was accepted")
		}
		if r := h.exchange(c, secret, code, v); r.Status != http.StatusOK {
			t.Fatalf("S256: %d %s", r.Status, r.Raw)
		}
		// Over HTTP the repeated challenge is a redirected invalid_request,
		// not a server_error.
		_, ch2 := pkce()
		h.browserCode(c, "test:read", ch2)
		resp := h.authorize(url.Values{
			"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]}, "scope": {"test:read"},
			"state": {"s1"}, "code_challenge": {ch2}, "code_challenge_method": {"S256"},
		}, h.browserSession(h.alice, c, "test:read"))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.Status != http.StatusSeeOther || loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s1" {
			t.Fatalf("repeated challenge over HTTP: %d Location %q", resp.Status, resp.Header.Get("Location"))
		}
		// allow_plain_pkce turns plain on, and advertises it.
		hp := newHarness(t, func(c *authserver.Config) { c.AllowPlainPKCE = true })
		cp, sp := hp.webClient("test:read")
		pv, _ := pkce()
		if m := hp.s.Metadata().CodeChallengeMethodsSupported; len(m) != 2 {
			t.Fatalf("methods with plain on: %v", m)
		}
		if r := hp.exchange(cp, sp, hp.mustCode(codeReq{client: cp, scope: "test:read", challenge: pv, method: "plain"}), pv); r.Status != http.StatusOK {
			t.Fatalf("plain when allowed: %d %s", r.Status, r.Raw)
		}
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": authorization
// codes single-use and short-lived; a replay
// revokes (TestAudit07, TestAudit05_ConcurrentCodeRedemption); bound to the
// client and redirect URI.
func TestChecklist_CodesShortLivedAndBound(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		other, otherSecret := h.client(authserver.ClientSpec{RedirectURIs: c.RedirectURIs, Scopes: []string{"test:read"}})
		v, ch := pkce()
		code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
		// Same redirect URI, other client: refused, and the code is spent.
		expectError(t, h.exchange(other, otherSecret, code, v), http.StatusBadRequest, "invalid_grant")
		expectError(t, h.exchange(c, secret, code, v), http.StatusBadRequest, "invalid_grant")
		// Expired.
		v2, ch2 := pkce()
		code2 := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch2})
		h.expire(code2)
		expectError(t, h.exchange(c, secret, code2, v2), http.StatusBadRequest, "invalid_grant")
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": refresh tokens
// rotated, reuse revokes the family (TestAudit07,
// TestAudit05_ConcurrentRefresh), and they expire when unused (idle) and at
// the family's absolute limit.
func TestChecklist_RefreshIdleAndAbsoluteExpiry(t *testing.T) {
	eachHarness(t, func(c *authserver.Config) { c.RefreshIdleTTL = time.Hour; c.RefreshTokenTTL = 90 * time.Minute }, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		exp := func(rt string) time.Time {
			r := h.post(authserver.PathIntrospect, url.Values{"token": {rt}}, c.ID, secret)
			f, _ := r.Body["exp"].(float64)
			return time.Unix(int64(f), 0)
		}
		start := time.Now()
		tok := h.tokens(c, secret, "test:read")
		if e := exp(tok.str("refresh_token")); e.Sub(start) < 59*time.Minute || e.Sub(start) > 61*time.Minute {
			t.Fatalf("idle expiry %v after issue", e.Sub(start))
		}
		// Rotation renews the idle window, capped by the absolute limit.
		r := h.refresh(c, secret, tok.str("refresh_token"), "")
		if r.Status != http.StatusOK || r.str("refresh_token") == tok.str("refresh_token") {
			t.Fatalf("rotation: %d %s", r.Status, r.Raw)
		}
		if e := exp(r.str("refresh_token")); e.Sub(start) > 91*time.Minute {
			t.Fatalf("absolute limit exceeded: %v", e.Sub(start))
		}
		h.expire(r.str("refresh_token"))
		expectError(t, h.refresh(c, secret, r.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": restrict
// privileges — tokens are audience-restricted and the
// resource checks the scope for the method.
func TestChecklist_AudienceAndScopeRestricted(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient("test:read", "test:write")
		read := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret).str("access_token")
		if r := h.api("Bearer " + read); r.Status != http.StatusOK {
			t.Fatalf("GET with test:read: %d", r.Status)
		}
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/api/test/", nil)
		req.Header.Set("Authorization", "Bearer "+read)
		if r := h.do(req); r.Status != http.StatusForbidden {
			t.Fatalf("POST with only test:read: %d %s", r.Status, r.Raw)
		}
		// A server for another audience, sharing keys and database, refuses it.
		other, err := authserver.New(context.Background(), authserver.Deps{DB: h.d, Users: h.users}, authserver.Config{Issuer: h.srv.URL, Audience: "https://other.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Bearer().ValidateBearer(context.Background(), read); err == nil {
			t.Fatal("token accepted for another audience")
		}
		if _, err := h.s.Bearer().ValidateBearer(context.Background(), read); err != nil {
			t.Fatalf("own audience: %v", err)
		}
		// And another issuer.
		otherIss, _ := authserver.New(context.Background(), authserver.Deps{DB: h.d, Users: h.users}, authserver.Config{Issuer: "https://elsewhere.example.com", Audience: h.srv.URL})
		if _, err := otherIss.Bearer().ValidateBearer(context.Background(), read); err == nil {
			t.Fatal("token accepted by another issuer")
		}
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": authenticate
// clients — client_secret_basic and
// client_secret_post both work (OAuth 2.1 requires the body method too).
func TestChecklist_ClientAuthBasicAndPost(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient()
		if r := h.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, secret); r.Status != http.StatusOK {
			t.Fatalf("basic: %d %s", r.Status, r.Raw)
		}
		if r := h.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}}, "", ""); r.Status != http.StatusOK {
			t.Fatalf("post: %d %s", r.Status, r.Raw)
		}
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": publish RFC 8414
// metadata; return iss in authorization
// responses (RFC 9207).
func TestChecklist_MetadataAndIssuer(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+authserver.PathMetadata, nil)
		r := h.do(req)
		if r.Status != http.StatusOK || r.str("issuer") != h.srv.URL || r.str("token_endpoint") != h.srv.URL+authserver.PathToken ||
			r.str("jwks_uri") != h.srv.URL+authserver.PathJWKS || r.str("introspection_endpoint") == "" || r.str("revocation_endpoint") == "" {
			t.Fatalf("metadata: %d %s", r.Status, r.Raw)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("metadata without CORS")
		}
		c, _ := h.webClient("test:read")
		_, ch := pkce()
		cookie := h.browserSession(h.alice, c, "test:read")
		a := h.authorize(url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
			"scope": {"test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, cookie)
		loc, _ := url.Parse(a.Header.Get("Location"))
		if loc == nil || loc.Query().Get("iss") != h.srv.URL || loc.Query().Get("code") == "" {
			t.Fatalf("authorization response %d %v", a.Status, loc)
		}
		if v, _ := r.Body["authorization_response_iss_parameter_supported"].(bool); !v {
			t.Error("iss parameter support not advertised")
		}
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules" (RFC 9700 §4.15):
// clients cannot choose a client_id that could
// be confused with an end user: IDs are generated, never numeric, and a
// client_credentials token's subject resolves to no user.
func TestChecklist_ServerChosenClientIDs(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient("test:read")
		if _, err := strconv.ParseInt(c.ID, 10, 64); err == nil || !regexp.MustCompile(`^agci_[0-9A-Za-z]{28}$`).MatchString(c.ID) {
			t.Fatalf("client ID %q", c.ID)
		}
		at := h.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, secret).str("access_token")
		bt, err := h.s.Bearer().ValidateBearer(context.Background(), at)
		if err != nil || bt.UserID != 0 || bt.ClientID != c.ID {
			t.Fatalf("client token resolved to %+v, %v", bt, err)
		}
		// The management API ignores a client_id in the request:
		// internal/mgmtapi, TestOAuthAppsServerChosenClientID.
	})
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": CORS on token,
// metadata and JWKS but never on the
// authorization endpoint.
func TestChecklist_CORS(t *testing.T) {
	h := newHarness(t, nil)
	req, _ := http.NewRequest(http.MethodOptions, h.srv.URL+authserver.PathToken, nil)
	req.Header.Set("Origin", "https://spa.example.com")
	if r := h.do(req); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("token preflight: %d %v", r.Status, r.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, h.srv.URL+authserver.PathJWKS, nil)
	if r := h.do(req); r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("JWKS without CORS")
	}
	r := h.authorize(url.Values{"client_id": {"x"}}, nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS on the authorization endpoint")
	}
}

// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": TLS end to end —
// the issuer must be https except on loopback.
func TestChecklist_IssuerRequiresHTTPS(t *testing.T) {
	for _, tc := range []struct {
		iss string
		ok  bool
	}{
		{"https://auth.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://auth.example.com", false},
		{"https://auth.example.com?x=1", false},
		{"ftp://auth.example.com", false},
		{"auth.example.com", false},
	} {
		errs := configs.OAuth{Issuer: tc.iss}.Validate()
		if (len(errs) == 0) != tc.ok {
			t.Errorf("issuer %q: %v", tc.iss, errs)
		}
	}
}
