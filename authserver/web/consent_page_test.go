package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
)

// consentFor opens the consent page of client cl for redirect and scope in
// a signed-in browser.
func consentFor(t *testing.T, b *testenv.Browser, cl *authserver.Client, redirect, scope string) testenv.Page {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"st"}, "code_challenge": {freshChallenge()}, "code_challenge_method": {"S256"}}
	p := b.Get("/oauth/authorize?" + q.Encode())
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="consent-allow"`) {
		t.Fatalf("authorize: status %d, want the consent page: %s", p.Status, p.Body)
	}
	return p
}

// section returns the element with the given id (up to its closing tag
// name), or "" when the page has none.
func section(body, id, tag string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</"+tag+">")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// TestConsentPage: the consent page names the app (escaped), says who
// registered it (the operator, an administrator, or a user, the last
// marked unverified), describes each requested scope from the registry and
// shows the redirect URI's origin, in words for a loopback or private-use
// redirect.
func TestConsentPage(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		dev := e.CreateUser(users.NewUser{Username: "dev+hobby", Password: "dev password 1234"})
		operator, _ := e.RegisterClient(authserver.ClientSpec{Name: "Photo <Album>",
			RedirectURIs: []string{"https://photos.example.com/oauth/cb?x=1"}, Scopes: []string{"session:read", "user:read"}})
		byAdmin, _ := e.RegisterClient(authserver.ClientSpec{Name: "Admin tool", OwnerID: e.Admin.ID,
			RedirectURIs: []string{"https://tool.example.org:8443/cb"}, Scopes: []string{"session:read"}})
		byUser, _ := e.RegisterClient(authserver.ClientSpec{Name: "Hobby CLI", OwnerID: dev.ID, Public: true,
			RedirectURIs: []string{"http://127.0.0.1:9000/cb", "com.example.hobby:/cb"}, Scopes: []string{"session:read"}})
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)

		cases := []struct {
			name                string
			cl                  *authserver.Client
			redirect, scope     string
			owner, origin, note string
			unverified          bool
		}{
			{"operator", operator, "https://photos.example.com/oauth/cb?x=1", "session:read user:read",
				"Registered by the operator of this server.", "https://photos.example.com", "", false},
			{"administrator", byAdmin, "https://tool.example.org:8443/cb", "session:read",
				"Registered by " + testenv.AdminUsername + ", an administrator of this server.", "https://tool.example.org:8443", "", false},
			{"user, loopback", byUser, "http://127.0.0.1:9000/cb", "session:read",
				"Registered by dev+hobby, a user of this server; no administrator has reviewed it.",
				"http://127.0.0.1:9000", "an application running on this computer", true},
			{"user, private-use scheme", byUser, "com.example.hobby:/cb", "session:read",
				"Registered by dev+hobby", "com.example.hobby:", "an application installed on your device", true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := consentFor(t, b, tc.cl, tc.redirect, tc.scope)
				if !strings.Contains(p.Body, "<strong>"+html.EscapeString(tc.cl.Name)+"</strong> wants to access your account") {
					t.Errorf("the page does not name %q", tc.cl.Name)
				}
				owner := html.UnescapeString(section(p.Body, "consent-owner", "p"))
				if !strings.Contains(owner, tc.owner) {
					t.Errorf("owner line %q, want %q", owner, tc.owner)
				}
				if got := strings.Contains(owner, "Unverified application"); got != tc.unverified {
					t.Errorf("unverified badge shown %v, want %v", got, tc.unverified)
				}
				for _, s := range strings.Fields(tc.scope) {
					desc, _ := e.App.Scopes.Describe(s)
					if desc == "" || desc == s || !strings.Contains(section(p.Body, "scopes", "ul"), html.EscapeString(desc)) {
						t.Errorf("scope %s: description %q not on the page", s, desc)
					}
				}
				target := section(p.Body, "consent-redirect", "div")
				if !strings.Contains(target, `<p class="origin"><strong>`+html.EscapeString(tc.origin)+`</strong></p>`) ||
					!strings.Contains(target, "<code>"+html.EscapeString(tc.redirect)+"</code>") || !strings.Contains(target, tc.note) {
					t.Errorf("redirect target %q, want origin %q, note %q and the full URI", target, tc.origin, tc.note)
				}
			})
		}
	})
}

// TestLoginErrorSame: a wrong password, an unknown user and a deactivated
// user get the same answer (status and message), shown in place, tied to
// the inputs (aria-describedby), the typed username kept and escaped.
func TestLoginErrorSame(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		off := e.CreateUser(users.NewUser{Username: "gone", Password: "gone password 1234"})
		if err := e.App.Users.SetActive(t.Context(), off.ID, false); err != nil {
			t.Fatal(err)
		}
		alert := regexp.MustCompile(`<div class="error" role="alert" id="login-error">([^<]*)</div>`)
		var first string
		for _, tc := range []struct{ user, pass string }{
			{testenv.UserUsername, "not the password"}, {"nobody<x>", "whatever pass"}, {"gone", "gone password 1234"},
		} {
			b := e.Browser()
			f := b.Get("/login").Hidden()
			f.Set("username", tc.user)
			f.Set("password", tc.pass)
			p := b.Post("/login", f)
			m := alert.FindStringSubmatch(p.Body)
			if p.Status != http.StatusBadRequest || m == nil || hasSessionCookie(p) {
				t.Fatalf("%s: status %d, alert %v", tc.user, p.Status, m)
			}
			if first == "" {
				first = m[1]
			} else if m[1] != first {
				t.Errorf("%s: message %q differs from %q", tc.user, m[1], first)
			}
			if strings.Count(p.Body, `aria-describedby="login-error"`) != 2 || !strings.Contains(p.Body, `value="`+html.EscapeString(tc.user)+`"`) {
				t.Errorf("%s: inputs not tied to the error or username not kept", tc.user)
			}
		}
	})
}

// TestAuthorizedAppsLastUsed: the authorized-apps page shows "Never" until
// the app gets a token, then the time of the code exchange; a refresh
// within the minute leaves it, one after it moves it.
func TestAuthorizedAppsLastUsed(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		cl, _ := e.RegisterClient(authserver.ClientSpec{Name: "Notes", Public: true,
			RedirectURIs: []string{"http://127.0.0.1:8080/callback"}, Scopes: []string{"session:read"}})
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		q := url.Values{"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:8080/callback"},
			"scope": {"session:read"}, "state": {"st"}, "code_challenge": {s256(testVerifier)}, "code_challenge_method": {"S256"}}
		allow := b.Get("/oauth/authorize?" + q.Encode()).Hidden()
		allow.Set("decision", "allow")
		code := b.Post("/oauth/authorize", allow).Location(t).Query().Get("code")
		lastUsed := func() string {
			t.Helper()
			p := b.Get("/account/authorized-apps/")
			row := section(p.Body, "apps", "table")
			if p.Status != http.StatusOK || !strings.Contains(row, "Notes") {
				t.Fatalf("authorized apps: status %d, app missing", p.Status)
			}
			m := regexp.MustCompile(`<td class="when last-used">(.*?)</td>`).FindStringSubmatch(row)
			if m == nil {
				t.Fatal("no last-used cell")
			}
			return m[1]
		}
		if got := lastUsed(); !strings.Contains(got, "Never") {
			t.Fatalf("before any token: last used %q, want Never", got)
		}
		want := func(at time.Time) string {
			at = at.UTC()
			return `<time datetime="` + at.Format(time.RFC3339) + `">` + at.Format("2006-01-02 15:04 MST") + `</time>`
		}
		token := func(form url.Values) string {
			t.Helper()
			form.Set("client_id", cl.ID)
			p := e.Browser().Post(authserver.PathToken, form)
			m := regexp.MustCompile(`"refresh_token":"([^"]+)"`).FindStringSubmatch(p.Body)
			if p.Status != http.StatusOK || m == nil {
				t.Fatalf("token endpoint: %d %s", p.Status, p.Body)
			}
			return m[1]
		}
		e.Clock.Advance(10 * time.Second)
		redeemedAt := e.Clock.Now()
		refresh := token(url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"http://127.0.0.1:8080/callback"}, "code_verifier": {testVerifier}})
		if got := lastUsed(); got != want(redeemedAt) {
			t.Fatalf("after the code exchange: last used %q, want %q", got, want(redeemedAt))
		}
		e.Clock.Advance(45 * time.Second)
		refresh = token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if got := lastUsed(); got != want(redeemedAt) {
			t.Fatalf("refresh within the minute moved last used to %q", got)
		}
		e.Clock.Advance(20 * time.Second)
		refreshedAt := e.Clock.Now()
		token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if got := lastUsed(); got != want(refreshedAt) {
			t.Fatalf("after a refresh a minute later: last used %q, want %q", got, want(refreshedAt))
		}
	}, testenv.Clock(time.Time{}))
}
