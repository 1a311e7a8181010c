package app

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/web"
	"github.com/authgate/authgate/resources"
)

// wireAuthServer builds the OAuth2 authorization server (owned by package
// authserver): its endpoints, the web pages (/oauth/authorize, login,
// consent, account), the Guard's Bearer validator, the resource-registrar
// rule and a periodic purge of expired codes and tokens.
func (a *App) wireAuthServer(ctx context.Context) error {
	s, err := authserver.New(ctx, authserver.Deps{
		DB: a.DB, Users: a.Users, Scopes: a.Scopes, APITokens: a.Tokens, Metrics: a.Metrics, Logger: a.Logger,
		Limits: authserver.EndpointLimits{
			ClientPerMinute:     a.Config.Auth.TokenEndpointClientRate,
			IPFailuresPerMinute: a.Config.Auth.TokenEndpointIPFailRate,
		},
	}, a.Config.OAuth)
	if err != nil {
		return fmt.Errorf("authorization server: %w", err)
	}
	a.OAuth = s
	a.Bearer = s.Bearer()
	// A resource server registers its resources with a client_credentials
	// token carrying the resource:write scope, which only an admin can give
	// a client, and the client must be flagged a resource server.
	if a.RegistrarAllowed == nil {
		a.RegistrarAllowed = func(ctx context.Context, p *resources.Principal) (bool, error) {
			if p.Method != resources.MethodOAuth2 || p.User.ID != 0 || p.ClientID == "" {
				return false, nil
			}
			return s.IsResourceServer(ctx, p.ClientID)
		}
	}
	s.Mount(a.Router)

	ac := a.Config.Auth
	secure := ac.SecureCookiesFor(issuerScheme(a.Config.OAuth.Issuer))
	pages, err := web.NewFor(s, web.Config{
		SecureCookies: &secure, LoginAttempts: ac.LoginAttempts, LoginWindow: ac.LoginWindow, LoginIPAttempts: ac.LoginIPAttempts,
		CSRFKey: []byte(ac.CSRFKey),
	}, web.Deps{
		Sessions: a.Sessions, Users: a.Users, Consents: authserver.NewSQLConsentStore(a.DB), Scopes: a.Scopes,
		Tokens: a.webTokenSummaries, Logger: a.Logger,
	})
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	pages.Mount(a.Router)
	a.signInAttempts = pages.TakeSignInAttempt
	a.startOAuthPurge()
	return nil
}

// webTokenSummaries lists a user's API tokens for the account page.
func (a *App) webTokenSummaries(ctx context.Context, userID int64) ([]web.TokenSummary, error) {
	toks, err := a.Tokens.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]web.TokenSummary, 0, len(toks))
	for _, t := range toks {
		out = append(out, web.TokenSummary{ID: t.ID, Prefix: t.Prefix, Note: t.Note, Valid: t.Valid,
			Expires: t.Expires, LastUsed: t.LastUsed, TimeAdded: t.TimeAdded})
	}
	return out, nil
}

// startOAuthPurge deletes expired codes, tokens and revoked jtis every 10
// minutes until the App closes (they are refused anyway; this keeps the
// tables small).
func (a *App) startOAuthPurge() {
	a.every(10*time.Minute, "oauth token purge", func(ctx context.Context) (int64, error) {
		n, err := a.OAuth.Tokens.Purge(ctx, time.Now().Add(-time.Minute))
		return int64(n), err
	})
}
