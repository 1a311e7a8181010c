package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/web"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/notify"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// newAuthServer builds the OAuth2 authorization server (owned by package
// authserver): token, revocation, introspection, metadata and JWKS
// endpoints, and the Bearer validator the Guard is given.
func newAuthServer(ctx context.Context, cfg configs.Config, d *db.DB, bus *notify.Bus, us users.Store, reg *scopes.Registry,
	apiTokens *tokens.Manager, metrics prometheus.Registerer, now func() time.Time, logger *slog.Logger) (*authserver.Server, error) {
	s, err := authserver.New(ctx, authserver.Deps{
		DB: d, Users: us, Scopes: reg, APITokens: apiTokens, Metrics: metrics, Logger: logger,
		KeyNotifier: bus, ClientNotifier: bus, Bus: bus, Now: now,
		Limits: authserver.EndpointLimits{
			ClientPerMinute:     cfg.Auth.TokenEndpointClientRate,
			IPFailuresPerMinute: cfg.Auth.TokenEndpointIPFailRate,
		},
	}, cfg.OAuth)
	if err != nil {
		return nil, fmt.Errorf("authorization server: %w", err)
	}
	return s, nil
}

// newWeb builds the web pages (/oauth/authorize, login, consent, account,
// admin console) of the authorization server s; res is the resource
// registry's write path, shared with the management API.
func newWeb(cfg configs.Config, d *db.DB, s *authserver.Server, sm *sessions.Manager, us users.Store,
	reg *scopes.Registry, apiTokens *tokens.Manager, res web.Resources, now func() time.Time, logger *slog.Logger) (*web.Pages, error) {
	ac := cfg.Auth
	secure := ac.SecureCookiesFor(issuerScheme(cfg.OAuth.Issuer))
	pages, err := web.NewFor(s, web.Config{
		SecureCookies: &secure, LoginAttempts: ac.LoginAttempts, LoginWindow: ac.LoginWindow, LoginIPAttempts: ac.LoginIPAttempts,
		CSRFKey: []byte(ac.CSRFKey), Now: now,
	}, web.Deps{
		Sessions: sm, Users: us, Consents: s.Consents, Scopes: reg,
		APITokens: apiTokens, Resources: res, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("web pages: %w", err)
	}
	return pages, nil
}

// resourceServerRegistrar is the management API's rule for non-admin
// callers of PUT /api/resources/{policy_id}/: a resource server registers
// its resources with a client_credentials token carrying the
// resource:write scope, which only an admin can give a client, and the
// client must be flagged a resource server.
func resourceServerRegistrar(s *authserver.Server) func(context.Context, *resources.Principal) (bool, error) {
	return func(ctx context.Context, p *resources.Principal) (bool, error) {
		if p.Method != resources.MethodOAuth2 || p.User.ID != 0 || p.ClientID == "" {
			return false, nil
		}
		return s.IsResourceServer(ctx, p.ClientID)
	}
}
