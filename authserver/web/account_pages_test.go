package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

// apiStatus calls GET path on the management API with an API token.
func apiStatus(t *testing.T, e *testenv.Env, path, raw string) int {
	t.Helper()
	return e.Browser().Do(http.MethodGet, path, nil, http.Header{"Authorization": {"token " + raw}}).Status
}

var newTokenRE = regexp.MustCompile(`id="new-token" value="([^"]+)"`)

// createToken submits the create form and returns the response and the
// raw token it showed ("" when none).
func createToken(t *testing.T, b *testenv.Browser, form url.Values) (testenv.Page, string) {
	t.Helper()
	form.Set("csrf_token", b.CSRF("/account/api-tokens/new"))
	p := b.Post("/account/api-tokens/new", form)
	if m := newTokenRE.FindStringSubmatch(p.Body); m != nil {
		return p, m[1]
	}
	return p, ""
}

// TestAccountPagesSignedOut: every account page sends a signed-out
// visitor to /login (303) with the page to come back to, and the login
// form takes them there; POSTs are refused the same way.
func TestAccountPagesSignedOut(t *testing.T) {
	e := newPagesEnv(t)
	tok, _, err := e.App.Tokens.Generate(context.Background(), tokens.GenerateParams{User: e.User})
	if err != nil {
		t.Fatal(err)
	}
	edit := fmt.Sprintf("/account/api-tokens/%d/", tok.ID)
	b := e.Browser()
	for _, path := range []string{"/account/", "/account/api-tokens/", "/account/api-tokens/new", edit, "/account/authorized-apps/"} {
		p := b.Get(path)
		if p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" || p.Location(t).Query().Get("return_to") != path {
			t.Errorf("GET %s signed out: %d %s, want 303 to /login?return_to=%s", path, p.Status, p.Header.Get("Location"), path)
		}
	}
	for _, path := range []string{"/account/password", "/account/api-tokens/new", edit, edit + "invalidate", edit + "delete", "/account/authorized-apps/revoke"} {
		if p := b.Post(path, url.Values{}); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
			t.Errorf("POST %s signed out: %d, want 303 to /login", path, p.Status)
		}
	}
	// ... and back afterwards.
	f := b.Get("/login?return_to=" + url.QueryEscape("/account/api-tokens/")).Hidden()
	f.Set("username", testenv.UserUsername)
	f.Set("password", testenv.UserPassword)
	if p := b.Post("/login", f); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account/api-tokens/" {
		t.Fatalf("sign in: %d to %q, want 303 back to /account/api-tokens/", p.Status, p.Header.Get("Location"))
	}
	if p := b.Get("/account/api-tokens/"); p.Status != http.StatusOK || !strings.Contains(p.Body, `aria-current="page">API tokens`) {
		t.Fatalf("token page after sign-in: %d", p.Status)
	}
	if got, _ := e.App.Tokens.Get(context.Background(), tok.ID); !got.Valid {
		t.Fatal("a signed-out POST changed the token")
	}
}

// TestHomePage: / says what the server is to a signed-out visitor and is
// the account page once signed in; both carry the pages' security headers.
func TestHomePage(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	p := b.Get("/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `href="/login"`) || strings.Contains(p.Body, "Sign out") {
		t.Fatalf("signed-out home: %d %s", p.Status, p.Body)
	}
	if p.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("home page headers: %v", p.Header)
	}
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	p = b.Get("/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="password-form"`) || !strings.Contains(p.Body, "Signed in as <strong>alice</strong>") {
		t.Fatalf("signed-in home: %d %s", p.Status, p.Body)
	}
}

// TestScriptAllowedByCSP: the page's one inline script is exactly the one
// the Content-Security-Policy allows by hash (a template change that
// altered it would silently disable the policy editor).
func TestScriptAllowedByCSP(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	p := b.Get("/account/api-tokens/new")
	m := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no inline script on the token form")
	}
	sum := sha256.Sum256([]byte(m[1]))
	want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("CSP %q does not allow the script (%s)", csp, want)
	}
}

// TestChangePassword: the current password is required and checked, the
// new one must be long enough and confirmed, errors are shown in place,
// CSRF is enforced; afterwards only the new password signs in, and every
// other session of the user has ended while this one goes on.
func TestChangePassword(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	elsewhere := e.Browser()
	elsewhere.SignIn(testenv.UserUsername, testenv.UserPassword)
	const next = "a brand new passphrase"
	e.Logs.Secret(next)
	csrf := b.CSRF("/account/")
	cases := []struct {
		name              string
		cur, new, confirm string
		status            int
		want              string
	}{
		{"wrong current", "not it at all", next, next, http.StatusBadRequest, "Your current password was not correct."},
		{"no current", "", next, next, http.StatusBadRequest, "Enter your current password."},
		{"short", testenv.UserPassword, "short", "short", http.StatusBadRequest, "at least 8 characters"},
		{"mismatch", testenv.UserPassword, next, next + "x", http.StatusBadRequest, "do not match"},
	}
	for _, tc := range cases {
		p := b.Post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {tc.cur},
			"new_password": {tc.new}, "confirm_password": {tc.confirm}})
		if p.Status != tc.status || !strings.Contains(p.Body, tc.want) || !strings.Contains(p.Body, `aria-invalid="true"`) {
			t.Errorf("%s: %d, want %d with %q in place", tc.name, p.Status, tc.status, tc.want)
		}
	}
	if p := b.Post("/account/password", url.Values{"current_password": {testenv.UserPassword},
		"new_password": {next}, "confirm_password": {next}}); p.Status != http.StatusForbidden {
		t.Fatalf("without CSRF: %d, want 403", p.Status)
	}
	if _, err := e.App.Users.Authenticate(context.Background(), testenv.UserUsername, testenv.UserPassword); err != nil {
		t.Fatalf("a refused change changed the password: %v", err)
	}
	p := b.Post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {testenv.UserPassword},
		"new_password": {next}, "confirm_password": {next}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account/?notice=password" {
		t.Fatalf("change: %d %q", p.Status, p.Header.Get("Location"))
	}
	if _, err := e.App.Users.Authenticate(context.Background(), testenv.UserUsername, testenv.UserPassword); err == nil {
		t.Fatal("the old password still signs in")
	}
	e.Browser().SignIn(testenv.UserUsername, next)
	if p := b.Get("/account/"); p.Status != http.StatusOK {
		t.Fatalf("this browser after the change: %d, want still signed in", p.Status)
	}
	if p := elsewhere.Get("/account/"); p.Status != http.StatusSeeOther {
		t.Fatalf("another session after the change: %d, want 303 to /login", p.Status)
	}
}

// TestTokenCreateReadOnly: the Read-only preset creates a token with
// Review Board's read-only policy through the token manager, shows the
// secret once (and never again), and the token reads over HTTP.
func TestTokenCreateReadOnly(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		p, raw := createToken(t, b, url.Values{"note": {"CI <reads>"}, "preset": {"readonly"}, "expires": {"2999-01-02T03:04"}})
		if p.Status != http.StatusCreated || raw == "" {
			t.Fatalf("create: %d %s", p.Status, p.Body)
		}
		e.Logs.Secret(raw)
		list, err := e.App.Tokens.List(context.Background(), e.User.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("tokens %v %v", list, err)
		}
		tok := list[0]
		if string(tok.Policy) != `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}` || tok.Note != "CI <reads>" ||
			tok.Expires == nil || tok.Expires.Format("2006-01-02T15:04") != "2999-01-02T03:04" {
			t.Fatalf("stored token: policy %s note %q expires %v", tok.Policy, tok.Note, tok.Expires)
		}
		if st := apiStatus(t, e, "/api/users/alice/", raw); st != http.StatusOK {
			t.Fatalf("GET with the new token: %d", st)
		}
		lp := b.Get("/account/api-tokens/")
		if strings.Contains(lp.Body, raw) || !strings.Contains(lp.Body, tok.Prefix+"…") || !strings.Contains(lp.Body, `badge valid`) ||
			!strings.Contains(lp.Body, "CI &lt;reads&gt;") {
			t.Fatalf("token list: %s", lp.Body)
		}
		ep := b.Get(fmt.Sprintf("/account/api-tokens/%d/", tok.ID))
		if strings.Contains(ep.Body, raw) || !strings.Contains(ep.Body, `value="readonly" id="preset-readonly" checked`) {
			t.Fatalf("edit page: %s", ep.Body)
		}
	})
}

// TestTokenCustomPolicyError: an invalid Custom policy is refused by the
// token manager's validator; the form comes back with the validator's
// message and JSON pointer in place, the user's input kept, no token made.
func TestTokenCustomPolicyError(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	bad := `{"resources":{"*":{"allow":"GET"}}}`
	_, _, verr := e.App.Tokens.ValidatePolicy(json.RawMessage(bad))
	if verr == nil {
		t.Fatal("the policy is valid; pick another")
	}
	p, raw := createToken(t, b, url.Values{"note": {"mine"}, "preset": {"custom"}, "policy": {bad}})
	if p.Status != http.StatusBadRequest || raw != "" {
		t.Fatalf("create: %d, raw %q", p.Status, raw)
	}
	wantMsg := template(verr.Error())
	if !strings.Contains(p.Body, wantMsg) || !strings.Contains(p.Body, "(at /resources/*/allow)") ||
		!strings.Contains(p.Body, `value="mine"`) || !strings.Contains(p.Body, template(bad)) {
		t.Fatalf("form does not show %q at the pointer in place: %s", wantMsg, p.Body)
	}
	if list, _ := e.App.Tokens.List(context.Background(), e.User.ID); len(list) != 0 {
		t.Fatalf("a token was made: %v", list)
	}
	if p, raw := createToken(t, b, url.Values{"note": {"x"}, "preset": {"custom"}, "policy": {"{not json"}}); p.Status != http.StatusBadRequest || raw != "" {
		t.Fatalf("unparsable policy: %d", p.Status)
	}
	if p, _ := createToken(t, b, url.Values{"preset": {"nope"}}); p.Status != http.StatusBadRequest {
		t.Fatalf("unknown preset: %d", p.Status)
	}
	if p, _ := createToken(t, b, url.Values{"preset": {"full"}, "expires": {"tomorrow"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Enter a date and time") {
		t.Fatalf("bad expiry: %d", p.Status)
	}
	if p := b.Post("/account/api-tokens/new", url.Values{"preset": {"full"}}); p.Status != http.StatusForbidden {
		t.Fatalf("create without CSRF: %d, want 403", p.Status)
	}
	if list, _ := e.App.Tokens.List(context.Background(), e.User.ID); len(list) != 0 {
		t.Fatalf("a token was made: %v", list)
	}
}

// TestValidatePolicyEndpoint: the editor's live check answers with the
// token manager's own message and pointer, needs the session's CSRF token
// and a session.
func TestValidatePolicyEndpoint(t *testing.T) {
	e := newPagesEnv(t)
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	csrf := b.CSRF("/account/api-tokens/new")
	check := func(b *testenv.Browser, policy string, h http.Header) (int, map[string]any) {
		p := b.Do(http.MethodPost, "/account/api-tokens/validate-policy", url.Values{"policy": {policy}}, h)
		var v map[string]any
		_ = json.Unmarshal([]byte(p.Body), &v)
		return p.Status, v
	}
	hdr := http.Header{"X-Csrf-Token": {csrf}}
	for _, pol := range []string{`{"resources":{"*":{"allow":"GET"}}}`, `[]`, `{"resources":{}}`, `{"resources":{"nope":{"*":{"allow":["GET"]}}}}`} {
		_, _, err := e.App.Tokens.ValidatePolicy(json.RawMessage(pol))
		st, v := check(b, pol, hdr)
		if st != http.StatusOK || v["valid"] != false || v["message"] != err.Error() {
			t.Errorf("%s: %d %v, want the manager's %q", pol, st, v, err)
		}
	}
	if st, v := check(b, `{"resources":{"*":{"allow":["GET"],"block":["*"]}}}`, hdr); st != http.StatusOK || v["valid"] != true {
		t.Errorf("valid policy: %d %v", st, v)
	}
	if st, _ := check(b, `{}`, nil); st != http.StatusForbidden {
		t.Errorf("without CSRF: %d, want 403", st)
	}
	if st, _ := check(e.Browser(), `{}`, hdr); st != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", st)
	}
}

// TestTokenEditInvalidateDelete: edit changes note, expiry and policy
// through Update; invalidate stops the token at once and shows the
// reason; delete removes it; another user's token is a 404 to all of it.
func TestTokenEditInvalidateDelete(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		tok, raw, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "old"})
		if err != nil {
			t.Fatal(err)
		}
		e.Logs.Secret(raw)
		other, _, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.Admin, Note: "admin's"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		csrf := b.CSRF("/account/api-tokens/")
		path := fmt.Sprintf("/account/api-tokens/%d/", tok.ID)
		if p := b.Get(path); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="full" id="preset-full" checked`) {
			t.Fatalf("edit page: %d", p.Status)
		}
		p := b.Post(path, url.Values{"csrf_token": {csrf}, "note": {"new"}, "preset": {"custom"},
			"policy": {`{"resources":{"*":{"allow":["GET"],"block":["*"]}}}`}, "expires": {"2998-05-06T07:08"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("update: %d %s", p.Status, p.Body)
		}
		got, _ := e.App.Tokens.Get(ctx, tok.ID)
		if got.Note != "new" || string(got.Policy) != `{"resources":{"*":{"allow":["GET"],"block":["*"]}}}` || got.Expires == nil {
			t.Fatalf("after update: %+v", got)
		}
		if p := b.Post(path, url.Values{"csrf_token": {csrf}, "note": {"x"}, "preset": {"custom"}, "policy": {`{"resources":7}`}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="policy-error"`) {
			t.Fatalf("update with a bad policy: %d", p.Status)
		}
		if got, _ := e.App.Tokens.Get(ctx, tok.ID); got.Note != "new" {
			t.Fatalf("a refused update wrote: %+v", got)
		}
		for _, op := range []string{"", "invalidate", "delete"} {
			if p := b.Post(fmt.Sprintf("/account/api-tokens/%d/%s", other.ID, op), url.Values{"csrf_token": {csrf}}); p.Status != http.StatusNotFound {
				t.Errorf("POST %q on another user's token: %d, want 404", op, p.Status)
			}
		}
		if p := b.Get(fmt.Sprintf("/account/api-tokens/%d/", other.ID)); p.Status != http.StatusNotFound {
			t.Errorf("another user's token: %d, want 404", p.Status)
		}
		if p := b.Get("/account/api-tokens/x/"); p.Status != http.StatusNotFound {
			t.Errorf("bad id: %d, want 404", p.Status)
		}
		if st := apiStatus(t, e, "/api/users/alice/", raw); st != http.StatusOK {
			t.Fatalf("before invalidation: %d", st)
		}
		if p := b.Post(path+"invalidate", url.Values{"reason": {"leaked"}}); p.Status != http.StatusForbidden {
			t.Fatalf("invalidate without CSRF: %d", p.Status)
		}
		if p := b.Post(path+"invalidate", url.Values{"csrf_token": {csrf}, "reason": {"leaked <in> logs"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("invalidate: %d", p.Status)
		}
		if st := apiStatus(t, e, "/api/users/alice/", raw); st != http.StatusUnauthorized {
			t.Fatalf("after invalidation: %d, want 401", st)
		}
		if lp := b.Get("/account/api-tokens/"); !strings.Contains(lp.Body, "badge invalid") || !strings.Contains(lp.Body, "leaked &lt;in&gt; logs") {
			t.Fatalf("list after invalidation: %s", lp.Body)
		}
		if p := b.Post(path+"delete", url.Values{"csrf_token": {csrf}}); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if _, err := e.App.Tokens.Get(ctx, tok.ID); err == nil {
			t.Fatal("token survived delete")
		}
		if got, _ := e.App.Tokens.Get(ctx, other.ID); got == nil || !got.Valid {
			t.Fatal("another user's token was touched")
		}
	})
}

// template is s as html/template escapes it in text.
func template(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

// TestTokenBadges: the list marks each token valid, expired, invalid (with
// its reason) or deprecated (a legacy_sha1 token, deprecated by default).
func TestTokenBadges(t *testing.T) {
	e := newPagesEnv(t, testenv.Config(func(c *configs.Config) { c.Tokens.LegacySecret = "a legacy secret for the badge test" }))
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	gen := func(p tokens.GenerateParams) *tokens.Token {
		t.Helper()
		p.User = e.User
		tok, _, err := e.App.Tokens.Generate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid, expired, invalid := gen(tokens.GenerateParams{}), gen(tokens.GenerateParams{Expires: &past}), gen(tokens.GenerateParams{})
	legacy := gen(tokens.GenerateParams{GeneratorID: "legacy_sha1"})
	if _, err := e.App.Tokens.Invalidate(ctx, invalid.ID, "lost it"); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	body := b.Get("/account/api-tokens/").Body
	row := func(id int64) string {
		m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="token-%d">(.*?)</tr>`, id)).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no row for token %d", id)
		}
		return m[1]
	}
	for _, c := range []struct {
		id         int64
		want, not  string
		deprecated bool
	}{
		{valid.ID, `badge valid`, "badge deprecated", false},
		{expired.ID, `badge expired`, "badge valid", false},
		{invalid.ID, `badge invalid`, "badge valid", false},
		{legacy.ID, `badge valid`, "badge expired", true},
	} {
		r := row(c.id)
		if !strings.Contains(r, c.want) || strings.Contains(r, c.not) || strings.Contains(r, "badge deprecated") != c.deprecated {
			t.Errorf("token %d: row %s, want %s (deprecated %v)", c.id, r, c.want, c.deprecated)
		}
	}
	if !strings.Contains(row(invalid.ID), "lost it") || strings.Contains(row(invalid.ID), "invalidate") {
		t.Errorf("invalid token row: %s", row(invalid.ID))
	}
}
