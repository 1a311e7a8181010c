package mgmtapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

func init() { gin.SetMode(gin.TestMode) }

// jwtValidator verifies real Ed25519-signed access tokens (RFC 9068 shape).
type jwtValidator struct{ pub ed25519.PublicKey }

type atClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

func (v *jwtValidator) ValidateBearer(_ context.Context, raw string) (*resources.BearerToken, error) {
	var cl atClaims
	tok, err := jwt.ParseWithClaims(raw, &cl, func(*jwt.Token) (any, error) { return v.pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	set, err := scopes.ParseSet(cl.Scope)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	bt := &resources.BearerToken{TokenID: cl.ID, ClientID: cl.ClientID, Scopes: set}
	if cl.Subject != cl.ClientID {
		bt.UserID, _ = strconv.ParseInt(cl.Subject, 10, 64)
	}
	return bt, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is authgate's API on a real database, wired like internal/app.
type harness struct {
	t        testing.TB
	d        *db.DB
	users    *users.SQLStore
	tokens   *tokens.Manager
	sessions *sessions.Manager
	registry *scopes.Registry
	store    *mgmtapi.ResourceStore
	router   *gin.Engine
	priv     ed25519.PrivateKey
	logs     *syncBuffer
	password string
	alice    users.User
	bob      users.User
	admin    users.User
}

type harnessOpts struct {
	tokenOpts     func(*tokens.Options)
	registrar     func(context.Context, *resources.Principal) (bool, error)
	reportLimiter resources.Limiter
}

func newHarness(t testing.TB, d *db.DB, o harnessOpts) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, d: d, users: users.NewSQLStore(d), logs: &syncBuffer{}, password: "correct horse battery staple"}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	topts := tokens.Options{Logger: logger}
	if o.tokenOpts != nil {
		o.tokenOpts(&topts)
	}
	h.sessions = sessions.NewManager(sessions.NewSQLStore(d), h.users, sessions.Options{})
	h.registry = scopes.NewRegistry()
	h.store = mgmtapi.NewResourceStore(d, nil)
	if err := mgmtapi.DeclareBuiltins(h.registry); err != nil {
		t.Fatal(err)
	}
	if err := h.store.Load(ctx, h.registry); err != nil {
		t.Fatal(err)
	}
	topts.KnownPolicyID = h.registry.KnownPolicyID
	var err error
	if h.tokens, err = tokens.NewManager(tokens.NewSQLStore(d), h.users, topts); err != nil {
		t.Fatal(err)
	}
	var pub ed25519.PublicKey
	if pub, h.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	gcfg := resources.GuardConfig{Bearer: &jwtValidator{pub: pub}, EnableBasic: true, Logger: logger}
	resourceauth.Configure(&gcfg, h.tokens, h.users, h.sessions)
	guard, err := resources.NewGuard(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	h.router = gin.New()
	h.router.HandleMethodNotAllowed = true
	if err := mgmtapi.Mount(h.router, mgmtapi.Deps{
		Guard: guard, Registry: h.registry, Tokens: h.tokens, Users: h.users,
		Resources: h.store, RegistrarAllowed: o.registrar, Logger: logger,
		Sessions: resourceauth.Sessions{M: h.sessions}, ReportLimiter: o.reportLimiter,
	}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		p     *users.User
		name  string
		admin bool
	}{{&h.alice, "alice", false}, {&h.bob, "bob", false}, {&h.admin, "admin", true}} {
		if *u.p, err = h.users.Create(ctx, users.NewUser{Username: u.name, Email: u.name + "@example.test", Password: h.password, IsAdmin: u.admin}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) basic(u string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+h.password))
}

func (h *harness) apiToken(u users.User, pol string) (string, *tokens.Token) {
	h.t.Helper()
	tok, raw, err := h.tokens.Generate(context.Background(), tokens.GenerateParams{User: u, Note: "t", Policy: json.RawMessage(pol)})
	if err != nil {
		h.t.Fatal(err)
	}
	return raw, tok
}

func (h *harness) bearer(u *users.User, client, scope string) string {
	h.t.Helper()
	cl := atClaims{RegisteredClaims: jwt.RegisteredClaims{
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), ID: "jti-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Subject: client,
	}, ClientID: client, Scope: scope}
	if u != nil {
		cl.Subject = strconv.FormatInt(u.ID, 10)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(h.priv)
	if err != nil {
		h.t.Fatal(err)
	}
	return "Bearer " + s
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
