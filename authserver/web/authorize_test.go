package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-oauth2/oauth2/v4"
)

// TestAuthorizeUntrustedErrorsNotRedirected: while the client or redirect
// URI is not trusted, errors are shown on our page and never redirected
// (RFC 6749 §4.1.2.1; go-oauth2 #105, #298), even when the request has
// other errors too.
func TestAuthorizeUntrustedErrorsNotRedirected(t *testing.T) {
	h := newWebHarness(t)
	cases := []struct {
		name   string
		change func(q url.Values)
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }},
		{"missing client_id", func(q url.Values) { q.Del("client_id") }},
		{"disabled client", func(q url.Values) {
			q.Set("client_id", "disabled")
			q.Set("redirect_uri", "https://off.example.com/cb")
		}},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://attacker.example/cb") }},
		{"subdomain", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "https://evil.app.example.com/cb")
		}},
		{"host suffix", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "https://app.example.com.attacker.example/cb")
		}},
		{"path suffix", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "https://app.example.com/cb/../steal")
		}},
		{"scheme change", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "http://app.example.com/cb")
		}},
		{"custom scheme", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "myapp://app.example.com/cb")
		}},
		{"userinfo", func(q url.Values) {
			q.Set("client_id", harnessConf)
			q.Set("redirect_uri", "https://app.example.com@attacker.example/cb")
		}},
		{"loopback other path", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/evil") }},
		{"duplicate client_id", func(q url.Values) { q.Add("client_id", harnessConf) }},
		{"duplicate redirect_uri", func(q url.Values) { q.Add("redirect_uri", "https://attacker.example/cb") }},
		{"no redirect_uri, several registered", func(q url.Values) { q.Del("redirect_uri") }},
		{"bad redirect plus bad response_type", func(q url.Values) {
			q.Set("redirect_uri", "https://attacker.example/cb")
			q.Set("response_type", "token")
		}},
		{"unknown client plus bad scope", func(q url.Values) {
			q.Set("client_id", "nope")
			q.Set("scope", "admin:read")
		}},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				q := authzQuery()
				tc.change(q)
				var p page
				if method == http.MethodGet {
					p = h.do(h.browser(), method, "/oauth/authorize?"+q.Encode(), nil)
				} else {
					p = h.do(h.browser(), method, "/oauth/authorize", q)
				}
				if p.status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", p.status)
				}
				if loc := p.header.Get("Location"); loc != "" {
					t.Fatalf("redirected to %q: open redirector", loc)
				}
				if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || strings.Contains(p.body, "attacker.example") {
					t.Fatalf("error page: %s %s", p.header.Get("Content-Type"), p.body)
				}
			})
		}
	}
}

// TestAuthorizeTrustedErrorsRedirected: once client and redirect URI are
// trusted, errors go back to the client with error, error_description,
// state and iss (RFC 6749 §4.1.2.1, RFC 9207), by 303.
func TestAuthorizeTrustedErrorsRedirected(t *testing.T) {
	h := newWebHarness(t)
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
			q.Set("code_challenge", harnessVerifier)
			q.Set("code_challenge_method", "plain")
		}, "invalid_request"},
		{"challenge without method (defaults to plain)", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"method without challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"unknown method", func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request"},
		{"challenge not S256-shaped", func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 64)) }, "invalid_request"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "session:read nope:read") }, "invalid_scope"},
		{"registry scope not allowed for client", func(q url.Values) { q.Set("scope", "admin:read") }, "invalid_scope"},
		{"malformed scope", func(q url.Values) { q.Set("scope", "session:read  tokens:read") }, "invalid_scope"},
		{"no scope", func(q url.Values) { q.Del("scope") }, "invalid_scope"},
		{"duplicate scope parameter", func(q url.Values) { q.Add("scope", "tokens:read") }, "invalid_request"},
		{"duplicate state", func(q url.Values) { q.Add("state", "other") }, "invalid_request"},
		{"fragment response mode", func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
		{"request object", func(q url.Values) { q.Set("request", "eyJ") }, "invalid_request"},
		{"client without code grant", func(q url.Values) {
			q.Set("client_id", "cc-only")
			q.Set("redirect_uri", "https://m.example.com/cb")
		}, "unauthorized_client"},
		{"prompt=none, not signed in", func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authzQuery()
			tc.change(q)
			p := h.do(h.browser(), http.MethodGet, "/oauth/authorize?"+q.Encode(), nil)
			if p.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", p.status, p.body)
			}
			loc := p.location(t)
			wantBase := q.Get("redirect_uri")
			if base := loc.Scheme + "://" + loc.Host + loc.Path; base != wantBase {
				t.Fatalf("redirected to %s, want %s", base, wantBase)
			}
			got := loc.Query()
			if got.Get("error") != tc.want || got.Get("error_description") == "" {
				t.Fatalf("error=%q description=%q, want %q", got.Get("error"), got.Get("error_description"), tc.want)
			}
			if got.Get("state") != "st-123" || got.Get("iss") != h.srv.URL {
				t.Fatalf("state=%q iss=%q", got.Get("state"), got.Get("iss"))
			}
			if got.Has("code") {
				t.Fatal("error response carries a code")
			}
		})
	}
}

// TestAuthorizeFlow drives login, consent and code issuance through the
// forms, and checks what the library stored with the code.
func TestAuthorizeFlow(t *testing.T) {
	h := newWebHarness(t)
	b := h.browser()
	q := authzQuery()
	q.Set("redirect_uri", "http://127.0.0.1:51234/callback") // RFC 8252 §7.3: any loopback port
	authzURL := "/oauth/authorize?" + q.Encode()

	p := h.do(b, http.MethodGet, authzURL, nil)
	if p.status != http.StatusSeeOther || p.location(t).Path != "/login" {
		t.Fatalf("unauthenticated: status %d, Location %q", p.status, p.header.Get("Location"))
	}
	returnTo := p.location(t).Query().Get("return_to")
	if returnTo == "" || !strings.HasPrefix(returnTo, "/oauth/authorize?") {
		t.Fatalf("return_to = %q", returnTo)
	}

	p = h.do(b, http.MethodGet, p.header.Get("Location"), nil)
	f := hiddenFields(p.body)
	if f.Get("return_to") != returnTo || f.Get("csrf_token") == "" {
		t.Fatalf("login form fields %v", f)
	}
	// The sign-in page names the application, escaped.
	if !strings.Contains(p.body, "to continue to <strong>Native &lt;App&gt;</strong>") {
		t.Fatalf("login page does not name the app: %s", p.body)
	}
	if plain := h.do(h.browser(), http.MethodGet, "/login", nil); strings.Contains(plain.body, "to continue to") {
		t.Fatalf("login page without an authorization request names an app: %s", plain.body)
	}
	f.Set("username", "alice")
	f.Set("password", harnessPassword)
	p = h.do(b, http.MethodPost, "/login", f)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != returnTo {
		t.Fatalf("login: status %d Location %q", p.status, p.header.Get("Location"))
	}

	consent := h.do(b, http.MethodGet, returnTo, nil)
	if consent.status != http.StatusOK || !strings.Contains(consent.body, "Ability to perform HTTP GET on the session resource") {
		t.Fatalf("consent page: %d %s", consent.status, consent.body)
	}
	if !strings.Contains(consent.body, "Native &lt;App&gt;") || strings.Contains(consent.body, "Native <App>") {
		t.Fatal("client name not HTML-escaped on the consent page")
	}
	form := hiddenFields(consent.body)
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
		p := h.do(b, http.MethodPost, "/oauth/authorize", bad)
		if p.status != http.StatusForbidden || p.header.Get("Location") != "" {
			t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
		}
		bad.Set("csrf_token", "forged")
		if p := h.do(b, http.MethodPost, "/oauth/authorize", bad); p.status != http.StatusForbidden {
			t.Fatalf("forged token: status %d", p.status)
		}
	})

	t.Run("deny", func(t *testing.T) {
		deny := url.Values{}
		for k, v := range form {
			deny[k] = v
		}
		deny.Set("decision", "deny")
		p := h.do(b, http.MethodPost, "/oauth/authorize", deny)
		if p.status != http.StatusSeeOther {
			t.Fatalf("status %d", p.status)
		}
		got := p.location(t).Query()
		if got.Get("error") != "access_denied" || got.Get("state") != "st-123" || got.Get("iss") != h.srv.URL {
			t.Fatalf("deny redirect %v", got)
		}
		if _, err := h.consents.Get(context.Background(), h.alice.ID, harnessPublic); err == nil {
			t.Fatal("denied consent was stored")
		}
	})

	t.Run("allow", func(t *testing.T) {
		allow := url.Values{}
		for k, v := range form {
			allow[k] = v
		}
		allow.Set("decision", "allow")
		p := h.do(b, http.MethodPost, "/oauth/authorize", allow)
		if p.status != http.StatusSeeOther {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		loc := p.location(t)
		if loc.Host != "127.0.0.1:51234" || loc.Path != "/callback" {
			t.Fatalf("redirected to %s", loc)
		}
		got := loc.Query()
		if got.Get("code") == "" || got.Get("state") != "st-123" || got.Get("iss") != h.srv.URL || got.Has("error") {
			t.Fatalf("success redirect %v", got)
		}
		ti := h.codes.get(got.Get("code"))
		if ti == nil {
			t.Fatal("code not stored")
		}
		if ti.GetUserID() != strconv.FormatInt(h.alice.ID, 10) || ti.GetClientID() != harnessPublic ||
			ti.GetScope() != "session:read" || ti.GetRedirectURI() != "http://127.0.0.1:51234/callback" ||
			ti.GetCodeChallenge() != q.Get("code_challenge") || ti.GetCodeChallengeMethod() != oauth2.CodeChallengeS256 {
			t.Fatalf("stored code: user %q client %q scope %q redirect %q challenge %q/%q", ti.GetUserID(), ti.GetClientID(),
				ti.GetScope(), ti.GetRedirectURI(), ti.GetCodeChallenge(), ti.GetCodeChallengeMethod())
		}
	})

	t.Run("subset skips consent", func(t *testing.T) {
		p := h.do(b, http.MethodGet, authzURL, nil)
		if p.status != http.StatusSeeOther || p.location(t).Query().Get("code") == "" {
			t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
		}
	})

	t.Run("prompt=consent asks again", func(t *testing.T) {
		q2 := authzQuery()
		q2.Set("prompt", "consent")
		if p := h.do(b, http.MethodGet, "/oauth/authorize?"+q2.Encode(), nil); p.status != http.StatusOK || !strings.Contains(p.body, "consent-allow") {
			t.Fatalf("status %d", p.status)
		}
	})

	t.Run("superset asks again", func(t *testing.T) {
		q2 := authzQuery()
		q2.Set("scope", "session:read tokens:read")
		p := h.do(b, http.MethodGet, "/oauth/authorize?"+q2.Encode(), nil)
		if p.status != http.StatusOK || !strings.Contains(p.body, "already allowed") {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		q2.Set("prompt", "none")
		p = h.do(b, http.MethodGet, "/oauth/authorize?"+q2.Encode(), nil)
		if p.status != http.StatusSeeOther || p.location(t).Query().Get("error") != "consent_required" {
			t.Fatalf("prompt=none: status %d Location %q", p.status, p.header.Get("Location"))
		}
	})

	t.Run("POST authorization request", func(t *testing.T) {
		p := h.do(b, http.MethodPost, "/oauth/authorize", authzQuery())
		if p.status != http.StatusSeeOther || p.location(t).Query().Get("code") == "" {
			t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
		}
	})

	t.Run("single registered URI may be omitted", func(t *testing.T) {
		q2 := url.Values{"response_type": {"code"}, "client_id": {"single"}, "scope": {"session:read"}}
		p := h.do(b, http.MethodGet, "/oauth/authorize?"+q2.Encode(), nil)
		if p.status != http.StatusOK {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		allow := hiddenFields(p.body)
		if allow.Has("redirect_uri") {
			t.Fatal("consent form invented a redirect_uri")
		}
		allow.Set("decision", "allow")
		p = h.do(b, http.MethodPost, "/oauth/authorize", allow)
		if loc := p.location(t); loc.Host != "single.example.com" || loc.Query().Get("code") == "" {
			t.Fatalf("redirected to %s", loc)
		}
	})
}

// TestWebSecurityHeaders: anti-clickjacking, no-referrer, no-store on every
// page and redirect, and no CORS on the authorization endpoint.
func TestWebSecurityHeaders(t *testing.T) {
	h := newWebHarness(t)
	b := h.browser()
	h.login(b)
	q := authzQuery()
	bad := authzQuery()
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
			req, _ := http.NewRequest(tc.method, h.srv.URL+tc.path, nil)
			req.Header.Set("Origin", "https://attacker.example")
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := b.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
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
	h := newWebHarness(t)
	h.web.cfg.AllowPlainPKCE = true
	b := h.browser()
	h.login(b)
	cases := []struct {
		name, challenge, method string
		wantConsent             bool
	}{
		{"plain", harnessVerifier, "plain", true},
		{"plain, too short", "short", "plain", false},
		{"plain, bad characters", harnessVerifier + "!", "plain", false},
		{"S256 still works", s256(harnessVerifier), "S256", true},
		{"no method still means plain", harnessVerifier, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authzQuery()
			q.Set("code_challenge", tc.challenge)
			q.Set("code_challenge_method", tc.method)
			if tc.method == "" {
				q.Del("code_challenge_method")
			}
			p := h.do(b, http.MethodGet, "/oauth/authorize?"+q.Encode(), nil)
			if tc.wantConsent {
				if p.status != http.StatusOK || hiddenFields(p.body).Get("code_challenge_method") != tc.method {
					t.Fatalf("status %d; form %v", p.status, hiddenFields(p.body))
				}
				return
			}
			if p.status != http.StatusSeeOther || p.location(t).Query().Get("error") != "invalid_request" {
				t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
			}
		})
	}
}
