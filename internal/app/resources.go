package app

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/resourceauth"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/scopes"
)

// registryReloadInterval is how often each instance re-reads the resources
// other instances registered at run time. Changes are announced through the
// invalidation bus and reloaded at once (notify.go); this poll is only a
// safety net.
const registryReloadInterval = 5 * time.Minute

// wireScopes builds the scope registry: authgate's own resources, those
// declared in the config file, and those registered at run time (table
// registered_resources). It also makes the registry the tokens manager's
// policy-ID check (Djblets; see docs/api-tokens.md, "Policy validation", step
// 7). It must run before anything that
// validates scopes (the authorization server).
func (a *App) wireScopes(ctx context.Context) error {
	reg, err := NewRegistry(a.Config)
	if err != nil {
		return err
	}
	a.Scopes = reg
	for _, d := range a.Scopes.Decls() {
		if um := d.UnmappedMethods(); len(um) > 0 {
			// Djblets (see docs/api-tokens.md, "OAuth2 scopes") logs and skips these too.
			a.Logger.Warn("resource methods map to no scope and get none", "resource", d.Name, "methods", um)
		}
	}
	a.resourceStore = mgmtapi.NewResourceStore(a.DB, a.Notify)
	if err := a.resourceStore.Load(ctx, a.Scopes); err != nil {
		a.Logger.Warn("load registered resources", "error", err)
	}
	a.Tokens.SetKnownPolicyIDs(a.Scopes.KnownPolicyID)
	return nil
}

// NewRegistry returns a scope registry holding authgate's own resources and
// those declared in cfg (not yet those registered at run time, which live in
// the database: see mgmtapi.ResourceStore.Load).
func NewRegistry(cfg configs.Config) (*scopes.Registry, error) {
	reg := scopes.NewRegistry()
	if err := mgmtapi.DeclareBuiltins(reg); err != nil {
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

// wireResourcesAPI builds the resource Guard (API tokens, a.Bearer when the
// authorization server set it, sessions, Basic when enabled) and mounts the
// management API under /api/.
func (a *App) wireResourcesAPI() error {
	ac := a.Config.Auth
	// --- dpop --- RFC 9449 proofs on the API, checked against the issuer's
	// URL with the token endpoint's replay store (nil when DPoP is off).
	var dpopVerifier *dpop.Verifier
	var publicURL string
	if a.OAuth != nil {
		dpopVerifier, publicURL = a.OAuth.DPoP(), a.OAuth.Settings().Issuer
	}
	gc := resources.GuardConfig{
		DPoP: dpopVerifier, PublicURL: publicURL, Bearer: a.Bearer,
		EnableBasic: ac.EnableBasic, Logger: a.Logger,
		Limiter: &resources.WindowLimiter{
			Authenticated: ac.APIRateAuthenticated, Anonymous: ac.APIRateAnonymous, Period: ac.APIRatePeriod,
		},
		OnDecision: authDecisions(a.Metrics),
		// Djblets' LOGIN_LIMIT_RATE on the API; Basic also spends the
		// sign-in form's limits. See docs/resource-servers.md, "Failed
		// authentication".
		NoFailedAuthLimit: ac.APIFailedAuthAttempts < 0,
		BasicAttempts:     a.signInAttempts,
	}
	if ac.APIFailedAuthAttempts >= 0 {
		gc.FailedAuth = resources.NewFailureBuckets(ac.APIFailedAuthAttempts, ac.APIFailedAuthWindow, nil)
	}
	resourceauth.Configure(&gc, a.Tokens, a.Users, a.Sessions)
	guard, err := resources.NewGuard(gc)
	if err != nil {
		return err
	}
	a.Guard = guard
	deps := mgmtapi.Deps{
		Guard: a.Guard, Registry: a.Scopes, Tokens: a.Tokens, Users: a.Users,
		Resources: a.resourceStore, RegistrarAllowed: a.RegistrarAllowed, Logger: a.Logger,
		Sessions: resourceauth.Sessions{M: a.Sessions},
	}
	if a.OAuth != nil {
		// Leaked-credential reports revoke OAuth grants too.
		deps.Credentials = a.OAuth
		deps.Clients = a.OAuth
	}
	if err := mgmtapi.Mount(a.Router, deps); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.resourceStore.Watch(ctx, a.Scopes, registryReloadInterval, a.Logger)
	}()
	a.OnClose(func() error { cancel(); <-done; return nil })
	return nil
}
