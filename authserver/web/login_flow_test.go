package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/scopes"
)

func hasSessionCookie(p page) bool {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == sessions.CookieName && c.Value != "" {
			return true
		}
	}
	return false
}

func TestLoginCSRF(t *testing.T) {
	h := newWebHarness(t)
	cases := []struct {
		name  string
		build func(t *testing.T) (*http.Client, url.Values, http.Header)
	}{
		{"no token", func(t *testing.T) (*http.Client, url.Values, http.Header) {
			b := h.browser()
			h.do(b, http.MethodGet, "/login", nil)
			return b, url.Values{}, nil
		}},
		{"token without its cookie", func(t *testing.T) (*http.Client, url.Values, http.Header) {
			other := h.browser()
			f := hiddenFields(h.do(other, http.MethodGet, "/login", nil).body)
			return h.browser(), f, nil
		}},
		{"token of another browser", func(t *testing.T) (*http.Client, url.Values, http.Header) {
			other := h.browser()
			f := hiddenFields(h.do(other, http.MethodGet, "/login", nil).body)
			b := h.browser()
			h.do(b, http.MethodGet, "/login", nil)
			return b, f, nil
		}},
		{"cross-site fetch metadata", func(t *testing.T) (*http.Client, url.Values, http.Header) {
			b := h.browser()
			f := hiddenFields(h.do(b, http.MethodGet, "/login", nil).body)
			return b, f, http.Header{"Sec-Fetch-Site": {"cross-site"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, f, hdr := tc.build(t)
			f.Set("username", "alice")
			f.Set("password", harnessPassword)
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/login", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header[k] = v
			}
			resp, err := b.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			p := page{status: resp.StatusCode, header: resp.Header}
			if p.status != http.StatusForbidden || hasSessionCookie(p) {
				t.Fatalf("status %d, session cookie %v", p.status, hasSessionCookie(p))
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	h := newWebHarness(t) // 3 attempts per minute
	b := h.browser()
	attempt := func(user, pass string) page {
		f := hiddenFields(h.do(b, http.MethodGet, "/login", nil).body)
		f.Set("username", user)
		f.Set("password", pass)
		return h.do(b, http.MethodPost, "/login", f)
	}
	for i := range 3 {
		if p := attempt("alice", "wrong password"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not correct") {
			t.Fatalf("attempt %d: status %d", i+1, p.status)
		}
	}
	p := attempt("alice", harnessPassword)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many sign-in attempts") {
		t.Fatalf("4th attempt: status %d Retry-After %q", p.status, p.header.Get("Retry-After"))
	}
	if hasSessionCookie(p) {
		t.Fatal("rate-limited attempt logged in")
	}
	if p := attempt("ALICE", harnessPassword); p.status != http.StatusTooManyRequests {
		t.Fatalf("username case changes the bucket: status %d", p.status)
	}
	if p := attempt("bob", "whatever pw"); p.status != http.StatusBadRequest {
		t.Fatalf("other username limited too: status %d", p.status)
	}
}

func TestLoginReturnTo(t *testing.T) {
	h := newWebHarness(t)
	cases := []struct{ name, returnTo, want string }{
		{"local", "/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"},
		{"absolute URL", "https://attacker.example/", "/account/"},
		{"scheme-relative", "//attacker.example/", "/account/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := h.browser()
			f := hiddenFields(h.do(b, http.MethodGet, "/login?return_to="+url.QueryEscape(tc.returnTo), nil).body)
			f.Set("return_to", tc.returnTo) // also tamper with the posted field
			f.Set("username", "alice")
			f.Set("password", harnessPassword)
			p := h.do(b, http.MethodPost, "/login", f)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != tc.want {
				t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
			}
		})
	}
}

func TestLogout(t *testing.T) {
	h := newWebHarness(t)
	b := h.browser()
	h.login(b)
	acct := h.do(b, http.MethodGet, "/account/", nil)
	if acct.status != http.StatusOK {
		t.Fatalf("account: %d", acct.status)
	}
	if p := h.do(b, http.MethodPost, "/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", p.status)
	}
	if p := h.do(b, http.MethodGet, "/account/", nil); p.status != http.StatusOK {
		t.Fatalf("session ended by a CSRF-less logout: %d", p.status)
	}
	f := hiddenFields(h.do(b, http.MethodGet, "/logout", nil).body)
	if p := h.do(b, http.MethodPost, "/logout", f); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", p.status, p.header.Get("Location"))
	}
	if p := h.do(b, http.MethodGet, "/account/", nil); p.status != http.StatusSeeOther || p.location(t).Path != "/login" {
		t.Fatalf("still signed in after logout: %d", p.status)
	}
}

func TestAccountRevokeApp(t *testing.T) {
	h := newWebHarness(t)
	ctx := context.Background()
	set, _ := scopes.ParseSet("session:read")
	if _, err := h.consents.Grant(ctx, h.alice.ID, harnessPublic, set); err != nil {
		t.Fatal(err)
	}
	var revoked []string
	h.web.deps.RevokeGrants = func(_ context.Context, userID int64, clientID string) error {
		revoked = append(revoked, clientID)
		return nil
	}
	h.web.deps.Tokens = func(_ context.Context, userID int64) ([]TokenSummary, error) {
		if userID != h.alice.ID {
			t.Errorf("tokens listed for user %d", userID)
		}
		return []TokenSummary{{ID: 7, Prefix: "agp_AbCd", Note: "CI <deploy>", Valid: true}}, nil
	}
	b := h.browser()
	h.login(b)
	p := h.do(b, http.MethodGet, "/account/", nil)
	if !strings.Contains(p.body, "Native &lt;App&gt;") || !strings.Contains(p.body, "session:read") {
		t.Fatalf("account page does not list the app: %s", p.body)
	}
	if !strings.Contains(p.body, `href="/api/users/alice/api-tokens/7/"`) || !strings.Contains(p.body, "CI &lt;deploy&gt;") {
		t.Fatalf("account page does not list the API token: %s", p.body)
	}
	csrf := hiddenFields(p.body).Get("csrf_token")
	if p := h.do(b, http.MethodPost, "/account/apps/revoke", url.Values{"client_id": {harnessPublic}}); p.status != http.StatusForbidden {
		t.Fatalf("revoke without CSRF: %d", p.status)
	}
	p = h.do(b, http.MethodPost, "/account/apps/revoke", url.Values{"client_id": {harnessPublic}, "csrf_token": {csrf}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if _, err := h.consents.Get(ctx, h.alice.ID, harnessPublic); err == nil {
		t.Fatal("consent survived revoke")
	}
	if len(revoked) != 1 || revoked[0] != harnessPublic {
		t.Fatalf("RevokeGrants calls %v", revoked)
	}
}
