package mgmtapi_test

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
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// harness is the management API in the real application (internal/testenv)
// with users alice and bob (not admins) and admin, and OAuth clients
// named by the tests. Requests go through the
// application's router in process. A test that replaces one of the API's
// own seams (harnessOpts) gets a router of its own: the API mounted with
// the application's parts and that seam.
type harness struct {
	t        testing.TB
	e        *testenv.Env
	d        *db.DB
	users    users.Store
	tokens   *tokens.Manager
	sessions *sessions.Manager
	registry *scopes.Registry
	store    *mgmtapi.ResourceStore // reads registered_resources
	router   http.Handler
	logs     *testenv.Logs
	alice    users.User
	bob      users.User
	admin    users.User
	clients  map[string]*namedClient
}

// password is alice's and bob's password; admin's is testenv.AdminPassword.
const password = testenv.UserPassword

type namedClient struct {
	c      *authserver.Client
	secret string
}

type harnessOpts struct {
	tokenOpts     func(*tokens.Options)
	reportLimiter resources.Limiter
}

// apiEnv turns on HTTP Basic and lifts the API's rate and failure limits
// (tests call it many times from one address; the limits have their own
// tests in resources and internal/app).
var apiEnv = testenv.Config(func(c *configs.Config) {
	c.Auth.EnableBasic = true
	c.Auth.APIFailedAuthAttempts = -1
	c.Auth.APIRateAuthenticated, c.Auth.APIRateAnonymous = -1, -1
	c.Auth.TokenEndpointIPFailRate = -1
})

func newHarness(t testing.TB, e *testenv.Env, o harnessOpts) *harness {
	t.Helper()
	a := e.App
	h := &harness{t: t, e: e, d: a.DB, users: a.Users, tokens: a.Tokens, sessions: a.Sessions, registry: a.Scopes,
		store: mgmtapi.NewResourceStore(a.DB, nil), router: a.Router, logs: e.Logs, alice: e.User,
		clients: map[string]*namedClient{}}
	h.bob = e.CreateUser(users.NewUser{Username: "bob", Email: "bob@example.test", Password: password})
	h.admin = e.Admin
	if o.tokenOpts != nil || o.reportLimiter != nil {
		h.router = h.ownRouter(o)
	}
	return h
}

// eachHarness runs fn on SQLite and on PostgreSQL.
func eachHarness(t *testing.T, o harnessOpts, fn func(t *testing.T, h *harness)) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) { fn(t, newHarness(t, e, o)) }, apiEnv)
}

// ownRouter mounts the API on a router of its own: the application's
// Guard, registry, users, sessions and authorization server, with the
// seams o replaces.
func (h *harness) ownRouter(o harnessOpts) http.Handler {
	h.t.Helper()
	a := h.e.App
	tm := a.Tokens
	if o.tokenOpts != nil {
		topts := tokens.Options{Logger: a.Logger, KnownPolicyID: a.Scopes.KnownPolicyID}
		o.tokenOpts(&topts)
		var err error
		if tm, err = tokens.NewManager(tokens.NewSQLStore(a.DB), a.Users, topts); err != nil {
			h.t.Fatal(err)
		}
		h.tokens = tm
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := mgmtapi.Mount(r, mgmtapi.Deps{
		Guard: a.Guard, Registry: a.Scopes, Tokens: tm, Users: a.Users, Resources: h.store, Logger: a.Logger,
		Sessions: resourceauth.Sessions{M: a.Sessions}, ReportLimiter: o.reportLimiter, Credentials: a.OAuth, Clients: a.OAuth,
	}); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// basic is an Authorization header signing username in with HTTP Basic.
func (h *harness) basic(username string) string {
	pw := password
	if username == testenv.AdminUsername {
		pw = testenv.AdminPassword
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+pw))
}

func (h *harness) apiToken(u users.User, pol string) (string, *tokens.Token) {
	h.t.Helper()
	tok, raw, err := h.tokens.Generate(context.Background(), tokens.GenerateParams{User: u, Note: "t", Policy: json.RawMessage(pol)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.logs.Secret(raw)
	return raw, tok
}

// client returns the OAuth client the tests call name, registering it on
// first use (a resource server when name ends in "-server") and widening
// its scopes to hold scope.
func (h *harness) client(name, scope string) *namedClient {
	h.t.Helper()
	want := strings.Fields(scope)
	nc := h.clients[name]
	if nc == nil {
		c, secret := h.e.RegisterClient(authserver.ClientSpec{Name: name, ResourceServer: strings.HasSuffix(name, "-server"),
			GrantTypes:   []string{authserver.GrantAuthorizationCode, authserver.GrantRefreshToken, authserver.GrantClientCredentials},
			RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: want})
		nc = &namedClient{c: c, secret: secret}
		h.clients[name] = nc
	}
	var missing []string
	for _, s := range want {
		if !slices.Contains(nc.c.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		c, err := h.e.App.OAuth.UpdateClient(context.Background(), nc.c.ID, func(sp *authserver.ClientSpec) error {
			sp.Scopes = append(sp.Scopes, missing...)
			return nil
		})
		if err != nil {
			h.t.Fatal(err)
		}
		nc.c = c
	}
	return nc
}

// clientID is the server-chosen ID of the client the tests call name.
func (h *harness) clientID(name string) string {
	h.t.Helper()
	nc := h.clients[name]
	if nc == nil {
		h.t.Fatalf("no client %q yet", name)
	}
	return nc.c.ID
}

// bearer returns an Authorization header with an access token the
// authorization server issued to client for scope: for u through the code
// flow (the code minted as the authorization endpoint mints it, with
// PKCE), or with client_credentials when u is nil.
func (h *harness) bearer(u *users.User, client, scope string) string {
	h.t.Helper()
	nc := h.client(client, scope)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	if u != nil {
		var b [32]byte
		_, _ = rand.Read(b[:])
		verifier := base64.RawURLEncoding.EncodeToString(b[:])
		sum := sha256.Sum256([]byte(verifier))
		ti, err := h.e.App.OAuth.OAuth2.GetAuthorizeToken(context.Background(), &server.AuthorizeRequest{
			ResponseType: oauth2.Code, ClientID: nc.c.ID, RedirectURI: nc.c.RedirectURIs[0], Scope: scope,
			UserID: strconv.FormatInt(u.ID, 10), CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
			CodeChallengeMethod: oauth2.CodeChallengeS256, Request: httptest.NewRequest(http.MethodGet, authserver.PathAuthorize, nil),
		})
		if err != nil {
			h.t.Fatalf("mint code: %v", err)
		}
		form = url.Values{"grant_type": {"authorization_code"}, "code": {ti.GetCode()},
			"redirect_uri": {nc.c.RedirectURIs[0]}, "code_verifier": {verifier}}
	}
	hr := httptest.NewRequest(http.MethodPost, authserver.PathToken, strings.NewReader(form.Encode()))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.SetBasicAuth(url.QueryEscape(nc.c.ID), url.QueryEscape(nc.secret))
	w := httptest.NewRecorder()
	h.e.App.Router.ServeHTTP(w, hr)
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || w.Code != http.StatusOK || tok.AccessToken == "" {
		h.t.Fatalf("token for %s (%s): %d %s", client, scope, w.Code, w.Body)
	}
	h.logs.Secret(tok.AccessToken)
	return "Bearer " + tok.AccessToken
}

func (h *harness) session(u users.User) (*http.Cookie, string) {
	h.t.Helper()
	w := httptest.NewRecorder()
	cur, err := h.sessions.Start(context.Background(), w, httptest.NewRequest("GET", "/", nil), u)
	if err != nil {
		h.t.Fatal(err)
	}
	return w.Result().Cookies()[0], cur.CSRFToken()
}

// req describes one request; body is a form (url.Values) or JSON (string
// starting with "{").
type req struct {
	method, path, authz string
	form                url.Values
	json                string
	cookie              *http.Cookie
	csrf                string
	header              http.Header
}

type resp struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func (h *harness) do(r req) resp {
	h.t.Helper()
	var body io.Reader
	ct := ""
	switch {
	case r.form != nil:
		body, ct = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.json != "":
		body, ct = strings.NewReader(r.json), "application/json"
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.authz != "" {
		hr.Header.Set("Authorization", r.authz)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	if r.csrf != "" {
		hr.Header.Set(resources.CSRFHeader, r.csrf)
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, hr)
	out := resp{code: w.Code, header: w.Header(), raw: w.Body.String()}
	// A body that is not JSON (gin's plain 404/405) leaves body nil;
	// callers comparing fields then fail on their own.
	_ = json.Unmarshal(w.Body.Bytes(), &out.body)
	return out
}

// errCode returns err.code of a failure body, 0 for success.
func (r resp) errCode() int {
	if e, ok := r.body["err"].(map[string]any); ok {
		return int(e["code"].(float64))
	}
	return 0
}

func (r resp) errMsg() string {
	if e, ok := r.body["err"].(map[string]any); ok {
		return e["msg"].(string)
	}
	return ""
}

// get walks the body: get("api_token", "id").
func (r resp) get(keys ...string) any {
	var v any = r.body
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
