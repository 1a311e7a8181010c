package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
)

// TestAuthorizeUntrustedErrorsNotRedirected: while the client or redirect
// URI is not trusted, errors are shown on our page and never redirected
// (RFC 6749 §4.1.2.1; go-oauth2 #105, #298), even when the request has
// other errors too.
func TestAuthorizeUntrustedErrorsNotRedirected(t *testing.T) {
	e := newPagesEnv(t)
	cases := []struct {
		name   string
		change func(q url.Values)
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }},
		{"missing client_id", func(q url.Values) { q.Del("client_id") }},
		{"disabled client", func(q url.Values) {
			q.Set("client_id", e.disabled.ID)
			q.Set("redirect_uri", "https://off.example.com/cb")
		}},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://attacker.example/cb") }},
		{"subdomain", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "https://evil.app.example.com/cb")
		}},
		{"host suffix", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "https://app.example.com.attacker.example/cb")
		}},
		{"path suffix", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "https://app.example.com/cb/../steal")
		}},
		{"scheme change", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "http://app.example.com/cb")
		}},
		{"custom scheme", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "myapp://app.example.com/cb")
		}},
		{"userinfo", func(q url.Values) {
			q.Set("client_id", e.conf.ID)
			q.Set("redirect_uri", "https://app.example.com@attacker.example/cb")
		}},
		{"loopback other path", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/evil") }},
		{"duplicate client_id", func(q url.Values) { q.Add("client_id", e.conf.ID) }},
		{"duplicate redirect_uri", func(q url.Values) { q.Add("redirect_uri", "https://attacker.example/cb") }},
		{"no redirect_uri, several registered", func(q url.Values) { q.Del("redirect_uri") }},
		{"bad redirect plus bad response_type", func(q url.Values) {
			q.Set("redirect_uri", "https://attacker.example/cb")
			q.Set("response_type", "token")
		}},
		{"unknown client plus bad scope", func(q url.Values) {
			q.Set("client_id", "nope")
			q.Set("scope", "resource:read")
		}},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				q := e.authzQuery()
				tc.change(q)
				var p testenv.Page
				if method == http.MethodGet {
					p = e.Browser().Get("/oauth/authorize?" + q.Encode())
				} else {
					p = e.Browser().Post("/oauth/authorize", q)
				}
				if p.Status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", p.Status)
				}
				if loc := p.Header.Get("Location"); loc != "" {
					t.Fatalf("redirected to %q: open redirector", loc)
				}
				if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || strings.Contains(p.Body, "attacker.example") {
					t.Fatalf("error page: %s %s", p.Header.Get("Content-Type"), p.Body)
				}
			})
		}
	}
}

// TestAuthorizeTrustedErrorsRedirected: once client and redirect URI are
// trusted, errors go back to the client with error, error_description,
// state and iss (RFC 6749 §4.1.2.1, RFC 9207), by 303.
func TestAuthorizeTrustedErrorsRedirected(t *testing.T) {
	e := newPagesEnv(t)
	cases := []struct {
		name   string
		change func(q url.Values)
		want   string
	}{
		{"missing response_type", func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"implicit", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"hybrid", func(q url.Values) { q.Set("response_type", "code token") }, "unsupported_response_type"},
		{"public client without PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) {
			q.Set("code_challenge", testVerifier)
			q.Set("code_challenge_method", "plain")
		}, "invalid_request"},
		{"challenge without method (defaults to plain)", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"method without challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"unknown method", func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request"},
		{"challenge not S256-shaped", func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 64)) }, "invalid_request"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "session:read nope:read") }, "invalid_scope"},
		{"registry scope not allowed for client", func(q url.Values) { q.Set("scope", "resource:read") }, "invalid_scope"},
		{"malformed scope", func(q url.Values) { q.Set("scope", "session:read  tokens:read") }, "invalid_scope"},
		{"no scope", func(q url.Values) { q.Del("scope") }, "invalid_scope"},
		{"duplicate scope parameter", func(q url.Values) { q.Add("scope", "user:read") }, "invalid_request"},
		{"duplicate state", func(q url.Values) { q.Add("state", "other") }, "invalid_request"},
		{"fragment response mode", func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
		{"request object", func(q url.Values) { q.Set("request", "eyJ") }, "invalid_request"},
		{"client without code grant", func(q url.Values) {
			q.Set("client_id", e.ccOnly.ID)
			q.Set("redirect_uri", "https://m.example.com/cb")
		}, "unauthorized_client"},
		{"prompt=none, not signed in", func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := e.authzQuery()
			tc.change(q)
			p := e.Browser().Get("/oauth/authorize?" + q.Encode())
			if p.Status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", p.Status, p.Body)
			}
			loc := p.Location(t)
			wantBase := q.Get("redirect_uri")
			if base := loc.Scheme + "://" + loc.Host + loc.Path; base != wantBase {
				t.Fatalf("redirected to %s, want %s", base, wantBase)
			}
			got := loc.Query()
			if got.Get("error") != tc.want || got.Get("error_description") == "" {
				t.Fatalf("error=%q description=%q, want %q", got.Get("error"), got.Get("error_description"), tc.want)
			}
			if got.Get("state") != "st-123" || got.Get("iss") != e.URL {
				t.Fatalf("state=%q iss=%q", got.Get("state"), got.Get("iss"))
			}
			if got.Has("code") {
				t.Fatal("error response carries a code")
			}
		})
	}
}

// TestAuthorizeFlow drives login, consent and code issuance through the
// forms, and checks what was stored with the code, on both databases.
func TestAuthorizeFlow(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) { authorizeFlow(t, withClients(t, env)) })
}

func authorizeFlow(t *testing.T, e *pagesEnv) {
	b := e.Browser()
	q := e.authzQuery()
	q.Set("redirect_uri", "http://127.0.0.1:51234/callback") // RFC 8252 §7.3: any loopback port
	authzURL := "/oauth/authorize?" + q.Encode()

	p := b.Get(authzURL)
	if p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
		t.Fatalf("unauthenticated: status %d, Location %q", p.Status, p.Header.Get("Location"))
	}
	returnTo := p.Location(t).Query().Get("return_to")
	if returnTo == "" || !strings.HasPrefix(returnTo, "/oauth/authorize?") {
		t.Fatalf("return_to = %q", returnTo)
	}

	p = b.Get(p.Header.Get("Location"))
	f := p.Hidden()
	if f.Get("return_to") != returnTo || f.Get("csrf_token") == "" {
		t.Fatalf("login form fields %v", f)
	}
	// The sign-in page names the application, escaped.
	if !strings.Contains(p.Body, "to continue to <strong>Native &lt;App&gt;</strong>") {
		t.Fatalf("login page does not name the app: %s", p.Body)
	}
	if plain := e.Browser().Get("/login"); strings.Contains(plain.Body, "to continue to") {
		t.Fatalf("login page without an authorization request names an app: %s", plain.Body)
	}
	f.Set("username", testenv.UserUsername)
	f.Set("password", testenv.UserPassword)
	p = b.Post("/login", f)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != returnTo {
		t.Fatalf("login: status %d Location %q", p.Status, p.Header.Get("Location"))
	}

	consent := b.Get(returnTo)
	if consent.Status != http.StatusOK || !strings.Contains(consent.Body, "Ability to perform HTTP GET on the session resource") {
		t.Fatalf("consent page: %d %s", consent.Status, consent.Body)
	}
	if !strings.Contains(consent.Body, "Native &lt;App&gt;") || strings.Contains(consent.Body, "Native <App>") {
		t.Fatal("client name not HTML-escaped on the consent page")
	}
	form := consent.Hidden()
	if form.Get("csrf_token") == "" || form.Get("code_challenge") != q.Get("code_challenge") {
		t.Fatalf("consent form fields %v", form)
	}

	t.Run("decision without CSRF token refused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Del("csrf_token")
		bad.Set("decision", "allow")
		p := b.Post("/oauth/authorize", bad)
		if p.Status != http.StatusForbidden || p.Header.Get("Location") != "" {
			t.Fatalf("status %d Location %q", p.Status, p.Header.Get("Location"))
		}
		bad.Set("csrf_token", "forged")
		if p := b.Post("/oauth/authorize", bad); p.Status != http.StatusForbidden {
			t.Fatalf("forged token: status %d", p.Status)
		}
	})

	t.Run("deny", func(t *testing.T) {
		deny := url.Values{}
		for k, v := range form {
			deny[k] = v
		}
		deny.Set("decision", "deny")
		p := b.Post("/oauth/authorize", deny)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("status %d", p.Status)
		}
		got := p.Location(t).Query()
		if got.Get("error") != "access_denied" || got.Get("state") != "st-123" || got.Get("iss") != e.URL {
			t.Fatalf("deny redirect %v", got)
		}
		if _, err := authserver.NewSQLConsentStore(e.App.DB).Get(context.Background(), e.User.ID, e.public.ID); err == nil {
			t.Fatal("denied consent was stored")
		}
	})

	t.Run("allow", func(t *testing.T) {
		allow := url.Values{}
		for k, v := range form {
			allow[k] = v
		}
		allow.Set("decision", "allow")
		p := b.Post("/oauth/authorize", allow)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("status %d: %s", p.Status, p.Body)
		}
		loc := p.Location(t)
		if loc.Host != "127.0.0.1:51234" || loc.Path != "/callback" {
			t.Fatalf("redirected to %s", loc)
		}
		got := loc.Query()
		if got.Get("code") == "" || got.Get("state") != "st-123" || got.Get("iss") != e.URL || got.Has("error") {
			t.Fatalf("success redirect %v", got)
		}
		ti, err := e.App.OAuth.Tokens.GetByCode(context.Background(), got.Get("code"))
		if err != nil || ti == nil {
			t.Fatalf("code not stored: %v", err)
		}
		if ti.GetUserID() != strconv.FormatInt(e.User.ID, 10) || ti.GetClientID() != e.public.ID ||
			ti.GetScope() != "session:read" || ti.GetRedirectURI() != "http://127.0.0.1:51234/callback" ||
			ti.GetCodeChallenge() != q.Get("code_challenge") || ti.GetCodeChallengeMethod() != oauth2.CodeChallengeS256 {
			t.Fatalf("stored code: user %q client %q scope %q redirect %q challenge %q/%q", ti.GetUserID(), ti.GetClientID(),
				ti.GetScope(), ti.GetRedirectURI(), ti.GetCodeChallenge(), ti.GetCodeChallengeMethod())
		}
	})

	t.Run("subset skips consent", func(t *testing.T) {
		q2 := e.authzQuery()
		q2.Set("redirect_uri", q.Get("redirect_uri"))
		p := b.Get("/oauth/authorize?" + q2.Encode())
		if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("code") == "" {
			t.Fatalf("status %d Location %q", p.Status, p.Header.Get("Location"))
		}
	})

	t.Run("prompt=consent asks again", func(t *testing.T) {
		q2 := e.authzQuery()
		q2.Set("prompt", "consent")
		if p := b.Get("/oauth/authorize?" + q2.Encode()); p.Status != http.StatusOK || !strings.Contains(p.Body, "consent-allow") {
			t.Fatalf("status %d", p.Status)
		}
	})

	t.Run("superset asks again", func(t *testing.T) {
		q2 := e.authzQuery()
		q2.Set("scope", "session:read user:read")
		p := b.Get("/oauth/authorize?" + q2.Encode())
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "already allowed") {
			t.Fatalf("status %d: %s", p.Status, p.Body)
		}
		q2.Set("prompt", "none")
		p = b.Get("/oauth/authorize?" + q2.Encode())
		if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("error") != "consent_required" {
			t.Fatalf("prompt=none: status %d Location %q", p.Status, p.Header.Get("Location"))
		}
	})

	t.Run("POST authorization request", func(t *testing.T) {
		p := b.Post("/oauth/authorize", e.authzQuery())
		if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("code") == "" {
			t.Fatalf("status %d Location %q", p.Status, p.Header.Get("Location"))
		}
	})

	t.Run("single registered URI may be omitted", func(t *testing.T) {
		q2 := url.Values{"response_type": {"code"}, "client_id": {e.single.ID}, "scope": {"session:read"},
			"code_challenge": {freshChallenge()}, "code_challenge_method": {"S256"}}
		p := b.Get("/oauth/authorize?" + q2.Encode())
		if p.Status != http.StatusOK {
			t.Fatalf("status %d: %s", p.Status, p.Body)
		}
		allow := p.Hidden()
		if allow.Has("redirect_uri") {
			t.Fatal("consent form invented a redirect_uri")
		}
		allow.Set("decision", "allow")
		p = b.Post("/oauth/authorize", allow)
		if loc := p.Location(t); loc.Host != "single.example.com" || loc.Query().Get("code") == "" {
			t.Fatalf("redirected to %s", loc)
		}
	})
}

// TestWebSecurityHeaders: anti-clickjacking, no-referrer, no-store on every
// page and redirect, and no CORS on the authorization endpoint.
func TestWebSecurityHeaders(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	q := e.authzQuery()
	bad := e.authzQuery()
	bad.Set("client_id", "nope")
	cases := []struct {
		name, method, path string
	}{
		{"login page", http.MethodGet, "/login"},
		{"consent page", http.MethodGet, "/oauth/authorize?" + q.Encode()},
		{"error page", http.MethodGet, "/oauth/authorize?" + bad.Encode()},
		{"account page", http.MethodGet, "/account/"},
		{"preflight on authorize", http.MethodOptions, "/oauth/authorize"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.Do(tc.method, tc.path, nil, http.Header{"Origin": {"https://attacker.example"},
				"Access-Control-Request-Method": {"POST"}})
			if tc.method == http.MethodOptions {
				if resp.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Fatal("CORS allowed on /oauth/authorize")
				}
				return
			}
			hd := resp.Header
			if hd.Get("X-Frame-Options") != "DENY" || !strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				hd.Get("Referrer-Policy") != "no-referrer" || hd.Get("Cache-Control") != "no-store" ||
				hd.Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("headers %v", hd)
			}
		})
	}
}

// TestAuthorizePlainPKCEWhenEnabled: oauth.allow_plain_pkce lets a plain
// challenge through (still a well-formed verifier), and the code records
// the plain method.
func TestAuthorizePlainPKCEWhenEnabled(t *testing.T) {
	e := newPagesEnv(t, testenv.Config(func(c *configs.Config) { c.OAuth.AllowPlainPKCE = true }))
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	cases := []struct {
		name, challenge, method string
		wantConsent             bool
	}{
		{"plain", testVerifier, "plain", true},
		{"plain, too short", "short", "plain", false},
		{"plain, bad characters", testVerifier + "!", "plain", false},
		{"S256 still works", s256(testVerifier), "S256", true},
		{"no method still means plain", testVerifier, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := e.authzQuery()
			q.Set("code_challenge", tc.challenge)
			q.Set("code_challenge_method", tc.method)
			if tc.method == "" {
				q.Del("code_challenge_method")
			}
			p := b.Get("/oauth/authorize?" + q.Encode())
			if tc.wantConsent {
				if p.Status != http.StatusOK || p.Hidden().Get("code_challenge_method") != tc.method {
					t.Fatalf("status %d; form %v", p.Status, p.Hidden())
				}
				return
			}
			if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("error") != "invalid_request" {
				t.Fatalf("status %d Location %q", p.Status, p.Header.Get("Location"))
			}
		})
	}
}
