package authserver_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/signing"
)

// One test per row of the docs/go-oauth2.md, "Findings and their tests" table
// (docs/go-oauth2.md). Each attacks the server over HTTP and fails
// if the attack works.

// Row 1 (critical): refresh grant without client authentication or binding.
func TestAudit01_RefreshRequiresClientAuthAndBinding(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c1, s1 := h.webClient()
		c2, s2 := h.webClient()
		rt := h.tokens(c1, s1, "test:read").str("refresh_token")

		// c1's refresh token with c1's ID and a wrong secret.
		expectError(t, h.refresh(c1, "agcs_not_the_secret", rt, ""), http.StatusUnauthorized, "invalid_client")
		// ... with c1's ID and no secret at all (as if public).
		expectError(t, h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c1.ID}}, "", ""),
			http.StatusUnauthorized, "invalid_client")
		// ... with no client authentication at all.
		expectError(t, h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "", ""),
			http.StatusUnauthorized, "invalid_client")
		// ... by another client with its own valid credentials.
		expectError(t, h.refresh(c2, s2, rt, ""), http.StatusBadRequest, "invalid_grant")

		// The attempts neither worked nor burned the token: c1 still can.
		if r := h.refresh(c1, s1, rt, ""); r.Status != http.StatusOK || r.str("refresh_token") == "" {
			t.Fatalf("owner refresh after attacks: %d %s", r.Status, r.Raw)
		}
	})
}

// Row 2 (critical): refresh scope escalation.
func TestAudit02_RefreshCannotWidenScope(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read", "test:write", "admin:read")
		rt := h.tokens(c, secret, "test:read test:write").str("refresh_token")

		for _, scope := range []string{"admin:read", "test:read admin:read", "test:read test:write admin:read", "test:destroy"} {
			expectError(t, h.refresh(c, secret, rt, scope), http.StatusBadRequest, "invalid_scope")
		}
		// Narrowing is allowed ...
		r := h.refresh(c, secret, rt, "test:read")
		if r.Status != http.StatusOK || r.str("scope") != "test:read" {
			t.Fatalf("narrowing refresh: %d %s", r.Status, r.Raw)
		}
		if got := accessScope(t, h, r.str("access_token")); got != "test:read" {
			t.Fatalf("narrowed access token scope %q", got)
		}
		// ... and the refresh token keeps the granted scope (RFC 6749 §6),
		// but never more.
		r2 := h.refresh(c, secret, r.str("refresh_token"), "")
		if r2.Status != http.StatusOK || r2.str("scope") != "test:read test:write" {
			t.Fatalf("refresh after narrowing: %d %s", r2.Status, r2.Raw)
		}
		expectError(t, h.refresh(c, secret, r2.str("refresh_token"), "admin:read"), http.StatusBadRequest, "invalid_scope")
	})
}

// accessScope returns the scope introspection reports for an access token.
func accessScope(t *testing.T, h *harness, at string) string {
	t.Helper()
	r := h.introspect(at)
	if active, _ := r.Body["active"].(bool); !active {
		t.Fatalf("token not active: %s", r.Raw)
	}
	return r.str("scope")
}

// Row 3 (high): redirect URI suffix-host matching.
func TestAudit03_RedirectURIExactMatch(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		native, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
		cookie := h.browserSession(h.alice, c, "test:read")
		_, ch := pkce()
		attacks := []string{
			"https://evilapp.example.com/cb",      // suffix host
			"https://app.example.com.evil.net/cb", // lookalike
			"https://evil.net/app.example.com/cb",
			"http://app.example.com/cb",        // scheme downgrade
			"myapp://app.example.com/cb",       // custom scheme
			"https://app.example.com/cb/steal", // path extension
			"https://app.example.com/cbx",
			"https://app.example.com/cb?next=https://evil.net",
			"https://app.example.com:8443/cb", // port
			"https://APP.example.com/cb",
			"https://user@app.example.com/cb",
			"https://app.example.com/cb#frag",
			"//app.example.com/cb",
		}
		for _, uri := range attacks {
			r := h.authorize(url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {uri},
				"scope": {"test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, cookie)
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Errorf("authorize with redirect_uri %q: status %d, Location %q", uri, r.Status, r.Header.Get("Location"))
			}
			// Second line: the library path refuses it too.
			if _, err := h.mintCode(codeReq{client: c, scope: "test:read", redirectURI: uri, challenge: ch}); err == nil {
				t.Errorf("code issued for redirect_uri %q", uri)
			}
		}
		// RFC 8252 §7.3: only the port of a loopback URI may vary.
		if _, err := h.mintCode(codeReq{client: native, scope: "test:read", redirectURI: "http://127.0.0.1:51234/cb", challenge: ch}); err != nil {
			t.Errorf("loopback with ephemeral port refused: %v", err)
		}
		for _, uri := range []string{"http://127.0.0.1:51234/cb2", "http://localhost:51234/cb", "https://127.0.0.1:51234/cb"} {
			if _, err := h.mintCode(codeReq{client: native, scope: "test:read", redirectURI: uri, challenge: ch}); err == nil {
				t.Errorf("loopback variant %q accepted", uri)
			}
		}
		// At /oauth/token the redirect_uri must equal the authorization
		// request's exactly.
		v, ch2 := pkce()
		code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch2})
		r := h.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://evilapp.example.com/cb"},
			"code_verifier": {v}}, c.ID, secret)
		expectError(t, r, http.StatusBadRequest, "invalid_grant")
	})
}

// Row 4 (high): errors redirected to an unvalidated redirect_uri or for an
// unknown client; user authentication before client validation.
func TestAudit04_NoOpenRedirectOnErrors(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, _ := h.webClient("test:read")
		cases := []struct {
			name   string
			params url.Values
		}{
			{"unknown client", url.Values{"response_type": {"code"}, "client_id": {"agci_unknown"}, "redirect_uri": {"https://attacker.net/cb"}}},
			{"unregistered redirect", url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://attacker.net/cb"}}},
			{"unregistered redirect and bad response_type", url.Values{"response_type": {"token"}, "client_id": {c.ID}, "redirect_uri": {"https://attacker.net/cb"}}},
			{"no client", url.Values{"response_type": {"code"}, "redirect_uri": {"https://attacker.net/cb"}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// Not logged in: the client is checked before the user is
				// sent to the login page.
				r := h.authorize(tc.params, nil)
				if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q", r.Status, r.Header.Get("Location"))
				}
			})
		}
		// The library's own redirect-on-error path is closed: an unknown
		// client with an attacker's redirect_uri gets no Location.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/oauth/authorize?response_type=code&client_id=agci_unknown&redirect_uri=https%3A%2F%2Fattacker.net%2Fcb", nil)
		h.s.OAuth2.UserAuthorizationHandler = func(http.ResponseWriter, *http.Request) (string, error) { return "1", nil }
		_ = h.s.OAuth2.HandleAuthorizeRequest(rec, req)
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Fatalf("go-oauth2 redirected an error to %q", loc)
		}
	})
}

// Row 6 (high): PKCE not required for public clients, global only, plain
// allowed and the default; missing verifier answered with 500.
func TestAudit06_PKCEEnforced(t *testing.T) {
	eachHarness(t, func(c *authserver.Config) { c.AllowConfidentialWithoutPKCE = true }, func(t *testing.T, h *harness) {
		pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"https://spa.example.com/cb"}, Scopes: []string{"test:read"}})
		conf, secret := h.webClient("test:read")
		v, ch := pkce()

		// A public client cannot get a code without S256 PKCE, over HTTP ...
		cookie := h.browserSession(h.alice, pub, "test:read")
		for _, p := range []url.Values{
			{"response_type": {"code"}, "client_id": {pub.ID}, "scope": {"test:read"}},
			{"response_type": {"code"}, "client_id": {pub.ID}, "scope": {"test:read"}, "code_challenge": {v}, "code_challenge_method": {"plain"}},
			{"response_type": {"code"}, "client_id": {pub.ID}, "scope": {"test:read"}, "code_challenge": {v}},
		} {
			r := h.authorize(p, cookie)
			loc, _ := url.Parse(r.Header.Get("Location"))
			if loc == nil || loc.Query().Get("code") != "" || loc.Query().Get("error") != "invalid_request" {
				t.Errorf("authorize %v: status %d Location %v", p, r.Status, loc)
			}
		}
		// ... nor through the library path.
		for _, cr := range []codeReq{
			{client: pub, scope: "test:read"},
			{client: pub, scope: "test:read", challenge: v, method: "plain"},
			{client: conf, scope: "test:read", challenge: v, method: "plain"},
			{client: pub, scope: "test:read", challenge: "short", method: "S256"},
		} {
			if _, err := h.mintCode(cr); err == nil {
				t.Errorf("code issued for %+v", cr)
			}
		}
		// Missing verifier: 400 invalid_grant, not 500.
		expectError(t, h.exchange(pub, "", h.mustCode(codeReq{client: pub, scope: "test:read", challenge: ch}), ""), http.StatusBadRequest, "invalid_grant")
		// Wrong verifier: 400, not 401.
		_, ch2 := pkce()
		expectError(t, h.exchange(pub, "", h.mustCode(codeReq{client: pub, scope: "test:read", challenge: ch2}), v), http.StatusBadRequest, "invalid_grant")
		// A verifier for a code issued without a challenge (downgrade): 400.
		expectError(t, h.exchange(conf, secret, h.mustCode(codeReq{client: conf, scope: "test:read"}), v), http.StatusBadRequest, "invalid_grant")
		// The correct verifier works, for a public client with client_id only.
		v3, ch3 := pkce()
		if r := h.exchange(pub, "", h.mustCode(codeReq{client: pub, scope: "test:read", challenge: ch3}), v3); r.Status != http.StatusOK {
			t.Fatalf("public client with PKCE: %d %s", r.Status, r.Raw)
		}
		// The default (allow_confidential_without_pkce off): a confidential client needs PKCE too.
		h2 := newHarness(t, nil)
		conf2, _ := h2.webClient("test:read")
		if _, err := h2.mintCode(codeReq{client: conf2, scope: "test:read"}); err == nil {
			t.Fatal("confidential client: code issued without a challenge")
		}
	})
}

// Row 7 (medium): no revocation on code replay, no refresh reuse
// detection, revoking a refresh token leaves its access token alive.
func TestAudit07_ReplayAndReuseRevokeGrant(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")

		t.Run("code replay", func(t *testing.T) {
			v, ch := pkce()
			code := h.browserCode(c, "test:read", ch)
			first := h.exchange(c, secret, code, v)
			if first.Status != http.StatusOK {
				t.Fatalf("first redemption: %d %s", first.Status, first.Raw)
			}
			if r := h.api("Bearer " + first.str("access_token")); r.Status != http.StatusOK {
				t.Fatalf("API before replay: %d %s", r.Status, r.Raw)
			}
			expectError(t, h.exchange(c, secret, code, v), http.StatusBadRequest, "invalid_grant")
			if h.active(first.str("access_token")) {
				t.Fatal("access token from a replayed code still active")
			}
			if r := h.api("Bearer " + first.str("access_token")); r.Status != http.StatusUnauthorized {
				t.Fatalf("API accepted a token of a replayed code: %d", r.Status)
			}
			expectError(t, h.refresh(c, secret, first.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
		})
		t.Run("refresh reuse", func(t *testing.T) {
			old := h.tokens(c, secret, "test:read")
			next := h.refresh(c, secret, old.str("refresh_token"), "")
			if next.Status != http.StatusOK {
				t.Fatalf("rotation: %d %s", next.Status, next.Raw)
			}
			expectError(t, h.refresh(c, secret, old.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
			if h.active(next.str("access_token")) {
				t.Fatal("family access token survived refresh reuse")
			}
			expectError(t, h.refresh(c, secret, next.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
		})
		t.Run("revoking a refresh token revokes its access tokens", func(t *testing.T) {
			tok := h.tokens(c, secret, "test:read")
			r := h.post(authserver.PathRevoke, url.Values{"token": {tok.str("refresh_token")}, "token_type_hint": {"refresh_token"}}, c.ID, secret)
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Raw)
			}
			if h.active(tok.str("access_token")) {
				t.Fatal("access token alive after its refresh token was revoked")
			}
			if r := h.api("Bearer " + tok.str("access_token")); r.Status != http.StatusUnauthorized {
				t.Fatalf("API accepted: %d", r.Status)
			}
		})
	})
}

// Row 8 (medium): plaintext, non-constant-time client secret comparison.
func TestAudit08_ClientSecretsHashedConstantTime(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient()
		var stored struct {
			Digest string `db:"secret_digest"`
			Prefix string `db:"secret_prefix"`
		}
		if err := h.d.Get(&stored, h.d.Rebind(`SELECT secret_digest, secret_prefix FROM oauth_clients WHERE client_id = ?`), c.ID); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(secret))
		if stored.Digest != hex.EncodeToString(sum[:]) || strings.Contains(stored.Digest+stored.Prefix, secret[9:]) {
			t.Fatalf("secret not stored as its SHA-256 digest only: %+v", stored)
		}
		form := url.Values{"grant_type": {"client_credentials"}}
		last := "x" // a changed last character: not "x" when the secret ends in one
		if strings.HasSuffix(secret, last) {
			last = "y"
		}
		for _, wrong := range []string{
			secret[:len(secret)-1] + last, strings.ToUpper(secret), secret + "x", stored.Digest, "",
		} {
			expectError(t, h.token(form, c.ID, wrong), http.StatusUnauthorized, "invalid_client")
		}
		if r := h.token(form, c.ID, secret); r.Status != http.StatusOK {
			t.Fatalf("right secret: %d %s", r.Status, r.Raw)
		}
		// go-oauth2 never sees the secret: our ClientInfo has none and
		// verifies through ClientPasswordVerifier.
		ci, err := h.s.OAuth2.Manager.GetClient(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ci.GetSecret() != "" {
			t.Fatal("ClientInfo exposes a secret")
		}
	})
}

// Row 9 (medium): implicit and password grants enabled by default.
func TestAudit09_ImplicitAndPasswordDisabled(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		r := h.token(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {testPassword}}, c.ID, secret)
		expectError(t, r, http.StatusBadRequest, "unsupported_grant_type")
		expectError(t, h.token(url.Values{"grant_type": {"__implicit"}}, c.ID, secret), http.StatusBadRequest, "unsupported_grant_type")

		cookie := h.browserSession(h.alice, c, "test:read")
		_, ch := pkce()
		a := h.authorize(url.Values{"response_type": {"token"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
			"scope": {"test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, cookie)
		loc := a.Header.Get("Location")
		if strings.Contains(loc, "access_token") || strings.Contains(loc, "#") || !strings.Contains(loc, "error=unsupported_response_type") {
			t.Fatalf("response_type=token: %d %q", a.Status, loc)
		}
		implicit := &server.AuthorizeRequest{ResponseType: oauth2.Token, ClientID: c.ID, RedirectURI: c.RedirectURIs[0],
			Scope: "test:read", UserID: "1", Request: httptest.NewRequest(http.MethodGet, "/", nil)}
		if _, err := h.s.OAuth2.GetAuthorizeToken(context.Background(), implicit); err == nil {
			t.Fatal("library issued an implicit token")
		}
		md := h.s.Metadata()
		if slices.Contains(md.GrantTypesSupported, "password") || slices.Contains(md.GrantTypesSupported, "implicit") ||
			!slices.Equal(md.ResponseTypesSupported, []string{"code"}) {
			t.Fatalf("metadata advertises %v %v", md.GrantTypesSupported, md.ResponseTypesSupported)
		}
	})
}

// Row 10 (medium): wrong status codes, missing WWW-Authenticate, client
// errors answered with 500 (client enumeration). The full table of error
// paths is TestTokenEndpointErrorPaths; this row checks the audit's cases.
func TestAudit10_StatusCodesAndNoClientEnumeration(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		form := url.Values{"grant_type": {"client_credentials"}}
		unknown := h.token(form, "agci_doesnotexist", secret)
		wrong := h.token(form, c.ID, "agcs_wrong")
		expectError(t, unknown, http.StatusUnauthorized, "invalid_client")
		expectError(t, wrong, http.StatusUnauthorized, "invalid_client")
		if unknown.Raw != wrong.Raw {
			t.Fatalf("unknown client and wrong secret differ:\n%s\n%s", unknown.Raw, wrong.Raw)
		}
		// invalid_grant, unauthorized_client, unsupported_grant_type: 400.
		expectError(t, h.exchange(c, secret, "agac_nope", "x"), http.StatusBadRequest, "invalid_grant")
		expectError(t, h.token(form, c.ID, secret), http.StatusBadRequest, "unauthorized_client")
		expectError(t, h.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}}, c.ID, secret), http.StatusBadRequest, "unsupported_grant_type")
		// The device grant is served, but only to clients allowed it.
		expectError(t, h.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}, c.ID, secret), http.StatusBadRequest, "unauthorized_client")
		// With PKCE required for all clients a missing code_verifier is a missing
		// parameter (go-oauth2's ForcePKCE check); without it, see row 6.
		_, ch := pkce()
		code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
		expectError(t, h.exchange(c, secret, code, ""), http.StatusBadRequest, "invalid_request")
	})
}

// Row 11 (low): query-string parameters and secrets, duplicate parameters,
// case-sensitive Bearer, access_token accepted as a parameter.
func TestAudit11_NoQueryParamsDuplicatesOrTokenParams(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.serviceClient()
		body := url.Values{"grant_type": {"client_credentials"}}

		// Secret in the query string.
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken+"?client_id="+c.ID+"&client_secret="+secret, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		expectError(t, h.do(req), http.StatusBadRequest, "invalid_request")
		// Duplicate parameter.
		dup := "grant_type=client_credentials&grant_type=client_credentials"
		req, _ = http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(dup))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		expectError(t, h.do(req), http.StatusBadRequest, "invalid_request")
		// Basic and client_secret_post at once.
		both := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}}
		expectError(t, h.token(both, c.ID, secret), http.StatusBadRequest, "invalid_request")
		// Not a form.
		req, _ = http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(c.ID, secret)
		expectError(t, h.do(req), http.StatusBadRequest, "invalid_request")
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		req, _ = http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("%61"+c.ID[1:], secret) // %61 = "a"
		tok := h.do(req)
		if tok.Status != http.StatusOK {
			t.Fatalf("URL-encoded Basic credentials: %d %s", tok.Status, tok.Raw)
		}
		at := tok.str("access_token")

		// The bearer token: any case of the scheme, never a parameter.
		if r := h.api("bearer " + at); r.Status != http.StatusOK {
			t.Fatalf("lower-case bearer: %d %s", r.Status, r.Raw)
		}
		q, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/test/?access_token="+at, nil)
		if r := h.do(q); r.Status != http.StatusUnauthorized {
			t.Fatalf("access_token query parameter accepted: %d", r.Status)
		}
		lib := httptest.NewRequest(http.MethodPost, "/x?access_token="+at, strings.NewReader("access_token="+at))
		lib.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, ok := h.s.OAuth2.AccessTokenResolveHandler(lib); ok {
			t.Fatal("go-oauth2 resolves access_token from a parameter")
		}
	})
}

// Row 12 (low): JWT access tokens without iss/iat/jti/scope, typ JWT, a
// fixed kid, PEM parsed per token.
func TestAudit12_JWTAccessTokensAreRFC9068(t *testing.T) {
	for _, alg := range []string{signing.AlgEdDSA, signing.AlgES256, signing.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			eachHarness(t, func(c *authserver.Config) { c.SigningAlg = alg }, func(t *testing.T, h *harness) {
				c, secret := h.serviceClient()
				r := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret)
				if r.Status != http.StatusOK {
					t.Fatalf("token: %d %s", r.Status, r.Raw)
				}
				keys := h.jwks()
				var claims jwt.MapClaims
				tok, err := jwt.ParseWithClaims(r.str("access_token"), &claims, func(tk *jwt.Token) (any, error) {
					return keys[tk.Header["kid"].(string)], nil
				}, jwt.WithValidMethods([]string{alg}))
				if err != nil || !tok.Valid {
					t.Fatalf("verify with the published JWKS: %v", err)
				}
				if tok.Header["typ"] != "at+jwt" || tok.Header["alg"] != alg {
					t.Fatalf("header %v", tok.Header)
				}
				for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
					if _, ok := claims[k]; !ok {
						t.Errorf("claim %s missing: %v", k, claims)
					}
				}
				if claims["iss"] != h.srv.URL || claims["client_id"] != c.ID || claims["sub"] != c.ID || claims["scope"] != "test:read" {
					t.Fatalf("claims %v", claims)
				}
				// Two tokens: distinct jti, same (cached, parsed once) key.
				r2 := h.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, secret)
				if jwtID(r2.str("access_token")) == jwtID(r.str("access_token")) {
					t.Fatal("jti repeated")
				}
			})
		})
	}
}

// jwks fetches the published keys over HTTP.
func (h *harness) jwks() map[string]crypto.PublicKey {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+authserver.PathJWKS, nil)
	r := h.do(req)
	if r.Status != http.StatusOK {
		h.t.Fatalf("jwks: %d", r.Status)
	}
	out := map[string]crypto.PublicKey{}
	list, _ := r.Body["keys"].([]any)
	dec := func(s any) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s.(string))
		if err != nil {
			h.t.Fatal(err)
		}
		return b
	}
	for _, k := range list {
		m := k.(map[string]any)
		switch m["kty"] {
		case "OKP":
			out[m["kid"].(string)] = ed25519.PublicKey(dec(m["x"]))
		case "EC":
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, dec(m["x"])...), dec(m["y"])...))
			if err != nil {
				h.t.Fatal(err)
			}
			out[m["kid"].(string)] = pub
		case "RSA":
			out[m["kid"].(string)] = &rsa.PublicKey{N: new(big.Int).SetBytes(dec(m["n"])), E: int(new(big.Int).SetBytes(dec(m["e"])).Int64())}
		}
	}
	return out
}

// Row 13 (info): manager configuration mutated without locks — all of it
// is fixed in New, before serving; concurrent requests (run with -race)
// only read it.
func TestAudit13_ConfigurationFixedBeforeServing(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.s.OAuth2.Config
	if !slices.Equal(cfg.AllowedResponseTypes, []oauth2.ResponseType{oauth2.Code}) ||
		!slices.Equal(cfg.AllowedCodeChallengeMethods, []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}) ||
		len(cfg.AllowedGrantTypes) != 3 || slices.Contains(cfg.AllowedGrantTypes, oauth2.PasswordCredentials) ||
		cfg.AllowGetAccessRequest || !cfg.ForcePKCE {
		t.Fatalf("go-oauth2 config %+v", cfg)
	}
	if h.s.OAuth2.ClientInfoHandler == nil || h.s.OAuth2.InternalErrorHandler == nil || h.s.OAuth2.ResponseErrorHandler == nil ||
		h.s.OAuth2.PreRedirectErrorHandler == nil {
		t.Fatal("hooks not installed by New")
	}
	c, secret := h.serviceClient()
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.token(url.Values{"grant_type": {"client_credentials"}}, c.ID, secret)
			if r.Status != http.StatusOK {
				errs <- r.Raw
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
