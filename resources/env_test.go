package resources_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

func init() { gin.SetMode(gin.TestMode) }

// jwtValidator is a real resources.BearerValidator for tests: it verifies
// Ed25519-signed RFC 9068 JWTs with golang-jwt, as the authorization
// server's validator does, and accepts nothing else.
type jwtValidator struct {
	pub    ed25519.PublicKey
	issuer string
}

type atClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Username string `json:"username,omitempty"`
}

func (v *jwtValidator) ValidateBearer(_ context.Context, raw string) (*resources.BearerToken, error) {
	var cl atClaims
	tok, err := jwt.ParseWithClaims(raw, &cl, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, fmt.Errorf("typ %q is not at+jwt", typ)
		}
		return v.pub, nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(v.issuer), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	set, err := scopes.ParseSet(cl.Scope)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	bt := &resources.BearerToken{TokenID: cl.ID, ClientID: cl.ClientID, Scopes: set, Username: cl.Username, Audience: cl.Audience}
	if cl.ExpiresAt != nil {
		bt.ExpiresAt = cl.ExpiresAt.Time
	}
	if cl.Subject != "" && cl.Subject != cl.ClientID {
		if bt.UserID, err = strconv.ParseInt(cl.Subject, 10, 64); err != nil {
			return nil, fmt.Errorf("%w: sub is not a user ID", resources.ErrBearerInvalid)
		}
	}
	return bt, nil
}

// env is a real authgate stack on one database: users, API tokens,
// sessions, a JWT signer, and a Guard with every scheme enabled.
type env struct {
	t        testing.TB
	d        *db.DB
	users    *users.SQLStore
	tokens   *tokens.Manager
	sessions *sessions.Manager
	priv     ed25519.PrivateKey
	otherKey ed25519.PrivateKey
	bearer   *jwtValidator
	logs     *syncBuffer
	logger   *slog.Logger
	alice    users.User
	admin    users.User
	password string
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

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, d: d, users: users.NewSQLStore(d), logs: &syncBuffer{}, password: "correct horse battery staple"}
	e.logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if e.tokens, err = tokens.NewManager(tokens.NewSQLStore(d), e.users, tokens.Options{LegacySecret: []byte("test legacy secret"), Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	e.sessions = sessions.NewManager(sessions.NewSQLStore(d), e.users, sessions.Options{})
	if _, e.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, e.otherKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	e.bearer = &jwtValidator{pub: e.priv.Public().(ed25519.PublicKey), issuer: "https://authgate.test"}
	if e.alice, err = e.users.Create(ctx, users.NewUser{Username: "alice", Password: e.password}); err != nil {
		t.Fatal(err)
	}
	if e.admin, err = e.users.Create(ctx, users.NewUser{Username: "admin", Password: e.password, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

// guard returns a Guard with every scheme on, with the modifications mod
// applies to its config.
func (e *env) guard(mod func(*resources.GuardConfig)) *resources.Guard {
	cfg := resources.GuardConfig{Bearer: e.bearer, EnableBasic: true, Logger: e.logger, NoFailedAuthLimit: true}
	resourceauth.Configure(&cfg, e.tokens, e.users, e.sessions)
	if mod != nil {
		mod(&cfg)
	}
	g, err := resources.NewGuard(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// apiToken creates a real API token for u with the given policy.
func (e *env) apiToken(u users.User, pol string, gen string) (string, *tokens.Token) {
	e.t.Helper()
	tok, raw, err := e.tokens.Generate(context.Background(), tokens.GenerateParams{User: u, Note: "test", Policy: json.RawMessage(pol), GeneratorID: gen})
	if err != nil {
		e.t.Fatalf("generate token: %v", err)
	}
	return raw, tok
}

// jwt mints a real signed access token; key nil means the trusted key.
func (e *env) jwt(u *users.User, scope string, exp time.Duration, key ed25519.PrivateKey) string {
	e.t.Helper()
	if key == nil {
		key = e.priv
	}
	now := time.Now()
	cl := atClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: e.bearer.issuer, Audience: jwt.ClaimStrings{"authgate"},
			ExpiresAt: jwt.NewNumericDate(now.Add(exp)), IssuedAt: jwt.NewNumericDate(now),
			ID: fmt.Sprintf("jti-%d", now.UnixNano()),
		},
		ClientID: "client-1",
		Scope:    scope,
	}
	if u != nil {
		cl.Subject = strconv.FormatInt(u.ID, 10)
		cl.Username = u.Username
	} else {
		cl.Subject = cl.ClientID
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// session logs u in and returns the cookie and CSRF token.
func (e *env) session(u users.User) (*http.Cookie, string) {
	e.t.Helper()
	w := httptest.NewRecorder()
	cur, err := e.sessions.Start(context.Background(), w, httptest.NewRequest(http.MethodGet, "/", nil), u)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessions.CookieName {
			return c, cur.CSRFToken()
		}
	}
	e.t.Fatal("no session cookie")
	return nil, ""
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// envelope is the Djblets error body.
type envelope struct {
	Stat string `json:"stat"`
	Err  struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	} `json:"err"`
	Fields map[string][]string `json:"fields"`
	Auth   string              `json:"auth"`
}

func decode(t testing.TB, body []byte) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return env
}
