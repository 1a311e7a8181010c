package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/notify"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// registryReloadInterval is how often each instance re-reads the resources
// other instances registered at run time. Changes are announced through the
// invalidation bus and reloaded at once (notify.go); this poll is only a
// safety net.
const registryReloadInterval = 5 * time.Minute

// newScopes builds the scope registry: authgate's own resources, those
// declared in the config file, and those registered at run time (table
// registered_resources, through the returned store). The tokens manager
// checks policy IDs against it (Djblets; see docs/api-tokens.md, "Policy
// validation", step 7) and the authorization server validates scopes with
// it, so both take it as an argument.
func newScopes(ctx context.Context, cfg configs.Config, d *db.DB, bus *notify.Bus, logger *slog.Logger) (*scopes.Registry, *mgmtapi.ResourceStore, error) {
	reg, err := NewRegistry(cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, decl := range reg.Decls() {
		if um := decl.UnmappedMethods(); len(um) > 0 {
			// Djblets (see docs/api-tokens.md, "OAuth2 scopes") logs and skips these too.
			logger.Warn("resource methods map to no scope and get none", "resource", decl.Name, "methods", um)
		}
	}
	store := mgmtapi.NewResourceStore(d, bus)
	if err := store.Load(ctx, reg); err != nil {
		logger.Warn("load registered resources", "error", err)
	}
	return reg, store, nil
}

// NewRegistry returns a scope registry holding authgate's own resources and
// those declared in cfg (not yet those registered at run time, which live in
// the database: see mgmtapi.ResourceStore.Load).
func NewRegistry(cfg configs.Config) (*scopes.Registry, error) {
	reg := scopes.NewRegistry()
	if err := mgmtapi.DeclareBuiltins(reg); err != nil {
		return nil, err
	}
	if err := authserver.DeclareOIDCScopes(reg); err != nil {
		return nil, err
	}
	decls := make([]scopes.Decl, 0, len(cfg.Resources))
	for _, r := range cfg.Resources {
		decls = append(decls, scopes.Decl{
			Name: r.Name, PolicyID: r.PolicyID, ScopeName: r.ScopeName, Methods: r.Methods,
			Description: r.Description, APITokenAccess: r.APITokenAccess, OAuth2Access: r.OAuth2Access,
			Audience: r.Audience,
		})
	}
	if err := reg.ReplaceOrigin(scopes.OriginConfig, decls); err != nil {
		return nil, fmt.Errorf("resources configuration: %w", err)
	}
	return reg, nil
}

// newGuard builds the resource Guard: API tokens, OAuth2 access tokens
// (Bearer and DPoP, validated by the authorization server s), sessions,
// and Basic when enabled, which spends the sign-in form's limits through
// basicAttempts.
func newGuard(ac configs.Auth, s *authserver.Server, apiTokens *tokens.Manager, us users.Store, sm *sessions.Manager,
	basicAttempts func(ip, username string) (bool, time.Duration, func()), metrics prometheus.Registerer,
	now func() time.Time, logger *slog.Logger) (*resources.Guard, error) {
	gc := resources.GuardConfig{
		// --- dpop --- RFC 9449 proofs on the API, checked against the
		// issuer's URL with the token endpoint's replay store (nil when
		// DPoP is off).
		DPoP: s.DPoP(), PublicURL: s.Settings().Issuer, Bearer: s.Bearer(),
		EnableBasic: ac.EnableBasic, Logger: logger,
		Limiter: &resources.WindowLimiter{
			Authenticated: ac.APIRateAuthenticated, Anonymous: ac.APIRateAnonymous, Period: ac.APIRatePeriod, Now: now,
		},
		OnDecision: authDecisions(metrics),
		// Djblets' LOGIN_LIMIT_RATE on the API; Basic also spends the
		// sign-in form's limits. See docs/resource-servers.md, "Failed
		// authentication".
		NoFailedAuthLimit: ac.APIFailedAuthAttempts < 0,
		BasicAttempts:     basicAttempts,
	}
	if ac.APIFailedAuthAttempts >= 0 {
		gc.FailedAuth = resources.NewFailureBuckets(ac.APIFailedAuthAttempts, ac.APIFailedAuthWindow, now)
	}
	resourceauth.Configure(&gc, apiTokens, us, sm)
	return resources.NewGuard(gc)
}

// mountAPI mounts the management API under /api/, protected by guard.
// Leaked-credential reports revoke OAuth grants too (s), and resource
// servers admitted by resourceServerRegistrar(s) register resources.
func mountAPI(r *gin.Engine, guard *resources.Guard, reg *scopes.Registry, apiTokens *tokens.Manager, us users.Store,
	sm *sessions.Manager, store *mgmtapi.ResourceStore, s *authserver.Server, logger *slog.Logger) error {
	return mgmtapi.Mount(r, mgmtapi.Deps{
		Guard: guard, Registry: reg, Tokens: apiTokens, Users: us,
		Resources: store, RegistrarAllowed: resourceServerRegistrar(s), Logger: logger,
		Sessions:    resourceauth.Sessions{M: sm},
		Credentials: s,
		Clients:     s,
	})
}

// watchResources re-reads the resources other instances registered, until
// the App closes.
func (a *App) watchResources() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.resourceStore.Watch(ctx, a.Scopes, registryReloadInterval, a.Logger)
	}()
	a.OnClose(func() error { cancel(); <-done; return nil })
}
