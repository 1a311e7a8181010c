package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
)

// These tests run the real authgate router (internal/app, as `authgate
// serve` builds it) on a random port against SQLite and PostgreSQL, and
// talk to it only over HTTP: golang.org/x/oauth2 as the client, an
// http.Client with a cookie jar as the browser.

// internal/sessions.Manager is the resource guard's session validator.
var _ resources.SessionValidator = resourceauth.Sessions{M: (*sessions.Manager)(nil)}

const (
	userName     = "alice"
	userPassword = "correct horse battery staple"
)

// authgate is one running server.
type authgate struct {
	t      *testing.T
	URL    string // the issuer
	App    *app.App
	alice  users.User
	public registeredClient // public client, loopback redirect
	conf   registeredClient // confidential client, https redirect
}

type registeredClient struct {
	ID, Secret  string
	RedirectURI string
}

// eachDB runs fn against a server on SQLite and one on PostgreSQL.
func eachDB(t *testing.T, overrides configs.Overrides, fn func(t *testing.T, ag *authgate)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, startAuthgate(t, dbtest.SQLiteDSN(t), overrides)) })
	t.Run("postgres", func(t *testing.T) { fn(t, startAuthgate(t, dbtest.PostgresDSN(t), overrides)) })
}

func startAuthgate(t *testing.T, dsn string, overrides configs.Overrides) *authgate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ov := configs.Overrides{"database.url": dsn, "oauth.issuer": issuer, "server.addr": ln.Addr().String()}
	for k, v := range overrides {
		ov[k] = v
	}
	cfg, err := configs.Load("", nil, ov)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(ctx, cfg, logger, app.Options{})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := &http.Server{Handler: a.Router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = a.Close()
	})

	ag := &authgate{t: t, URL: issuer, App: a}
	ag.alice, err = a.Users.Create(ctx, users.NewUser{Username: userName, Password: userPassword})
	if err != nil {
		t.Fatal(err)
	}
	ag.public = ag.registerClient(authserver.ClientSpec{
		Name: "CLI <tool>", Public: true,
		RedirectURIs: []string{"http://127.0.0.1:8400/callback"},
		Scopes:       ag.allScopes(),
	})
	ag.conf = ag.registerClient(authserver.ClientSpec{
		Name:         "Web App",
		RedirectURIs: []string{"https://app.example.com/cb", "myapp.example:/cb"},
		Scopes:       ag.allScopes(),
	})
	return ag
}

func (ag *authgate) registerClient(spec authserver.ClientSpec) registeredClient {
	ag.t.Helper()
	c, secret, err := ag.App.OAuth.Clients.Create(context.Background(), spec)
	if err != nil {
		ag.t.Fatalf("create client: %v", err)
	}
	return registeredClient{ID: c.ID, Secret: secret, RedirectURI: spec.RedirectURIs[0]}
}

// allScopes returns every scope the server supports (RFC 8414 metadata).
func (ag *authgate) allScopes() []string {
	ag.t.Helper()
	var md struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	ag.getJSON("/.well-known/oauth-authorization-server", &md)
	if !slices.Contains(md.ScopesSupported, "session:read") {
		ag.t.Fatalf("scopes_supported %v lacks session:read", md.ScopesSupported)
	}
	return md.ScopesSupported
}

// otherScope is a supported scope that is not session:read.
func (ag *authgate) otherScope() string {
	for _, s := range ag.allScopes() {
		if s != "session:read" {
			return s
		}
	}
	ag.t.Fatal("the server supports no scope besides session:read")
	return ""
}

func (ag *authgate) getJSON(path string, v any) {
	ag.t.Helper()
	resp, err := http.Get(ag.URL + path)
	if err != nil {
		ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ag.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		ag.t.Fatalf("GET %s: %v", path, err)
	}
}

func (ag *authgate) oauthConfig(c registeredClient, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.Secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   ag.URL + "/oauth/authorize",
			TokenURL:  ag.URL + "/oauth/token",
			AuthStyle: style,
		},
		RedirectURL: c.RedirectURI,
		Scopes:      scopes,
	}
}

// browser is a cookie-keeping client that follows redirects within authgate
// and stops at the first redirect leaving it (to the client's redirect URI).
type browser struct {
	ag *authgate
	c  *http.Client
}

func (ag *authgate) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(ag.URL, "http://")
	return &browser{ag: ag, c: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// rawBrowser follows no redirect at all.
func (ag *authgate) rawBrowser() *browser {
	b := ag.browser()
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

type response struct {
	Status int
	Header http.Header
	Body   string
	URL    *url.URL // the final request URL after redirects
}

func (r response) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location (status %d): %.500s", r.Status, r.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) do(method, target string, form url.Values, header http.Header) response {
	b.ag.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.ag.URL + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.ag.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), URL: resp.Request.URL}
}

func (b *browser) get(target string) response { return b.do(http.MethodGet, target, nil, nil) }
func (b *browser) post(target string, form url.Values) response {
	return b.do(http.MethodPost, target, form, nil)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the page's forms.
func formFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// loginThrough fills and submits the login form the browser is looking at.
func (b *browser) loginThrough(page response, password string) response {
	b.ag.t.Helper()
	if page.URL.Path != "/login" {
		b.ag.t.Fatalf("expected the login page, got %s (%d)", page.URL, page.Status)
	}
	f := formFields(page.Body)
	f.Set("username", userName)
	f.Set("password", password)
	return b.post("/login", f)
}

// consent submits the consent page's form with the given decision.
func (b *browser) consent(page response, decision string) response {
	b.ag.t.Helper()
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `name="decision"`) {
		b.ag.t.Fatalf("expected the consent page, got %s (%d): %.300s", page.URL, page.Status, page.Body)
	}
	f := formFields(page.Body)
	f.Set("decision", decision)
	return b.post("/oauth/authorize", f)
}

// authorize runs the browser part of the flow: authorization URL → login
// (if needed) → consent (if needed) → the redirect to the client, which is
// returned without being followed.
func (b *browser) authorize(authURL string) response {
	b.ag.t.Helper()
	r := b.get(authURL)
	if r.URL.Path == "/login" {
		r = b.loginThrough(r, userPassword)
	}
	if r.Status == http.StatusOK && strings.Contains(r.Body, `name="decision"`) {
		r = b.consent(r, "allow")
	}
	return r
}

// callback checks a redirect to the client and returns its parameters.
func callback(t *testing.T, ag *authgate, r response, redirectURI string) url.Values {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("authorization response status %d, want 303 See Other: %.300s", r.Status, r.Body)
	}
	loc := r.location(t)
	if got := strings.SplitN(loc.String(), "?", 2)[0]; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	q := loc.Query()
	if q.Get("iss") != ag.URL {
		t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), ag.URL)
	}
	return q
}

// apiSession calls GET /api/session/ with a bearer token.
func (ag *authgate) apiSession(token string) (int, map[string]any) {
	ag.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ag.URL+"/api/session/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func djbletsCode(body map[string]any) float64 {
	e, _ := body["err"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

// TestOAuthFlow is the whole authorization-code + PKCE flow with
// golang.org/x/oauth2: login and consent through the HTML forms, exchange,
// a protected API call, refresh with rotation, revocation.
func TestOAuthFlow(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		cfg := ag.oauthConfig(ag.public, "session:read")
		verifier := oauth2.GenerateVerifier()
		b := ag.browser()
		r := b.authorize(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
		q := callback(t, ag, r, ag.public.RedirectURI)
		if q.Get("state") != "state-1" || q.Get("code") == "" || q.Has("error") {
			t.Fatalf("authorization response %v", q)
		}

		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
			t.Fatalf("token %+v", tok)
		}

		t.Run("api with session:read", func(t *testing.T) {
			status, body := ag.apiSession(tok.AccessToken)
			if status != http.StatusOK {
				t.Fatalf("GET /api/session/: %d %v", status, body)
			}
		})

		t.Run("api without session:read", func(t *testing.T) {
			other := ag.otherScope()
			cfg2 := ag.oauthConfig(ag.public, other)
			v2 := oauth2.GenerateVerifier()
			q2 := callback(t, ag, b.authorize(cfg2.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2))), ag.public.RedirectURI)
			tok2, err := cfg2.Exchange(ctx, q2.Get("code"), oauth2.VerifierOption(v2))
			if err != nil {
				t.Fatal(err)
			}
			status, body := ag.apiSession(tok2.AccessToken)
			if status != http.StatusForbidden || djbletsCode(body) != 112 {
				t.Fatalf("scope %s on /api/session/: %d %v; want 403 code 112", other, status, body)
			}
		})

		t.Run("refresh rotates; reuse revokes the family", func(t *testing.T) {
			old := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			fresh, err := cfg.TokenSource(ctx, old).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
				t.Fatal("refresh did not rotate the refresh token")
			}
			if status, _ := ag.apiSession(fresh.AccessToken); status != http.StatusOK {
				t.Fatalf("refreshed access token: %d", status)
			}
			if _, err := cfg.TokenSource(ctx, old).Token(); err == nil {
				t.Fatal("a rotated-out refresh token was accepted")
			}
			again := &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			if _, err := cfg.TokenSource(ctx, again).Token(); err == nil {
				t.Fatal("the family survived the reuse of a rotated-out refresh token")
			}
		})

		t.Run("code replay fails and revokes what the code issued", func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			q := callback(t, ag, b.authorize(cfg.AuthCodeURL("r", oauth2.S256ChallengeOption(v))), ag.public.RedirectURI)
			first, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v)); err == nil {
				t.Fatal("a used code was exchanged again")
			}
			if status, _ := ag.apiSession(first.AccessToken); status != http.StatusUnauthorized {
				t.Fatalf("token from a replayed code: %d, want 401 (RFC 6749 §4.1.2)", status)
			}
		})

		t.Run("revoke", func(t *testing.T) {
			v3 := oauth2.GenerateVerifier()
			q3 := callback(t, ag, b.authorize(cfg.AuthCodeURL("s3", oauth2.S256ChallengeOption(v3))), ag.public.RedirectURI)
			tok3, err := cfg.Exchange(ctx, q3.Get("code"), oauth2.VerifierOption(v3))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.PostForm(ag.URL+"/oauth/revoke", url.Values{"token": {tok3.AccessToken}, "client_id": {ag.public.ID}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if status, _ := ag.apiSession(tok3.AccessToken); status != http.StatusUnauthorized {
				t.Fatalf("revoked token on /api/session/: %d, want 401", status)
			}
		})

		t.Run("confidential client with client_secret_basic", func(t *testing.T) {
			cc := ag.oauthConfig(ag.conf, "session:read")
			v := oauth2.GenerateVerifier()
			r := b.authorize(cc.AuthCodeURL("c1", oauth2.S256ChallengeOption(v)))
			q := callback(t, ag, r, ag.conf.RedirectURI)
			tok, err := cc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			if status, _ := ag.apiSession(tok.AccessToken); status != http.StatusOK {
				t.Fatalf("GET /api/session/: %d", status)
			}
		})
	})
}

// authzQuery is a valid authorization request for the public client.
func (ag *authgate) authzQuery() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {ag.public.ID},
		"redirect_uri":          {ag.public.RedirectURI},
		"scope":                 {"session:read"},
		"state":                 {"xyz"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
}

// TestNoOpenRedirect: every error before the redirect URI is trusted is
// shown on authgate's own page, never redirected (RFC 6749 §4.1.2.1,
// go-oauth2 #105/#298); the login page's return_to is local only.
func TestNoOpenRedirect(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		const evil = "https://attacker.example/cb"
		cases := []struct {
			name   string
			change func(q url.Values)
		}{
			{"unknown client", func(q url.Values) { q.Set("client_id", "no-such-client"); q.Set("redirect_uri", evil) }},
			{"unknown client, registered URI", func(q url.Values) { q.Set("client_id", "no-such-client") }},
			{"missing client_id", func(q url.Values) { q.Del("client_id"); q.Set("redirect_uri", evil) }},
			{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", evil) }},
			{"unregistered redirect + bad response_type", func(q url.Values) { q.Set("redirect_uri", evil); q.Set("response_type", "token") }},
			{"unregistered redirect + no PKCE", func(q url.Values) { q.Set("redirect_uri", evil); q.Del("code_challenge") }},
			{"unregistered redirect + bad scope", func(q url.Values) { q.Set("redirect_uri", evil); q.Set("scope", "nope:read") }},
			{"unregistered redirect + duplicate state", func(q url.Values) { q.Set("redirect_uri", evil); q.Add("state", "2") }},
			{"duplicate redirect_uri", func(q url.Values) { q.Add("redirect_uri", evil) }},
			{"duplicate client_id", func(q url.Values) { q.Add("client_id", ag.conf.ID) }},
			{"other client's redirect", func(q url.Values) { q.Set("redirect_uri", ag.conf.RedirectURI) }},
		}
		for _, tc := range cases {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(tc.name+"/"+method, func(t *testing.T) {
					q := ag.authzQuery()
					tc.change(q)
					var r response
					if method == http.MethodGet {
						r = ag.rawBrowser().get("/oauth/authorize?" + q.Encode())
					} else {
						r = ag.rawBrowser().post("/oauth/authorize", q)
					}
					if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
						t.Fatalf("status %d Location %q; want our 400 page and no redirect", r.Status, r.Header.Get("Location"))
					}
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
						t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
					}
				})
			}
		}
		t.Run("signed-in user, unregistered redirect", func(t *testing.T) {
			b := ag.browser()
			b.loginThrough(b.get("/login"), userPassword)
			q := ag.authzQuery()
			q.Set("redirect_uri", evil)
			r := b.get("/oauth/authorize?" + q.Encode())
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q", r.Status, r.Header.Get("Location"))
			}
		})
		t.Run("login return_to", func(t *testing.T) {
			for _, rt := range []string{evil, "//attacker.example/x", "/\\attacker.example"} {
				b := ag.rawBrowser()
				page := b.get("/login?return_to=" + url.QueryEscape(rt))
				f := formFields(page.Body)
				f.Set("username", userName)
				f.Set("password", userPassword)
				f.Set("return_to", rt)
				r := b.post("/login", f)
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/" {
					t.Fatalf("return_to %q: status %d Location %q", rt, r.Status, r.Header.Get("Location"))
				}
			}
		})
	})
}

// TestRedirectURIExactMatch: redirect URIs are compared as exact strings;
// only a loopback IP literal's port may differ (RFC 8252 §7.3).
func TestRedirectURIExactMatch(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		cases := []struct {
			name   string
			client func() registeredClient
			uri    string
			ok     bool
		}{
			{"registered", func() registeredClient { return ag.conf }, "https://app.example.com/cb", true},
			{"second registered (custom scheme)", func() registeredClient { return ag.conf }, "myapp.example:/cb", true},
			{"subdomain", func() registeredClient { return ag.conf }, "https://evil.app.example.com/cb", false},
			{"suffix host", func() registeredClient { return ag.conf }, "https://app.example.com.attacker.example/cb", false},
			{"path suffix", func() registeredClient { return ag.conf }, "https://app.example.com/cb/more", false},
			{"dot segment", func() registeredClient { return ag.conf }, "https://app.example.com/cb/../x", false},
			{"trailing slash", func() registeredClient { return ag.conf }, "https://app.example.com/cb/", false},
			{"scheme change", func() registeredClient { return ag.conf }, "http://app.example.com/cb", false},
			{"custom scheme, same host", func() registeredClient { return ag.conf }, "myapp://app.example.com/cb", false},
			{"userinfo: registered host as user", func() registeredClient { return ag.conf }, "https://app.example.com@attacker.example/cb", false},
			{"userinfo: credentials on registered host", func() registeredClient { return ag.conf }, "https://user:pw@app.example.com/cb", false},
			{"query added", func() registeredClient { return ag.conf }, "https://app.example.com/cb?next=https://attacker.example", false},
			{"fragment", func() registeredClient { return ag.conf }, "https://app.example.com/cb#x", false},
			{"case change", func() registeredClient { return ag.conf }, "https://App.example.com/cb", false},
			{"loopback, other port", func() registeredClient { return ag.public }, "http://127.0.0.1:53117/callback", true},
			{"loopback, no port", func() registeredClient { return ag.public }, "http://127.0.0.1/callback", true},
			{"loopback, other path", func() registeredClient { return ag.public }, "http://127.0.0.1:8400/other", false},
			{"loopback, localhost name", func() registeredClient { return ag.public }, "http://localhost:8400/callback", false},
			{"loopback, https", func() registeredClient { return ag.public }, "https://127.0.0.1:8400/callback", false},
			{"loopback, userinfo", func() registeredClient { return ag.public }, "http://x@127.0.0.1:8400/callback", false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := ag.authzQuery()
				q.Set("client_id", tc.client().ID)
				q.Set("redirect_uri", tc.uri)
				r := ag.rawBrowser().get("/oauth/authorize?" + q.Encode())
				if tc.ok {
					// Trusted: the signed-out browser is sent to the login page.
					if r.Status != http.StatusSeeOther || r.location(t).Path != "/login" {
						t.Fatalf("status %d Location %q; want 303 to /login", r.Status, r.Header.Get("Location"))
					}
					return
				}
				if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q; want 400 and no redirect", r.Status, r.Header.Get("Location"))
				}
			})
		}
		t.Run("code goes to the requested loopback port", func(t *testing.T) {
			cfg := ag.oauthConfig(ag.public, "session:read")
			cfg.RedirectURL = "http://127.0.0.1:53117/callback"
			v := oauth2.GenerateVerifier()
			q := callback(t, ag, ag.browser().authorize(cfg.AuthCodeURL("p", oauth2.S256ChallengeOption(v))), cfg.RedirectURL)
			if _, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v)); err != nil {
				t.Fatalf("exchange with the loopback redirect: %v", err)
			}
		})
	})
}

// tokenError posts to /oauth/token and returns the status and error code.
func (ag *authgate) tokenError(form url.Values, c registeredClient) (int, string) {
	ag.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ag.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	} else {
		form.Set("client_id", c.ID)
		req.Body = io.NopCloser(strings.NewReader(form.Encode()))
		req.ContentLength = int64(len(form.Encode()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}

// TestPKCE: S256 required for public clients, plain refused, a verifier
// without a challenge refused (downgrade), a missing or wrong verifier
// refused with 400 invalid_grant.
func TestPKCE(t *testing.T) {
	// allow_confidential_without_pkce on, so a confidential client can get a code without
	// a challenge for the downgrade case.
	eachDB(t, configs.Overrides{"oauth.allow_confidential_without_pkce": true}, func(t *testing.T, ag *authgate) {
		authzErr := func(t *testing.T, q url.Values) url.Values {
			t.Helper()
			b := ag.browser()
			b.loginThrough(b.get("/login"), userPassword)
			return callback(t, ag, b.get("/oauth/authorize?"+q.Encode()), q.Get("redirect_uri"))
		}
		t.Run("public client without PKCE", func(t *testing.T) {
			q := ag.authzQuery()
			q.Del("code_challenge")
			q.Del("code_challenge_method")
			if got := authzErr(t, q); got.Get("error") != "invalid_request" || got.Get("state") != "xyz" {
				t.Fatalf("response %v", got)
			}
		})
		t.Run("plain refused", func(t *testing.T) {
			q := ag.authzQuery()
			q.Set("code_challenge", oauth2.GenerateVerifier())
			q.Set("code_challenge_method", "plain")
			if got := authzErr(t, q); got.Get("error") != "invalid_request" {
				t.Fatalf("response %v", got)
			}
			q.Del("code_challenge_method") // RFC 7636 default: plain
			if got := authzErr(t, q); got.Get("error") != "invalid_request" {
				t.Fatalf("response without method %v", got)
			}
		})

		cc := ag.oauthConfig(ag.conf, "session:read")
		codeFor := func(t *testing.T, opts ...oauth2.AuthCodeOption) string {
			t.Helper()
			q := callback(t, ag, ag.browser().authorize(cc.AuthCodeURL("d", opts...)), ag.conf.RedirectURI)
			if q.Get("code") == "" {
				t.Fatalf("no code: %v", q)
			}
			return q.Get("code")
		}
		exchange := func(code, verifier string) (int, string) {
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ag.conf.RedirectURI}}
			if verifier != "" {
				f.Set("code_verifier", verifier)
			}
			return ag.tokenError(f, ag.conf)
		}
		t.Run("verifier without challenge (downgrade)", func(t *testing.T) {
			code := codeFor(t)
			if status, e := exchange(code, oauth2.GenerateVerifier()); status != http.StatusBadRequest || e != "invalid_grant" {
				t.Fatalf("token endpoint: %d %q; want 400 invalid_grant", status, e)
			}
		})
		t.Run("challenge without verifier", func(t *testing.T) {
			code := codeFor(t, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
			if status, e := exchange(code, ""); status != http.StatusBadRequest || e != "invalid_grant" {
				t.Fatalf("token endpoint: %d %q; want 400 invalid_grant", status, e)
			}
		})
		t.Run("wrong verifier", func(t *testing.T) {
			code := codeFor(t, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
			if status, e := exchange(code, oauth2.GenerateVerifier()); status != http.StatusBadRequest || e != "invalid_grant" {
				t.Fatalf("token endpoint: %d %q; want 400 invalid_grant", status, e)
			}
		})
		t.Run("right verifier", func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			code := codeFor(t, oauth2.S256ChallengeOption(v))
			if _, err := cc.Exchange(context.Background(), code, oauth2.VerifierOption(v)); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestAuthorizationResponses: iss on success and error responses (RFC 9207)
// and in the metadata, 303 for every redirect carrying a code or an error,
// and access_denied on "Deny".
func TestAuthorizationResponses(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		var md map[string]any
		ag.getJSON("/.well-known/oauth-authorization-server", &md)
		if md["authorization_response_iss_parameter_supported"] != true || md["issuer"] != ag.URL {
			t.Fatalf("metadata: iss supported %v, issuer %v", md["authorization_response_iss_parameter_supported"], md["issuer"])
		}
		b := ag.browser()
		r := b.get("/oauth/authorize?" + ag.authzQuery().Encode())
		r = b.loginThrough(r, userPassword)
		r = b.consent(r, "deny")
		q := callback(t, ag, r, ag.public.RedirectURI)
		if q.Get("error") != "access_denied" || q.Get("state") != "xyz" || q.Has("code") {
			t.Fatalf("deny: %v", q)
		}
		bad := ag.authzQuery()
		bad.Set("response_type", "token")
		q = callback(t, ag, b.get("/oauth/authorize?"+bad.Encode()), ag.public.RedirectURI)
		if q.Get("error") != "unsupported_response_type" || q.Get("error_description") == "" {
			t.Fatalf("implicit: %v", q)
		}
		ok := ag.authzQuery()
		r = b.get("/oauth/authorize?" + ok.Encode())
		q = callback(t, ag, b.consent(r, "allow"), ag.public.RedirectURI)
		if q.Get("code") == "" {
			t.Fatalf("allow: %v", q)
		}
		// Remembered consent: the next request is answered at once, by 303 too.
		q = callback(t, ag, b.get("/oauth/authorize?"+ag.authzQuery().Encode()), ag.public.RedirectURI)
		if q.Get("code") == "" {
			t.Fatalf("remembered consent: %v", q)
		}
	})
}

// TestBrowserProtections: anti-clickjacking, no-referrer and no-store on the
// login and consent pages, no CORS on /oauth/authorize, CSRF tokens
// required on the login, consent and logout forms.
func TestBrowserProtections(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		b := ag.browser()
		login := b.get("/oauth/authorize?" + ag.authzQuery().Encode())
		consent := b.loginThrough(login, userPassword)
		for name, r := range map[string]response{"login": login, "consent": consent} {
			h := r.Header
			if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s page headers: %v", name, h)
			}
		}
		for _, method := range []string{http.MethodOptions, http.MethodGet} {
			r := ag.rawBrowser().do(method, "/oauth/authorize?"+ag.authzQuery().Encode(), nil,
				http.Header{"Origin": {"https://attacker.example"}, "Access-Control-Request-Method": {"GET"}})
			if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s /oauth/authorize answers CORS: %v", method, r.Header)
			}
		}

		t.Run("login form without CSRF token", func(t *testing.T) {
			nb := ag.rawBrowser()
			nb.get("/login")
			r := nb.post("/login", url.Values{"username": {userName}, "password": {userPassword}})
			if r.Status != http.StatusForbidden || hasCookie(r, sessions.CookieName) {
				t.Fatalf("status %d", r.Status)
			}
		})
		t.Run("consent form without CSRF token", func(t *testing.T) {
			f := formFields(consent.Body)
			f.Del("csrf_token")
			f.Set("decision", "allow")
			r := b.post("/oauth/authorize", f)
			if r.Status != http.StatusForbidden || r.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q", r.Status, r.Header.Get("Location"))
			}
		})
		t.Run("consent form from another session", func(t *testing.T) {
			other := ag.browser()
			other.loginThrough(other.get("/login"), userPassword)
			f := formFields(consent.Body) // the first browser's token
			f.Set("decision", "allow")
			if r := other.post("/oauth/authorize", f); r.Status != http.StatusForbidden {
				t.Fatalf("status %d", r.Status)
			}
		})
		t.Run("logout without CSRF token", func(t *testing.T) {
			if r := b.post("/logout", url.Values{}); r.Status != http.StatusForbidden {
				t.Fatalf("status %d", r.Status)
			}
			if r := b.get("/account/"); r.URL.Path != "/account/" || r.Status != http.StatusOK {
				t.Fatalf("session ended by a forged logout: %s %d", r.URL, r.Status)
			}
		})
		t.Run("session cookie attributes", func(t *testing.T) {
			nb := ag.rawBrowser()
			r := nb.loginThrough(nb.get("/login"), userPassword)
			var found bool
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				if c.Name == sessions.CookieName {
					found = true
					if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
						t.Fatalf("cookie %+v", c)
					}
				}
			}
			if !found || r.Status != http.StatusSeeOther {
				t.Fatalf("login: status %d, cookie %v", r.Status, found)
			}
		})
	})
}

func hasCookie(r response, name string) bool {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// TestLoginRateLimit: attempts per client IP and username are limited with
// a clear 429 page, even for the right password.
func TestLoginRateLimit(t *testing.T) {
	eachDB(t, configs.Overrides{"auth.login_attempts": 3, "auth.login_window": "1m"}, func(t *testing.T, ag *authgate) {
		b := ag.rawBrowser()
		for i := range 3 {
			r := b.loginThrough(b.get("/login"), fmt.Sprintf("wrong password %d", i))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("attempt %d: status %d", i+1, r.Status)
			}
		}
		r := b.loginThrough(b.get("/login"), userPassword)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
			!strings.Contains(r.Body, "Too many sign-in attempts") || hasCookie(r, sessions.CookieName) {
			t.Fatalf("4th attempt: status %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
		}
		// A client cannot pick its own IP: X-Forwarded-For from an
		// untrusted peer must not open a fresh bucket.
		for i := range 3 {
			page := b.get("/login")
			f := formFields(page.Body)
			f.Set("username", userName)
			f.Set("password", userPassword)
			r := b.do(http.MethodPost, "/login", f, http.Header{
				"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i+1)},
				"X-Real-Ip":       {fmt.Sprintf("198.51.100.%d", i+1)},
			})
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("spoofed X-Forwarded-For %d: status %d, want 429", i+1, r.Status)
			}
		}
		// Successful sign-ins do not count: another user signs in freely.
		if _, err := ag.App.Users.Create(context.Background(), users.NewUser{Username: "bob", Password: userPassword}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			nb := ag.rawBrowser()
			f := formFields(nb.get("/login").Body)
			f.Set("username", "bob")
			f.Set("password", userPassword)
			if r := nb.post("/login", f); r.Status != http.StatusSeeOther {
				t.Fatalf("bob's sign-in %d: status %d", i+1, r.Status)
			}
		}
	})
}

// TestAccountRevokesApp: withdrawing an app on /account/authorized-apps/ revokes its tokens
// and makes the next authorization ask for consent again.
func TestAccountRevokesApp(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		cfg := ag.oauthConfig(ag.public, "session:read")
		v := oauth2.GenerateVerifier()
		b := ag.browser()
		q := callback(t, ag, b.authorize(cfg.AuthCodeURL("a", oauth2.S256ChallengeOption(v))), ag.public.RedirectURI)
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		acct := b.get("/account/authorized-apps/")
		if acct.Status != http.StatusOK || !strings.Contains(acct.Body, "CLI &lt;tool&gt;") {
			t.Fatalf("account page: %d %.500s", acct.Status, acct.Body)
		}
		var revokeForm url.Values
		for _, m := range regexp.MustCompile(`(?s)<form method="post" action="/account/authorized-apps/revoke">(.*?)</form>`).FindAllStringSubmatch(acct.Body, -1) {
			if f := formFields(m[1]); f.Get("client_id") == ag.public.ID {
				revokeForm = f
			}
		}
		if revokeForm == nil {
			t.Fatal("no revoke form for the app")
		}
		if r := b.post("/account/authorized-apps/revoke", revokeForm); r.URL.Path != "/account/authorized-apps/" || r.Status != http.StatusOK {
			t.Fatalf("revoke: %s %d", r.URL, r.Status)
		}
		if status, _ := ag.apiSession(tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("token of a withdrawn app: %d, want 401", status)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("refresh token of a withdrawn app still works")
		}
		r := b.get(cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(v)))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="decision"`) {
			t.Fatalf("consent not asked again: %d", r.Status)
		}
	})
}

// TestSessionOnAPI: the browser session from the login form authenticates
// first-party API calls through the resource Guard (internal/sessions as
// its SessionValidator); unsafe methods need the session's CSRF token; the
// session dies with logout and with the user's deactivation; the token
// created through the session shows on /account/api-tokens/.
func TestSessionOnAPI(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		b := ag.browser()
		if r := b.loginThrough(b.get("/login"), userPassword); r.URL.Path != "/account/" || r.Status != http.StatusOK {
			t.Fatalf("login: %s %d", r.URL, r.Status)
		}
		var sess struct {
			Session struct {
				Authenticated bool   `json:"authenticated"`
				AuthMethod    string `json:"auth_method"`
				User          struct {
					Username string `json:"username"`
				} `json:"user"`
			} `json:"session"`
		}
		r := b.get("/api/session/")
		if err := json.Unmarshal([]byte(r.Body), &sess); err != nil || r.Status != http.StatusOK ||
			sess.Session.AuthMethod != "session" || sess.Session.User.Username != userName {
			t.Fatalf("GET /api/session/ with the session cookie: %d %s", r.Status, r.Body)
		}

		tokensURL := "/api/users/" + userName + "/api-tokens/"
		form := url.Values{"note": {"from the browser"}, "policy": {"{}"}}
		if r := b.post(tokensURL, form); r.Status != http.StatusForbidden {
			t.Fatalf("POST without X-CSRF-Token: %d %s", r.Status, r.Body)
		}
		csrf := formFields(b.get("/account/").Body).Get("csrf_token")
		if r := b.do(http.MethodPost, tokensURL, form, http.Header{"X-Csrf-Token": {"forged"}}); r.Status != http.StatusForbidden {
			t.Fatalf("POST with a forged X-CSRF-Token: %d", r.Status)
		}
		if r := b.do(http.MethodPost, tokensURL, form, http.Header{"X-Csrf-Token": {csrf}}); r.Status != http.StatusCreated {
			t.Fatalf("POST with the session's X-CSRF-Token: %d %s", r.Status, r.Body)
		}
		if acct := b.get("/account/api-tokens/"); !strings.Contains(acct.Body, "from the browser") {
			t.Fatalf("the new API token is not on /account/api-tokens/: %.600s", acct.Body)
		}

		t.Run("deactivation ends the session", func(t *testing.T) {
			other := ag.browser()
			other.loginThrough(other.get("/login"), userPassword)
			ctx := context.Background()
			if err := ag.App.Users.SetActive(ctx, ag.alice.ID, false); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ag.App.Users.SetActive(ctx, ag.alice.ID, true) }()
			if r := other.get("/api/session/"); r.Status != http.StatusUnauthorized {
				t.Fatalf("/api/session/ for a deactivated user: %d %s", r.Status, r.Body)
			}
			if r := other.get("/account/"); r.URL.Path != "/login" {
				t.Fatalf("/account/ for a deactivated user: %s %d", r.URL, r.Status)
			}
		})

		t.Run("logout ends the session", func(t *testing.T) {
			b2 := ag.browser()
			b2.loginThrough(b2.get("/login"), userPassword)
			u, _ := url.Parse(ag.URL)
			var stolen *http.Cookie
			for _, c := range b2.c.Jar.Cookies(u) {
				if c.Name == sessions.CookieName {
					stolen = c
				}
			}
			if stolen == nil {
				t.Fatal("no session cookie after login")
			}
			f := formFields(b2.get("/logout").Body)
			if r := b2.post("/logout", f); r.URL.Path != "/login" {
				t.Fatalf("logout: %s %d", r.URL, r.Status)
			}
			// The old cookie value, replayed, names no session any more.
			replay := ag.rawBrowser()
			replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessions.CookieName, Value: stolen.Value}})
			if r := replay.get("/api/session/"); r.Status != http.StatusUnauthorized {
				t.Fatalf("replayed session cookie after logout: %d %s", r.Status, r.Body)
			}
		})
	})
}
