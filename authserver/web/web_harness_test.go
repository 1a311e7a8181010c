package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// The web harness runs the web pages against a real database (SQLite),
// real sessions and a real go-oauth2 server whose token store is a map: the
// handler tests here exercise this file set alone; integration/ runs the
// whole server.

type mapClients map[string]Client

func (m mapClients) LookupClient(_ context.Context, id string) (Client, bool, error) {
	c, ok := m[id]
	return c, ok, nil
}

// oauthClients is go-oauth2's view of the same clients.
type oauthClients map[string]Client

func (m oauthClients) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	c, ok := m[id]
	if !ok {
		return nil, errors.New("unknown client")
	}
	return &models.Client{ID: c.ID, Domain: strings.Join(c.RedirectURIs, "\n"), Public: c.Public}, nil
}

// codeStore keeps issued codes so tests can inspect what the library stored.
type codeStore struct {
	mu    sync.Mutex
	codes map[string]oauth2.TokenInfo
}

func (s *codeStore) Create(_ context.Context, ti oauth2.TokenInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[ti.GetCode()] = ti
	return nil
}
func (s *codeStore) get(code string) oauth2.TokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[code]
}
func (s *codeStore) RemoveByCode(context.Context, string) error    { return nil }
func (s *codeStore) RemoveByAccess(context.Context, string) error  { return nil }
func (s *codeStore) RemoveByRefresh(context.Context, string) error { return nil }
func (s *codeStore) GetByCode(_ context.Context, c string) (oauth2.TokenInfo, error) {
	return s.get(c), nil
}
func (s *codeStore) GetByAccess(context.Context, string) (oauth2.TokenInfo, error)  { return nil, nil }
func (s *codeStore) GetByRefresh(context.Context, string) (oauth2.TokenInfo, error) { return nil, nil }

type webHarness struct {
	t        *testing.T
	srv      *httptest.Server
	web      *Pages
	codes    *codeStore
	users    users.Store
	consents authserver.ConsentStore
	alice    users.User
}

const (
	harnessPassword = "correct horse battery staple"
	harnessPublic   = "native-app"
	harnessConf     = "web-app"
)

func newWebHarness(t *testing.T) *webHarness { t.Helper(); return newWebHarnessWith(t, nil) }

// newWebHarnessWith is newWebHarness with tune applied to the web pages'
// configuration and dependencies before they are built.
func newWebHarnessWith(t *testing.T, tune func(*Config, *Deps)) *webHarness {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	d := dbtest.Open(t)
	ctx := context.Background()
	us := users.NewSQLStore(d)
	alice, err := us.Create(ctx, users.NewUser{Username: "alice", Password: harnessPassword})
	if err != nil {
		t.Fatal(err)
	}
	reg := scopes.NewRegistry()
	for _, decl := range []scopes.Decl{
		{Name: "session", Methods: []string{"GET"}},
		{Name: "tokens", Methods: []string{"GET", "POST", "DELETE"}},
		{Name: "admin", Methods: []string{"GET"}},
	} {
		if err := reg.Add(decl); err != nil {
			t.Fatal(err)
		}
	}
	all := func(s string) scopes.Set {
		set, err := scopes.ParseSet(s)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	clients := mapClients{
		harnessPublic: {ID: harnessPublic, Name: "Native <App>", Public: true, Active: true, AuthorizationCode: true,
			RedirectURIs: []string{"http://127.0.0.1:8080/callback", "com.example.app:/cb"},
			Scopes:       all("session:read tokens:read tokens:write tokens:destroy")},
		harnessConf: {ID: harnessConf, Name: "Web App", Active: true, AuthorizationCode: true,
			RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/other"},
			Scopes:       all("session:read tokens:read")},
		"disabled": {ID: "disabled", Name: "Off", Active: false, AuthorizationCode: true,
			RedirectURIs: []string{"https://off.example.com/cb"}, Scopes: all("session:read")},
		"cc-only": {ID: "cc-only", Name: "Machine", Active: true, AuthorizationCode: false,
			RedirectURIs: []string{"https://m.example.com/cb"}, Scopes: all("session:read")},
		"single": {ID: "single", Name: "Single", Active: true, AuthorizationCode: true,
			RedirectURIs: []string{"https://single.example.com/cb"}, Scopes: all("session:read")},
	}
	mgr := manage.NewDefaultManager()
	codes := &codeStore{codes: map[string]oauth2.TokenInfo{}}
	mgr.MapTokenStorage(codes)
	mgr.MapClientStorage(oauthClients(clients))
	mgr.SetValidateURIHandler(func(domain, uri string) error {
		if !authserver.MatchRedirectURI(strings.Split(domain, "\n"), uri) {
			return errors.New("redirect mismatch")
		}
		return nil
	})
	osrv := server.NewServer(server.NewConfig(), mgr)

	h := &webHarness{t: t, codes: codes, users: us, alice: alice, consents: authserver.NewSQLConsentStore(d)}
	r := gin.New()
	h.srv = httptest.NewServer(r)
	t.Cleanup(h.srv.Close)
	sm := sessions.NewManager(sessions.NewSQLStore(d), us, sessions.Options{})
	wc := Config{Issuer: h.srv.URL, LoginAttempts: 3, LoginWindow: time.Minute}
	wd := Deps{Sessions: sm, Users: us, Consents: h.consents, Clients: clients, Scopes: reg, OAuth: osrv}
	if tune != nil {
		tune(&wc, &wd)
	}
	h.web, err = New(wc, wd)
	if err != nil {
		t.Fatal(err)
	}
	h.web.Mount(r)
	return h
}

// browser is an http.Client with a cookie jar that never follows redirects,
// so every hop can be inspected.
func (h *webHarness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location(t *testing.T) *url.URL {
	t.Helper()
	loc := p.header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location (status %d): %s", p.status, p.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (h *webHarness) do(c *http.Client, method, path string, form url.Values) page {
	h.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = h.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields returns a form's hidden fields, HTML-unescaped.
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Add(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

// login signs alice in through the login form.
func (h *webHarness) login(c *http.Client) {
	h.t.Helper()
	p := h.do(c, http.MethodGet, "/login", nil)
	f := hiddenFields(p.body)
	f.Set("username", "alice")
	f.Set("password", harnessPassword)
	p = h.do(c, http.MethodPost, "/login", f)
	if p.status != http.StatusSeeOther {
		h.t.Fatalf("login: status %d: %s", p.status, p.body)
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const harnessVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// authzQuery is a valid request for the public client; tests change it.
func authzQuery() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {harnessPublic},
		"redirect_uri":          {"http://127.0.0.1:8080/callback"},
		"scope":                 {"session:read"},
		"state":                 {"st-123"},
		"code_challenge":        {s256(harnessVerifier)},
		"code_challenge_method": {"S256"},
	}
}
