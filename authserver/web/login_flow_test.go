package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

func hasSessionCookie(p testenv.Page) bool { return p.Cookie(sessions.CookieName) != "" }

func TestLoginCSRF(t *testing.T) {
	e := testenv.New(t)
	cases := []struct {
		name  string
		build func(t *testing.T) (*testenv.Browser, url.Values, http.Header)
	}{
		{"no token", func(t *testing.T) (*testenv.Browser, url.Values, http.Header) {
			b := e.Browser()
			b.Get("/login")
			return b, url.Values{}, nil
		}},
		{"token without its cookie", func(t *testing.T) (*testenv.Browser, url.Values, http.Header) {
			other := e.Browser()
			f := other.Get("/login").Hidden()
			return e.Browser(), f, nil
		}},
		{"token of another browser", func(t *testing.T) (*testenv.Browser, url.Values, http.Header) {
			other := e.Browser()
			f := other.Get("/login").Hidden()
			b := e.Browser()
			b.Get("/login")
			return b, f, nil
		}},
		{"cross-site fetch metadata", func(t *testing.T) (*testenv.Browser, url.Values, http.Header) {
			b := e.Browser()
			f := b.Get("/login").Hidden()
			return b, f, http.Header{"Sec-Fetch-Site": {"cross-site"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, f, hdr := tc.build(t)
			f.Set("username", testenv.UserUsername)
			f.Set("password", testenv.UserPassword)
			p := b.Do(http.MethodPost, "/login", f, hdr)
			if p.Status != http.StatusForbidden || hasSessionCookie(p) {
				t.Fatalf("status %d, session cookie %v", p.Status, hasSessionCookie(p))
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := testenv.New(t, testenv.Config(func(c *configs.Config) { c.Auth.LoginAttempts = 3 })) // 3 attempts per minute
	b := e.Browser()
	attempt := func(user, pass string) testenv.Page {
		f := b.Get("/login").Hidden()
		f.Set("username", user)
		f.Set("password", pass)
		return b.Post("/login", f)
	}
	for i := range 3 {
		if p := attempt(testenv.UserUsername, "wrong password"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not correct") {
			t.Fatalf("attempt %d: status %d", i+1, p.Status)
		}
	}
	p := attempt(testenv.UserUsername, testenv.UserPassword)
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many sign-in attempts") {
		t.Fatalf("4th attempt: status %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
	}
	if hasSessionCookie(p) {
		t.Fatal("rate-limited attempt logged in")
	}
	if p := attempt("ALICE", testenv.UserPassword); p.Status != http.StatusTooManyRequests {
		t.Fatalf("username case changes the bucket: status %d", p.Status)
	}
	if p := attempt("bob", "whatever pw"); p.Status != http.StatusBadRequest {
		t.Fatalf("other username limited too: status %d", p.Status)
	}
}

func TestLoginReturnTo(t *testing.T) {
	e := testenv.New(t)
	cases := []struct{ name, returnTo, want string }{
		{"local", "/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"},
		{"absolute URL", "https://attacker.example/", "/account/"},
		{"scheme-relative", "//attacker.example/", "/account/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := e.Browser()
			f := b.Get("/login?return_to=" + url.QueryEscape(tc.returnTo)).Hidden()
			f.Set("return_to", tc.returnTo) // also tamper with the posted field
			f.Set("username", testenv.UserUsername)
			f.Set("password", testenv.UserPassword)
			p := b.Post("/login", f)
			if p.Status != http.StatusSeeOther || p.Header.Get("Location") != tc.want {
				t.Fatalf("status %d Location %q", p.Status, p.Header.Get("Location"))
			}
		})
	}
}

func TestLogout(t *testing.T) {
	e := testenv.New(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	acct := b.Get("/account/")
	if acct.Status != http.StatusOK {
		t.Fatalf("account: %d", acct.Status)
	}
	if p := b.Post("/logout", url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", p.Status)
	}
	if p := b.Get("/account/"); p.Status != http.StatusOK {
		t.Fatalf("session ended by a CSRF-less logout: %d", p.Status)
	}
	f := b.Get("/logout").Hidden()
	if p := b.Post("/logout", f); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.Get("/account/"); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
		t.Fatalf("still signed in after logout: %d", p.Status)
	}
}

// TestAccountRevokeApp: the account pages list the user's authorized
// apps and API tokens (escaped); withdrawing an app needs the CSRF token,
// deletes the consent and revokes what the app holds for the user (a code
// issued before no longer redeems).
func TestAccountRevokeApp(t *testing.T) {
	e := newPagesEnv(t)
	ctx := context.Background()
	if _, _, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "CI <deploy>"}); err != nil {
		t.Fatal(err)
	}
	toks, err := e.App.Tokens.List(ctx, e.User.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens %v, %v", toks, err)
	}
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	q := e.authzQuery()
	q.Set("code_challenge", s256(testVerifier))
	consent := b.Get("/oauth/authorize?" + q.Encode())
	allow := consent.Hidden()
	allow.Set("decision", "allow")
	code := b.Post("/oauth/authorize", allow).Location(t).Query().Get("code")
	if code == "" {
		t.Fatal("no code")
	}

	if p := b.Get("/account/api-tokens/"); !strings.Contains(p.Body, fmt.Sprintf(`href="/account/api-tokens/%d/"`, toks[0].ID)) || !strings.Contains(p.Body, "CI &lt;deploy&gt;") {
		t.Fatalf("token page does not list the API token: %s", p.Body)
	}
	p := b.Get("/account/authorized-apps/")
	if !strings.Contains(p.Body, "Native &lt;App&gt;") || !strings.Contains(p.Body, "session:read") {
		t.Fatalf("authorized-apps page does not list the app: %s", p.Body)
	}
	csrf := p.Hidden().Get("csrf_token")
	if p := b.Post("/account/apps/revoke", url.Values{"client_id": {e.public.ID}}); p.Status != http.StatusForbidden {
		t.Fatalf("revoke without CSRF: %d", p.Status)
	}
	p = b.Post("/account/apps/revoke", url.Values{"client_id": {e.public.ID}, "csrf_token": {csrf}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.Status)
	}
	if _, err := authserver.NewSQLConsentStore(e.App.DB).Get(ctx, e.User.ID, e.public.ID); err == nil {
		t.Fatal("consent survived revoke")
	}
	if p := b.Get("/oauth/authorize?" + e.authzQuery().Encode()); p.Status != http.StatusOK || !strings.Contains(p.Body, "consent-allow") {
		t.Fatalf("authorize after revoke: %d, want the consent page again", p.Status)
	}
	redeem := e.Browser().Post(authserver.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {e.public.ID}, "redirect_uri": {"http://127.0.0.1:8080/callback"}, "code_verifier": {testVerifier}})
	if redeem.Status != http.StatusBadRequest || !strings.Contains(redeem.Body, "invalid_grant") {
		t.Fatalf("code issued before the withdrawal: %d %s", redeem.Status, redeem.Body)
	}
}
