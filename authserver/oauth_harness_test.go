package authserver_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// The OAuth harness is the real application (internal/testenv): our
// Server, the web pages and a resource "test" protected by the app's
// Guard, on a random port against a real database, attacked over HTTP.
// It only adds the OAuth helpers these tests share.

type harness struct {
	t        testing.TB
	e        *testenv.Env
	d        *db.DB
	s        *authserver.Server
	srv      *httptest.Server
	users    users.Store
	alice    users.User
	bob      users.User // the seeded admin
	reg      *scopes.Registry
	sessions *sessions.Manager
	consents authserver.ConsentStore
	http     *http.Client

	apiTokens *tokens.Manager
}

const testPassword = testenv.UserPassword

// oauthEnv is the configuration these tests run the application with:
// resources "test" and "admin", HTTP Basic on the API, and no failure
// limits: the clients all call from 127.0.0.1 and some tests make dozens
// of failing calls on purpose (replays, races); the limits have their own
// tests (resources, internal/app). mutate changes the OAuth section.
func oauthEnv(mutate func(*authserver.Config)) testenv.Option {
	return testenv.Config(func(c *configs.Config) {
		c.Resources = append(c.Resources,
			configs.Resource{Name: "test", Methods: []string{"GET", "POST", "DELETE"}},
			configs.Resource{Name: "admin", Methods: []string{"GET"}})
		c.Auth.EnableBasic = true
		c.Auth.TokenEndpointIPFailRate = -1
		c.Auth.APIFailedAuthAttempts = -1
		if mutate != nil {
			mutate(&c.OAuth)
		}
	})
}

// eachHarness runs fn on SQLite and on PostgreSQL (testenv.Each).
func eachHarness(t *testing.T, mutate func(*authserver.Config), fn func(t *testing.T, h *harness), opts ...testenv.Option) {
	t.Helper()
	testenv.Each(t, func(t *testing.T, e *testenv.Env) { fn(t, harnessOn(t, e)) }, append(opts, oauthEnv(mutate))...)
}

// newHarness runs the application on SQLite.
func newHarness(t testing.TB, mutate func(*authserver.Config), opts ...testenv.Option) *harness {
	t.Helper()
	return harnessOn(t, testenv.New(t, append(opts, oauthEnv(mutate))...))
}

// harnessOn adds the protected resource /api/test/ to e (built with
// oauthEnv) and returns the harness over it.
func harnessOn(t testing.TB, e *testenv.Env) *harness {
	t.Helper()
	a := e.App
	h := &harness{t: t, e: e, d: a.DB, s: a.OAuth, srv: e.Server, users: a.Users, alice: e.User, bob: e.Admin,
		reg: a.Scopes, sessions: a.Sessions, consents: authserver.NewSQLConsentStore(a.DB), apiTokens: a.Tokens}
	testAPI := func(c *gin.Context) {
		p, _ := resources.PrincipalFrom(c)
		c.JSON(http.StatusOK, gin.H{"stat": "ok", "client_id": p.ClientID, "user_id": p.User.ID})
	}
	// No request has reached the router yet: adding routes is safe.
	a.Router.GET("/api/test/", a.Guard.Protect(resources.Resource{Name: "test"}), testAPI)
	a.Router.POST("/api/test/", a.Guard.Protect(resources.Resource{Name: "test"}), testAPI)
	h.http = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// client registers a client with the given spec.
func (h *harness) client(spec authserver.ClientSpec) (*authserver.Client, string) {
	h.t.Helper()
	return h.e.RegisterClient(spec)
}

// webClient is a confidential client for the code flow.
func (h *harness) webClient(scopeList ...string) (*authserver.Client, string) {
	if len(scopeList) == 0 {
		scopeList = []string{"test:read", "test:write", "admin:read"}
	}
	return h.client(authserver.ClientSpec{RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: scopeList})
}

// serviceClient is a confidential client_credentials client.
func (h *harness) serviceClient(scopeList ...string) (*authserver.Client, string) {
	if len(scopeList) == 0 {
		scopeList = []string{"test:read", "test:write"}
	}
	return h.client(authserver.ClientSpec{GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: scopeList})
}

// response is a decoded OAuth endpoint response.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

// post sends a form to path, with HTTP Basic when basicID is not "".
func (h *harness) post(path string, form url.Values, basicID, basicSecret string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			h.t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return out
}

func (h *harness) token(form url.Values, id, secret string) response {
	h.t.Helper()
	return h.post(authserver.PathToken, form, id, secret)
}

// pkce returns a fresh verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// codeReq is an authorization request.
type codeReq struct {
	client      *authserver.Client
	user        users.User
	scope       string
	redirectURI string
	challenge   string
	method      string
}

// mintCode issues a code the way the authorization endpoint does, through
// go-oauth2's GetAuthorizeToken with our manager.
func (h *harness) mintCode(cr codeReq) (string, error) {
	if cr.redirectURI == "" {
		cr.redirectURI = cr.client.RedirectURIs[0]
	}
	if cr.user.ID == 0 {
		cr.user = h.alice
	}
	if cr.method == "" && cr.challenge != "" {
		cr.method = "S256"
	}
	r := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
	ti, err := h.s.OAuth2.GetAuthorizeToken(context.Background(), &server.AuthorizeRequest{
		ResponseType: oauth2.Code, ClientID: cr.client.ID, RedirectURI: cr.redirectURI, Scope: cr.scope,
		UserID: strconv.FormatInt(cr.user.ID, 10), CodeChallenge: cr.challenge,
		CodeChallengeMethod: oauth2.CodeChallengeMethod(cr.method), Request: r,
	})
	if err != nil {
		return "", err
	}
	return ti.GetCode(), nil
}

func (h *harness) mustCode(cr codeReq) string {
	h.t.Helper()
	code, err := h.mintCode(cr)
	if err != nil {
		h.t.Fatalf("mint code: %v", err)
	}
	return code
}

// browserSession logs user in (a session cookie, as the login page sets it)
// and records consent for client and scope, so /oauth/authorize answers
// with a code at once.
func (h *harness) browserSession(user users.User, client *authserver.Client, scope string) *http.Cookie {
	h.t.Helper()
	rec := httptest.NewRecorder()
	if _, err := h.sessions.Start(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/login", nil), user); err != nil {
		h.t.Fatal(err)
	}
	set, err := scopes.ParseSet(scope)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.consents.Grant(context.Background(), user.ID, client.ID, set); err != nil {
		h.t.Fatal(err)
	}
	return rec.Result().Cookies()[0]
}

// authorize sends GET /oauth/authorize with params and the cookie.
func (h *harness) authorize(params url.Values, cookie *http.Cookie) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+authserver.PathAuthorize+"?"+params.Encode(), nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return h.do(req)
}

// browserCode runs the authorization request over HTTP for a logged-in user
// who already consented, and returns the code from the redirect.
func (h *harness) browserCode(client *authserver.Client, scope, challenge string) string {
	h.t.Helper()
	cookie := h.browserSession(h.alice, client, scope)
	resp := h.authorize(url.Values{
		"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {client.RedirectURIs[0]},
		"scope": {scope}, "state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}, cookie)
	if resp.Status != http.StatusSeeOther && resp.Status != http.StatusFound {
		h.t.Fatalf("authorize: status %d, body %s", resp.Status, resp.Raw)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	code := loc.Query().Get("code")
	if code == "" {
		h.t.Fatalf("authorize: no code in %s", loc)
	}
	return code
}

// exchange redeems a code with client credentials in the Basic header.
func (h *harness) exchange(c *authserver.Client, secret, code, verifier string) response {
	h.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURIs[0]}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	if c.Public {
		form.Set("client_id", c.ID)
		return h.token(form, "", "")
	}
	return h.token(form, c.ID, secret)
}

// tokens runs a whole code flow for alice and returns the token response.
func (h *harness) tokens(c *authserver.Client, secret, scope string) response {
	h.t.Helper()
	v, ch := pkce()
	code := h.mustCode(codeReq{client: c, scope: scope, challenge: ch})
	resp := h.exchange(c, secret, code, v)
	if resp.Status != http.StatusOK {
		h.t.Fatalf("exchange: %d %s", resp.Status, resp.Raw)
	}
	return resp
}

func (h *harness) refresh(c *authserver.Client, secret, refresh, scope string) response {
	h.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	if scope != "" {
		form.Set("scope", scope)
	}
	if c.Public {
		form.Set("client_id", c.ID)
		return h.token(form, "", "")
	}
	return h.token(form, c.ID, secret)
}

// introspect asks whether raw is active, authenticating as a fresh
// resource-server client.
func (h *harness) introspect(raw string) response {
	h.t.Helper()
	rs, secret := h.introspector()
	return h.post(authserver.PathIntrospect, url.Values{"token": {raw}}, rs.ID, secret)
}

func (h *harness) introspector() (*authserver.Client, string) {
	return h.client(authserver.ClientSpec{Name: "resource server", GrantTypes: []string{authserver.GrantClientCredentials}, ResourceServer: true})
}

func (h *harness) active(raw string) bool {
	h.t.Helper()
	r := h.introspect(raw)
	if r.Status != http.StatusOK {
		h.t.Fatalf("introspect: %d %s", r.Status, r.Raw)
	}
	a, _ := r.Body["active"].(bool)
	return a
}

// api calls the Guard-protected resource with a bearer token.
func (h *harness) api(authorization string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/test/", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.do(req)
}

// expectError checks an RFC 6749 §5.2 error response.
func expectError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Raw)
	}
	if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("401 without WWW-Authenticate: %v", r.Header)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
}

// decodeSegment decodes part i (0 header, 1 payload) of a JWT into v.
func decodeSegment(t testing.TB, jwt string, i int, v any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// expire moves a stored code or token's expiry into the past.
func (h *harness) expire(raw string) {
	h.t.Helper()
	past := time.Now().Add(-time.Minute).UTC()
	if _, err := h.d.Exec(h.d.Rebind(`UPDATE oauth_tokens SET expires_at = ? WHERE digest = ?`), past, oauthstore.Digest(raw)); err != nil {
		h.t.Fatal(err)
	}
}
