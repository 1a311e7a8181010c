// Package testenv is the one test environment: it builds the real
// application through internal/app — every store, service and route as
// `authgate serve` wires them — on a fresh database, serves it on an
// httptest server and gives tests a browser, seeded users, client
// registration and a captured log. Import it from _test.go files only.
//
// Time is real unless the test asks for a FixedClock (option Clock), which
// the application reads through app.Options.Now. See docs/testing.md.
package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// The seeded users and their passwords.
const (
	AdminUsername = "admin"
	AdminPassword = "admin password, long enough"
	UserUsername  = "alice"
	UserPassword  = "correct horse battery staple"
)

// Env is a running application.
type Env struct {
	t testing.TB
	// App is the application as internal/app built it.
	App *app.App
	// Server serves App.Router; URL is its base URL and the issuer.
	Server *httptest.Server
	URL    string
	// Logs holds everything the application logged (JSON lines).
	Logs *Logs
	// Admin and User are the seeded users (passwords AdminPassword and
	// UserPassword).
	Admin, User users.User
	// Clock is the application's clock when the option Clock was given,
	// else nil (real time).
	Clock *FixedClock

	rebuild func() *app.App // a new application on the same database (Restart)
	cfg     configs.Config  // what App was built with (Instance)
	appOpts app.Options
}

type options struct {
	postgres bool
	config   []func(*configs.Config)
	clock    *FixedClock
}

// Option changes how New builds the environment.
type Option func(*options)

// Postgres runs the application on a fresh PostgreSQL schema (see
// internal/db/dbtest: skipped unless AUTHGATE_TEST_POSTGRES is set, failed
// when AUTHGATE_REQUIRE_POSTGRES=1 too). The default is a fresh SQLite file.
func Postgres() Option { return func(o *options) { o.postgres = true } }

// Config changes the configuration after the defaults are loaded and the
// database URL and issuer are set, before the application is built.
func Config(fn func(*configs.Config)) Option {
	return func(o *options) { o.config = append(o.config, fn) }
}

// New builds and starts the application for t; everything is closed when
// t ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	gin.SetMode(gin.ReleaseMode)
	dsn := ""
	if o.postgres {
		dsn = dbtest.PostgresDSN(t)
	} else {
		dsn = dbtest.SQLiteDSN(t)
	}
	// The server exists before the application so that the issuer is its
	// URL: iss, redirects and cookies then match what the test sees.
	var router http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { router.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)

	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn, "oauth.issuer": srv.URL})
	if err != nil {
		t.Fatalf("testenv: configuration: %v", err)
	}
	for _, fn := range o.config {
		fn(&cfg)
	}
	logs := newLogs(t)
	appOpts := app.Options{Migrate: true}
	if o.clock != nil {
		appOpts.Now = o.clock.Now
	}
	a, err := app.New(context.Background(), cfg, logs.logger(), appOpts)
	if err != nil {
		t.Fatalf("testenv: build the application: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	router = a.Router
	e := &Env{t: t, App: a, Server: srv, URL: srv.URL, Logs: logs, Clock: o.clock, cfg: cfg, appOpts: appOpts}
	e.rebuild = func() *app.App {
		t.Helper()
		b, err := app.New(context.Background(), cfg, logs.logger(), appOpts)
		if err != nil {
			t.Fatalf("testenv: rebuild the application: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		router = b.Router
		return b
	}
	logs.secrets(AdminPassword, UserPassword)
	e.Admin = e.CreateUser(users.NewUser{Username: AdminUsername, Password: AdminPassword, IsAdmin: true})
	e.User = e.CreateUser(users.NewUser{Username: UserUsername, Password: UserPassword})
	return e
}

// Each runs fn as subtest "sqlite" and as subtest "postgres", each on a
// fresh application (dbtest's rules for PostgreSQL).
func Each(t *testing.T, fn func(t *testing.T, e *Env), opts ...Option) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, New(t, opts...)) })
	t.Run("postgres", func(t *testing.T) { fn(t, New(t, append(opts, Postgres())...)) })
}

// CreateUser adds a user; its password joins the values the log must
// never contain.
func (e *Env) CreateUser(nu users.NewUser) users.User {
	e.t.Helper()
	u, err := e.App.Users.Create(context.Background(), nu)
	if err != nil {
		e.t.Fatalf("testenv: create user %q: %v", nu.Username, err)
	}
	e.Logs.secrets(nu.Password)
	return u
}

// RegisterClient registers an OAuth client through the authorization
// server (its scopes checked against the registry) and returns it with
// its secret ("" for a public client). The name defaults to "app".
func (e *Env) RegisterClient(spec authserver.ClientSpec) (*authserver.Client, string) {
	e.t.Helper()
	if spec.Name == "" {
		spec.Name = "app"
	}
	c, secret, err := e.App.OAuth.CreateClient(context.Background(), spec)
	if err != nil {
		e.t.Fatalf("testenv: register client: %v", err)
	}
	e.Logs.secrets(secret)
	return c, secret
}
