package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/notify"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// App is a configured authgate: database, stores and HTTP router. New
// assigns every field once; nothing changes them afterwards.
type App struct {
	Config  configs.Config
	Logger  *slog.Logger
	DB      *db.DB
	Users   users.Store
	Tokens  *tokens.Manager
	Router  *gin.Engine
	Metrics *prometheus.Registry

	// Sessions are the browser sessions of the web pages; the resource
	// guard also accepts them (with the CSRF token on unsafe methods).
	Sessions *sessions.Manager

	// Scopes is the resource/scope registry (policy IDs, scopes_supported,
	// consent descriptions); Guard protects /api/ and any other resource.
	Scopes *scopes.Registry
	Guard  *resources.Guard

	// OAuth is the OAuth2 authorization server (token, revocation,
	// introspection, discovery, JWKS, client registry, signing keys).
	OAuth *authserver.Server

	// Notify is the cross-instance invalidation bus
	// (docs/architecture.md, "Storage and invalidation"): PostgreSQL
	// NOTIFY/LISTEN between instances, in-process fan-out on SQLite.
	Notify *notify.Bus

	resourceStore *mgmtapi.ResourceStore
	closers       []func() error
	now           func() time.Time // Options.Now (nil: time.Now)
}

// Options tunes New for the caller: the CLI opens an App without serving it.
type Options struct {
	// Migrate applies pending migrations even when database.auto_migrate is off.
	Migrate bool
	// PublishOnly announces this App's changes to running instances but
	// opens no PostgreSQL listener (management commands, which exit at once).
	PublishOnly bool
	// Now replaces time.Now in the components whose constructors take a
	// clock (authorization server and its stores and limiters, web pages,
	// sessions, API tokens, the API's limiters, the sweeper): tests run the
	// application on a controllable clock. Nil: time.Now.
	Now func() time.Time
}

// New builds an App. The caller must Close it.
//
// It is straight-line code: each component is built by a constructor that
// takes what it depends on, so building one before its dependencies does
// not compile. See docs/architecture.md, "Wiring".
func New(ctx context.Context, cfg configs.Config, logger *slog.Logger, opts Options) (_ *App, err error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var closers []func() error
	defer func() {
		if err != nil {
			closeAll(closers)
		}
	}()
	d, err := openDatabase(ctx, cfg.Database, opts.Migrate, logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, d.Close)
	// The bus exists before any cache loads: on PostgreSQL it returns once
	// LISTEN is in effect, so no change committed after a first load goes
	// unheard.
	bus, err := newBus(ctx, d, cfg.Database.URL, logger, opts.PublishOnly)
	if err != nil {
		return nil, err
	}
	closers = append(closers, bus.Close)
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	reg, resourceStore, err := newScopes(ctx, cfg, d, bus, logger)
	if err != nil {
		return nil, err
	}
	tokenCache := tokens.NewAuthCache(cfg.Tokens.CacheTTLFor(string(d.Dialect)), cfg.Tokens.CacheSize)
	userStore := newUsers(cfg.Auth, d, bus, tokenCache)
	tokenManager, err := newTokens(cfg.Tokens, d, userStore, tokenCache, bus, reg, opts.Now, logger)
	if err != nil {
		return nil, err
	}
	sessionManager := newSessions(cfg, d, userStore, opts.Now)
	oauth, err := newAuthServer(ctx, cfg, d, bus, userStore, reg, tokenManager, metrics, opts.Now, logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, oauth.Close)
	pages, err := newWeb(cfg, d, oauth, sessionManager, userStore, reg, tokenManager,
		newWebResources(resourceStore, reg, logger), opts.Now, logger)
	if err != nil {
		return nil, err
	}
	guard, err := newGuard(cfg.Auth, oauth, tokenManager, userStore, sessionManager, pages.TakeSignInAttempt, metrics, opts.Now, logger)
	if err != nil {
		return nil, err
	}
	router, err := newRouter(cfg.Server, d, metrics, logger)
	if err != nil {
		return nil, err
	}
	oauth.Mount(router)
	pages.Mount(router)
	if err := mountAPI(router, guard, reg, tokenManager, userStore, sessionManager, resourceStore, oauth, logger); err != nil {
		return nil, err
	}

	a := &App{
		Config: cfg, Logger: logger, DB: d, Users: userStore, Tokens: tokenManager, Router: router, Metrics: metrics,
		Sessions: sessionManager, Scopes: reg, Guard: guard, OAuth: oauth, Notify: bus,
		resourceStore: resourceStore, closers: closers, now: opts.Now,
	}
	a.startSessionCleanup()
	if err := a.startSweeper(); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.watchResources()
	a.subscribeInvalidations()
	return a, nil
}

// openDatabase opens the configured database and brings its schema up to
// date (or refuses one with pending migrations).
func openDatabase(ctx context.Context, cfg configs.Database, migrate bool, logger *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, cfg.URL)
	if err != nil {
		return nil, err
	}
	d.SetPool(db.Pool{MaxOpenConns: cfg.MaxOpenConns, MaxIdleConns: cfg.MaxIdleConns,
		ConnMaxLifetime: cfg.ConnMaxLifetime, ConnMaxIdleTime: cfg.ConnMaxIdleTime})
	for _, f := range d.ExposedFiles() {
		// See docs/operations-security.md, "Database files".
		logger.Warn("database file is readable by other users; restrict it with chmod 600", "file", f)
	}
	if cfg.AutoMigrate || migrate {
		n, err := d.Migrate(ctx)
		if err != nil {
			d.Close()
			return nil, err
		}
		if n > 0 {
			logger.Info("applied migrations", "count", n, "dialect", string(d.Dialect))
		}
		return d, nil
	}
	if _, pending, err := d.MigrationStatus(ctx); err != nil || pending {
		d.Close()
		if err != nil {
			return nil, err
		}
		return nil, errors.New("database has pending migrations: run `authgate migrate` or set database.auto_migrate")
	}
	return d, nil
}

// newSessions builds the browser-session manager.
func newSessions(cfg configs.Config, d *db.DB, us users.Store, now func() time.Time) *sessions.Manager {
	ac := cfg.Auth
	return sessions.NewManager(sessions.NewSQLStore(d), us, sessions.Options{
		IdleTimeout:     ac.SessionIdleTimeout,
		AbsoluteTimeout: ac.SessionAbsoluteTimeout,
		InsecureCookie:  !ac.SecureCookiesFor(issuerScheme(cfg.OAuth.Issuer)),
		Now:             now,
	})
}

// OnClose registers fn to run when the App closes (in reverse order).
func (a *App) OnClose(fn func() error) { a.closers = append(a.closers, fn) }

// Close releases everything New opened.
func (a *App) Close() error {
	err := closeAll(a.closers)
	a.closers = nil
	return err
}

// closeAll runs closers in reverse order and joins their errors.
func closeAll(closers []func() error) error {
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether the database answers within two seconds.
func (a *App) Ready(ctx context.Context) error { return ready(ctx, a.DB) }

func ready(ctx context.Context, d *db.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return d.Ping(ctx)
}

// newRouter builds the gin engine with authgate's middleware, the health
// and readiness probes and (without server.metrics_addr) /metrics; the
// components mount their routes on it.
func newRouter(cfg configs.Server, d *db.DB, metrics *prometheus.Registry, logger *slog.Logger) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	// gin trusts X-Forwarded-For from every peer by default, which would let
	// any client choose the IP that login rate limits and logs see. Trust
	// only the configured proxies (none by default: c.ClientIP() is the
	// TCP peer).
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	m := newHTTPMetrics(metrics)
	r.Use(recoverer(logger), requestLogger(logger), m.middleware(), limitBody(cfg.MaxBodyBytes),
		databaseUnavailable(d.PingContext))

	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		if err := ready(c.Request.Context(), d); err != nil {
			logger.Warn("readiness check failed", "error", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	if cfg.MetricsAddr == "" {
		r.GET("/metrics", gin.WrapH(metricsHandler(metrics)))
	}
	return r, nil
}

// EnsureAdmin creates the user "admin" when no user exists yet. The password
// is AUTHGATE_ADMIN_PASSWORD when set, else a random one printed once to w.
func (a *App) EnsureAdmin(ctx context.Context, w io.Writer) error {
	n, err := a.Users.Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	password := os.Getenv("AUTHGATE_ADMIN_PASSWORD")
	generated := password == ""
	if generated {
		password = RandomPassword(24)
	}
	if _, err := a.Users.Create(ctx, users.NewUser{Username: "admin", Password: password, IsAdmin: true}); err != nil {
		if errors.Is(err, users.ErrAlreadyExists) {
			return nil // another instance created it first
		}
		return fmt.Errorf("create initial admin: %w", err)
	}
	if generated {
		fmt.Fprintf(w, "\nCreated the first user \"admin\" with password:\n\n    %s\n\nIt is shown only this once; change it with `authgate user passwd admin`.\n\n", password)
	} else {
		fmt.Fprintln(w, "Created the first user \"admin\" with the password from AUTHGATE_ADMIN_PASSWORD.")
	}
	a.Logger.Info("created initial admin user", "username", "admin")
	return nil
}

// RandomPassword returns n random characters from an unambiguous alphabet.
func RandomPassword(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// issuerScheme returns the scheme of the configured issuer ("http" when
// unset, as the default issuer is).
func issuerScheme(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Scheme != "" {
		return u.Scheme
	}
	return "http"
}

// startSessionCleanup deletes expired browser sessions every 10 minutes
// until the App closes. Expired sessions are refused anyway; this only
// keeps the table small.
func (a *App) startSessionCleanup() {
	a.every(10*time.Minute, "session cleanup", func(ctx context.Context) (int64, error) {
		n, err := a.Sessions.Cleanup(ctx)
		return int64(n), err
	})
}

// every runs job each interval, with a one-minute deadline, until the App
// closes; what it deleted is logged at debug level, failures as warnings.
func (a *App) every(interval time.Duration, name string, job func(ctx context.Context) (int64, error)) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if n, err := job(ctx); err != nil {
					a.Logger.Warn(name+" failed", "error", err)
				} else if n > 0 {
					a.Logger.Debug(name, "deleted", n)
				}
				cancel()
			}
		}
	}()
	a.OnClose(func() error { close(stop); <-done; return nil })
}
