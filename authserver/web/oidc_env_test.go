package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
)

// oidcEnv is the real application with a confidential OpenID client and a
// user with a name and an e-mail address.
type oidcEnv struct {
	*testenv.Env
	client *authserver.Client
	secret string
	user   users.User
}

const oidcRedirect = "https://rp.example.com/cb"
const oidcPassword = "a long enough password"

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	e := testenv.New(t)
	o := &oidcEnv{Env: e}
	o.client, o.secret = e.RegisterClient(authserver.ClientSpec{Name: "RP",
		RedirectURIs: []string{oidcRedirect, "https://rp.example.com/bye"},
		Scopes:       []string{"openid", "profile", "email", "user:read"}})
	o.user = e.CreateUser(users.NewUser{Username: "bob", Password: oidcPassword, Email: "bob@example.com", Name: "Bob B"})
	return o
}

func pkcePair(t *testing.T) (verifier, challenge string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authz sends an authorization request with scope and extra parameters and
// returns the page and the PKCE verifier.
func (o *oidcEnv) authz(t *testing.T, b *testenv.Browser, scope string, extra url.Values) (testenv.Page, string) {
	t.Helper()
	v, ch := pkcePair(t)
	q := url.Values{"response_type": {"code"}, "client_id": {o.client.ID}, "redirect_uri": {oidcRedirect},
		"scope": {scope}, "state": {"st"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}
	for k, vs := range extra {
		q[k] = vs
	}
	return b.Get("/oauth/authorize?" + q.Encode()), v
}

// consent allows the consent page p and returns the code.
func (o *oidcEnv) consent(t *testing.T, b *testenv.Browser, p testenv.Page) string {
	t.Helper()
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "decision") {
		t.Fatalf("want the consent page, got %d %.300s", p.Status, p.Body)
	}
	f := p.Hidden()
	f.Set("decision", "allow")
	return codeOf(t, b.Post("/oauth/authorize", f))
}

func codeOf(t *testing.T, p testenv.Page) string {
	t.Helper()
	loc := p.Location(t)
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	return code
}

// token posts a token request with the client's credentials.
func (o *oidcEnv) token(t *testing.T, form url.Values) map[string]any {
	t.Helper()
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(o.client.ID+":"+o.secret))}}
	p := o.Browser().Do(http.MethodPost, authserver.PathToken, form, h)
	var out map[string]any
	if err := json.Unmarshal([]byte(p.Body), &out); err != nil || p.Status != http.StatusOK {
		t.Fatalf("token: %d %s", p.Status, p.Body)
	}
	if s, _ := out["id_token"].(string); s != "" {
		o.Logs.Secret(s)
	}
	return out
}

func (o *oidcEnv) redeem(t *testing.T, code, verifier string) map[string]any {
	return o.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {oidcRedirect}, "code_verifier": {verifier}})
}

// payload decodes a JWT's header and claims without verifying it (the
// go-oidc integration test verifies).
func payload(t *testing.T, jwt string) (hdr, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	for i, dst := range []*map[string]any{&hdr, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return hdr, claims
}

// TestOIDCClaimsFollowScopes: openid alone gives sub and the protocol
// claims only; profile adds preferred_username and name; email adds email
// and email_verified. The header is typ JWT and alg RS256; aud is the
// client, sub the same for every grant; a request without openid gets no
// id_token at all.
func TestOIDCClaimsFollowScopes(t *testing.T) {
	o := newOIDCEnv(t)
	b := o.Browser()
	b.SignIn("bob", oidcPassword)
	for _, tc := range []struct {
		scope   string
		present []string
		absent  []string
	}{
		{"openid", []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"}, []string{"email", "email_verified", "name", "preferred_username"}},
		{"openid profile", []string{"name", "preferred_username"}, []string{"email", "email_verified"}},
		{"openid email", []string{"email", "email_verified"}, []string{"name", "preferred_username"}},
		{"user:read", nil, nil},
	} {
		p, v := o.authz(t, b, tc.scope, url.Values{"nonce": {"n-" + tc.scope}})
		code := o.consent(t, b, p)
		resp := o.redeem(t, code, v)
		raw, _ := resp["id_token"].(string)
		if tc.scope == "user:read" {
			if raw != "" {
				t.Fatalf("an id_token without openid: %v", resp)
			}
			continue
		}
		hdr, c := payload(t, raw)
		if hdr["typ"] != "JWT" || hdr["alg"] != "RS256" {
			t.Errorf("%s: header %v", tc.scope, hdr)
		}
		for _, k := range tc.present {
			if _, ok := c[k]; !ok {
				t.Errorf("%s: claim %s missing: %v", tc.scope, k, c)
			}
		}
		for _, k := range tc.absent {
			if _, ok := c[k]; ok {
				t.Errorf("%s: claim %s present: %v", tc.scope, k, c)
			}
		}
		if c["sub"] != authserver.Subject(o.user.ID) || c["aud"] != o.client.ID || c["iss"] != o.URL || c["nonce"] != "n-"+tc.scope {
			t.Errorf("%s: claims %v", tc.scope, c)
		}
		if tc.scope == "openid email" && (c["email"] != "bob@example.com" || c["email_verified"] != false) {
			t.Errorf("email claims %v", c)
		}
	}
}

// TestOIDCPrompt: prompt=none answers without a page (login_required, then
// consent_required, then a code); prompt=consent shows the consent page
// although consent was given; prompt=login and a max_age the session is
// older than send a signed-in browser to the sign-in form, after which the
// code is issued with a fresh auth_time; an id_token_hint naming someone
// else makes prompt=none fail with login_required.
func TestOIDCPrompt(t *testing.T) {
	o := newOIDCEnv(t)
	b := o.Browser()
	none := url.Values{"prompt": {"none"}}
	errOf := func(p testenv.Page) string { return p.Location(t).Query().Get("error") }

	if p, _ := o.authz(t, b, "openid", none); errOf(p) != "login_required" {
		t.Fatalf("prompt=none without a session: %s", p.Header.Get("Location"))
	}
	b.SignIn("bob", oidcPassword)
	if p, _ := o.authz(t, b, "openid", none); errOf(p) != "consent_required" {
		t.Fatalf("prompt=none without consent: %s", p.Header.Get("Location"))
	}
	p, v := o.authz(t, b, "openid", url.Values{"nonce": {"first"}})
	first := o.redeem(t, o.consent(t, b, p), v)
	hint, _ := first["id_token"].(string)

	p, v = o.authz(t, b, "openid", url.Values{"prompt": {"none"}, "id_token_hint": {hint}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("prompt=none with session and consent: %d", p.Status)
	}
	o.redeem(t, codeOf(t, p), v)

	if p, _ := o.authz(t, b, "openid", url.Values{"prompt": {"consent"}}); p.Status != http.StatusOK || !strings.Contains(p.Body, "decision") {
		t.Fatalf("prompt=consent: %d", p.Status)
	}

	// Another user's hint.
	other := o.CreateUser(users.NewUser{Username: "carol", Password: oidcPassword})
	cb := o.Browser()
	cb.SignIn("carol", oidcPassword)
	cp, cv := o.authz(t, cb, "openid", nil)
	carolHint, _ := o.redeem(t, o.consent(t, cb, cp), cv)["id_token"].(string)
	_ = other
	if p, _ := o.authz(t, b, "openid", url.Values{"prompt": {"none"}, "id_token_hint": {carolHint}}); errOf(p) != "login_required" {
		t.Fatalf("prompt=none with another user's hint: %s", p.Header.Get("Location"))
	}
	if p, _ := o.authz(t, b, "openid", url.Values{"prompt": {"none"}, "id_token_hint": {"not.a.jwt"}}); errOf(p) != "invalid_request" {
		t.Fatalf("prompt=none with a broken hint: %s", p.Header.Get("Location"))
	}

	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}} {
		// Age the session so max_age=0 is exceeded.
		if _, err := o.App.DB.ExecContext(context.Background(),
			o.App.DB.Rebind(`UPDATE sessions SET created_at = ?`), time.Now().Add(-time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		p, v := o.authz(t, b, "openid", extra)
		loc := p.Location(t)
		if loc.Path != "/login" || loc.Query().Get("reauth") != "1" {
			t.Fatalf("%v: want the sign-in form, got %s", extra, loc)
		}
		login := b.Get(loc.String())
		if login.Status != http.StatusOK || login.Hidden().Get("csrf_token") == "" {
			t.Fatalf("%v: sign-in form not shown to a signed-in browser: %d", extra, login.Status)
		}
		f := login.Hidden()
		f.Set("username", "bob")
		f.Set("password", oidcPassword)
		back := b.Post("/login", f)
		code := codeOf(t, b.Get(back.Location(t).String()))
		_, c := payload(t, o.redeem(t, code, v)["id_token"].(string))
		if at, _ := c["auth_time"].(float64); time.Since(time.Unix(int64(at), 0)) > time.Minute {
			t.Fatalf("%v: auth_time %v is not the fresh sign-in", extra, c["auth_time"])
		}
	}
}

// TestOIDCEndSession: RP-initiated logout with the user's id_token_hint ends
// the session and redirects to a registered post_logout_redirect_uri with
// state; an unregistered URI is refused on our own page; without a hint
// the user is asked to confirm and stays signed in.
func TestOIDCEndSession(t *testing.T) {
	o := newOIDCEnv(t)
	b := o.Browser()
	b.SignIn("bob", oidcPassword)
	p, v := o.authz(t, b, "openid", nil)
	hint, _ := o.redeem(t, o.consent(t, b, p), v)["id_token"].(string)

	bad := b.Get(authserver.PathEndSession + "?" + url.Values{"id_token_hint": {hint},
		"post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if bad.Status != http.StatusBadRequest || bad.Header.Get("Location") != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q", bad.Status, bad.Header.Get("Location"))
	}
	confirm := b.Get(authserver.PathEndSession + "?" + url.Values{"client_id": {o.client.ID},
		"post_logout_redirect_uri": {"https://rp.example.com/bye"}}.Encode())
	if confirm.Status != http.StatusOK || confirm.Hidden().Get("csrf_token") == "" {
		t.Fatalf("logout without a hint: %d, want the confirmation page", confirm.Status)
	}
	if b.Get("/account/").Status != http.StatusOK {
		t.Fatal("signed out without confirmation")
	}
	out := b.Get(authserver.PathEndSession + "?" + url.Values{"id_token_hint": {hint},
		"post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"s1"}}.Encode())
	if loc := out.Location(t); loc.String() != "https://rp.example.com/bye?state=s1" {
		t.Fatalf("logout redirect %s", loc)
	}
	if acct := b.Get("/account/"); acct.Status == http.StatusOK {
		t.Fatal("still signed in after logout")
	}
}

// TestOIDCUserinfoScopes: userinfo answers the ID token's sub with the
// claims of the granted scopes, and refuses a token without openid with
// 403 insufficient_scope.
func TestOIDCUserinfoScopes(t *testing.T) {
	o := newOIDCEnv(t)
	b := o.Browser()
	b.SignIn("bob", oidcPassword)
	get := func(at string, method string) testenv.Page {
		return o.Browser().Do(method, authserver.PathUserinfo, url.Values{}, http.Header{"Authorization": {"Bearer " + at}})
	}
	p, v := o.authz(t, b, "openid profile", nil)
	resp := o.redeem(t, o.consent(t, b, p), v)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		ui := get(resp["access_token"].(string), m)
		var c map[string]any
		if ui.Status != http.StatusOK || json.Unmarshal([]byte(ui.Body), &c) != nil {
			t.Fatalf("%s userinfo: %d %s", m, ui.Status, ui.Body)
		}
		if c["sub"] != authserver.Subject(o.user.ID) || c["name"] != "Bob B" || c["preferred_username"] != "bob" || c["email"] != nil {
			t.Fatalf("%s userinfo %v", m, c)
		}
	}
	p, v = o.authz(t, b, "user:read", nil)
	resp = o.redeem(t, o.consent(t, b, p), v)
	ui := get(resp["access_token"].(string), http.MethodGet)
	if ui.Status != http.StatusForbidden || !strings.Contains(ui.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("userinfo without openid: %d %q", ui.Status, ui.Header.Get("WWW-Authenticate"))
	}
}
