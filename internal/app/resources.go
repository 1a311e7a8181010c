package app

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/authserver/api"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// registryReloadInterval is how often each instance re-reads the resources
// other instances registered at run time.
const registryReloadInterval = 30 * time.Second

// wireScopes builds the scope registry: authgate's own resources, those
// declared in the config file, and those registered at run time (table
// registered_resources). It also makes the registry the tokens manager's
// policy-ID check (Djblets §4.2 step 7). It must run before anything that
// validates scopes (the authorization server).
func (a *App) wireScopes(ctx context.Context) error {
	a.Scopes = scopes.NewRegistry()
	if err := api.DeclareBuiltins(a.Scopes); err != nil {
		return err
	}
	decls := make([]scopes.Decl, 0, len(a.Config.Resources))
	for _, r := range a.Config.Resources {
		decls = append(decls, scopes.Decl{
			Name: r.Name, PolicyID: r.PolicyID, ScopeName: r.ScopeName, Methods: r.Methods,
			Description: r.Description, APITokenAccess: r.APITokenAccess, OAuth2Access: r.OAuth2Access,
		})
	}
	if err := a.Scopes.ReplaceOrigin(scopes.OriginConfig, decls); err != nil {
		return fmt.Errorf("resources configuration: %w", err)
	}
	for _, d := range a.Scopes.Decls() {
		if um := d.UnmappedMethods(); len(um) > 0 {
			// Djblets §6.3 logs and skips these too.
			a.Logger.Warn("resource methods map to no scope and get none", "resource", d.Name, "methods", um)
		}
	}
	a.resourceStore = api.NewResourceStore(a.DB)
	if err := a.resourceStore.Load(ctx, a.Scopes); err != nil {
		a.Logger.Warn("load registered resources", "error", err)
	}
	a.Tokens.SetKnownPolicyIDs(a.Scopes.KnownPolicyID)
	return nil
}

// wireResourcesAPI builds the resource Guard (API tokens, a.Bearer when the
// authorization server set it, sessions, Basic when enabled) and mounts the
// management API under /api/.
func (a *App) wireResourcesAPI() error {
	a.Guard = resources.NewGuard(resources.GuardConfig{
		Tokens: a.Tokens, Bearer: a.Bearer, Sessions: a.Sessions, Users: a.Users,
		EnableBasic: a.Config.Auth.EnableBasic, Logger: a.Logger,
	})
	if err := api.Mount(a.Router, api.Deps{
		Guard: a.Guard, Registry: a.Scopes, Tokens: a.Tokens, Users: a.Users,
		Resources: a.resourceStore, RegistrarAllowed: a.RegistrarAllowed, Logger: a.Logger,
	}); err != nil {
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
