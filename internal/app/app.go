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

// App is a configured authgate: database, stores and HTTP router.
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

	// --- resources ---
	// Scopes is the resource/scope registry (policy IDs, scopes_supported,
	// consent descriptions); Guard protects /api/ and any other resource.
	Scopes *scopes.Registry
	Guard  *resources.Guard
	// Bearer validates OAuth2 access tokens for the Guard; the
	// authorization server's block sets it (nil: Bearer not accepted).
	Bearer resources.BearerValidator
	// RegistrarAllowed admits non-admin callers (resource-server clients)
	// to PUT /api/resources/{policy_id}/; nil: admins only.
	RegistrarAllowed func(context.Context, *resources.Principal) (bool, error)
	resourceStore    *mgmtapi.ResourceStore
	// signInAttempts is the sign-in form's limit, shared with HTTP Basic on
	// the API (nil without the authorization server).
	signInAttempts func(ip, username string) (bool, time.Duration, func())
	// --- end resources ---

	// --- authserver ---
	// OAuth is the OAuth2 authorization server (token, revocation,
	// introspection, discovery, JWKS, client registry, signing keys).
	OAuth *authserver.Server
	// --- end authserver ---

	// --- notify ---
	// Notify is the cross-instance invalidation bus
	// (docs/architecture.md, "Storage and invalidation"): PostgreSQL
	// NOTIFY/LISTEN between instances, in-process fan-out on SQLite.
	Notify *notify.Bus
	// --- end notify ---

	closers []func() error
}

// Options tunes New for the caller: the CLI opens an App without serving it.
type Options struct {
	// Migrate applies pending migrations even when database.auto_migrate is off.
	Migrate bool
	// PublishOnly announces this App's changes to running instances but
	// opens no PostgreSQL listener (management commands, which exit at once).
	PublishOnly bool
}

// New builds an App. The caller must Close it.
func New(ctx context.Context, cfg configs.Config, logger *slog.Logger, opts Options) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d, err := db.Open(ctx, cfg.Database.URL)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Logger: logger, DB: d, closers: []func() error{d.Close}}
	for _, f := range d.ExposedFiles() {
		// See docs/operations-security.md, "Database files".
		logger.Warn("database file is readable by other users; restrict it with chmod 600", "file", f)
	}
	if cfg.Database.AutoMigrate || opts.Migrate {
		n, err := d.Migrate(ctx)
		if err != nil {
			a.Close()
			return nil, err
		}
		if n > 0 {
			logger.Info("applied migrations", "count", n, "dialect", string(d.Dialect))
		}
	} else if _, pending, err := d.MigrationStatus(ctx); err != nil || pending {
		a.Close()
		if err != nil {
			return nil, err
		}
		return nil, errors.New("database has pending migrations: run `authgate migrate` or set database.auto_migrate")
	}
	a.Users = users.NewSQLStoreWith(d, users.HashLimits{
		MemoryMiB: cfg.Auth.PasswordHashMemoryMiB, Wait: cfg.Auth.PasswordHashWait,
	})

	// --- notify: before any cache loads ---
	if err := a.wireNotify(ctx, opts.PublishOnly); err != nil {
		a.Close()
		return nil, err
	}
	// --- end notify ---

	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := a.buildRouter(ctx); err != nil {
		a.Close()
		return nil, err
	}
	// --- notify: connect the caches (after wiring) ---
	a.subscribeInvalidations()
	// --- end notify ---
	return a, nil
}

// OnClose registers fn to run when the App closes (in reverse order).
func (a *App) OnClose(fn func() error) { a.closers = append(a.closers, fn) }

// Close releases everything New opened.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}

// Ready reports whether the database answers within two seconds.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return a.DB.Ping(ctx)
}

func (a *App) buildRouter(ctx context.Context) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	// gin trusts X-Forwarded-For from every peer by default, which would let
	// any client choose the IP that login rate limits and logs see. Trust
	// only the configured proxies (none by default: c.ClientIP() is the
	// TCP peer).
	if err := r.SetTrustedProxies(a.Config.Server.TrustedProxies); err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	m := newHTTPMetrics(a.Metrics)
	r.Use(recoverer(a.Logger), requestLogger(a.Logger), m.middleware(), limitBody(a.Config.Server.MaxBodyBytes),
		databaseUnavailable(a.DB.PingContext))

	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		if err := a.Ready(c.Request.Context()); err != nil {
			a.Logger.Warn("readiness check failed", "error", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	if a.Config.Server.MetricsAddr == "" {
		r.GET("/metrics", gin.WrapH(a.metricsHandler()))
	}

	a.Router = r
	return a.wire(ctx)
}

// wire constructs the domain services and mounts their routes. Each block
// is owned by the package it wires.
func (a *App) wire(ctx context.Context) error {
	_ = ctx

	// --- tokens ---
	tc := a.Config.Tokens
	topts := tokens.Options{
		TokenType: tc.Type, Length: tc.Length, DefaultGenerator: tc.DefaultGenerator,
		MaxAttempts: tc.MaxAttempts, Logger: a.Logger,
		AcceptedPrefixes: tc.AcceptedPrefixes, DeprecatedGenerators: tc.DeprecatedGenerators,
		CacheTTL: tc.CacheTTLFor(string(a.DB.Dialect)), CacheSize: tc.CacheSize,
	}
	if tc.LegacySecret != "" {
		topts.LegacySecret = []byte(tc.LegacySecret)
	}
	if err := topts.Validate(); err != nil {
		return fmt.Errorf("tokens configuration: %w", err)
	}
	a.Tokens = tokens.NewManager(tokens.NewSQLStore(a.DB), a.Users, topts)
	// --- end tokens ---

	// --- sessions ---
	ac := a.Config.Auth
	a.Sessions = sessions.NewManager(sessions.NewSQLStore(a.DB), a.Users, sessions.Options{
		IdleTimeout:     ac.SessionIdleTimeout,
		AbsoluteTimeout: ac.SessionAbsoluteTimeout,
		SecureCookie:    ac.SecureCookiesFor(issuerScheme(a.Config.OAuth.Issuer)),
	})
	a.startSessionCleanup()
	// --- end sessions ---

	// --- resources: scope registry (before anything validating scopes) ---
	if err := a.wireScopes(ctx); err != nil {
		return err
	}
	// --- end resources: scope registry ---

	// --- authserver (after the scope registry, before the Guard) ---
	if err := a.wireAuthServer(ctx); err != nil {
		return err
	}
	// --- end authserver ---

	// --- resources: Guard + /api/ (keep last: uses a.Bearer) ---
	if err := a.wireResourcesAPI(); err != nil {
		return err
	}
	// --- end resources: Guard + /api/ ---

	return nil
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
