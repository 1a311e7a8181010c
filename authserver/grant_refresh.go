package authserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/grants"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/scopes"
)

// refreshGrant serves the refresh_token grant (RFC 6749 §6).
type refreshGrant struct {
	tokens   *oauthstore.TokenStore
	mint     *minter
	audience string            // authgate's own, the default of a grant without one
	known    func(string) bool // the scope registry; nil knows every scope
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time
	// idTokens: see codeGrant. A refresh of an openid grant gets a new ID
	// token (OpenID Connect Core §12.2).
	idTokens func(context.Context, idTokenInput) error
	keys     *signing.KeySet
	used     consentUse
}

// handle rotates a refresh token: the store applies grants.RotateRefresh
// (client binding, DPoP binding, scope narrowing, reuse → revoke the family)
// in one transaction holding the family's lock, so of concurrent uses at
// most one gets a new pair (docs/go-oauth2.md, "Findings and their tests",
// findings 1, 2, 5 and 7).
func (g *refreshGrant) handle(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	c, err := authenticatedClient(ctx)
	if err != nil {
		return nil, err
	}
	if !c.AllowsGrant(GrantRefreshToken) {
		return nil, oerr(codeUnauthorizedClient, "the client may not use the refresh_token grant")
	}
	if !wellFormed(PrefixRefreshToken, tgr.Refresh) {
		return nil, errGrantInvalid // malformed: no database lookup
	}
	requested, err := scopes.ParseSet(tgr.Scope)
	if err != nil {
		return nil, oerr(codeInvalidScope, "the scope parameter is malformed (RFC 6749 §3.3)")
	}
	if ctx, err = g.mint.prepare(ctx); err != nil {
		return nil, err
	}
	if c.AllowedScopes().Has(ScopeOpenID) {
		if _, err := g.keys.IDTokenSigner(ctx, idTokenAlg(c)); err != nil {
			return nil, err
		}
	}
	var seen *tokenRow
	out, err := g.tokens.RotateRefresh(ctx, tgr.Refresh, func(row *tokenRow) (oauthstore.Outcome, error) {
		seen = row
		req := grants.RefreshRequest{
			ClientID: c.ID, JKT: jktFrom(ctx), Requested: requested, Allowed: c.AllowedScopes(), Known: g.known,
		}
		tok := grants.StoredRefresh{Stored: stored(row, g.now())}
		var aud []string
		if row != nil {
			tok.Scope, tok.JKT = scopesOf(row.Scope), row.JKT
			// RFC 8707 §2.2: resource may narrow the grant's audience for
			// this access token; the new refresh token keeps the whole
			// grant's.
			var e *oauthError
			aud, e = narrowAudience(grantAudience(row.Ext(), g.audience), formValues(tgr, "resource"))
			req.TargetErr = targetErr(e)
		}
		d := grants.RotateRefresh(req, tok)
		o := outcome(d, AuditRefreshReused, c.ID)
		if d.Action != grants.Issue {
			return o, nil
		}
		var err error
		o.Issue, err = g.mint.mint(ctx, issueParams{
			client: c, userID: row.UserIDString(), scope: d.Scope.String(), refreshScope: row.Scope,
			grantID: row.GrantID, grantCreatedAt: row.GrantCreatedAt, redirectURI: row.RedirectURI,
			extension: row.Ext(), accessAudience: aud, refresh: true, request: tgr.Request,
		})
		return o, err
	})
	if err != nil {
		return nil, err
	}
	if out.RevokeFamily {
		g.log.Warn("rotated-out refresh token reused; grant revoked", "client_id", seen.ClientID, "token", seen.Prefix)
		g.metrics.security("refresh_reuse")
	}
	if out.Refusal != nil {
		return nil, out.Refusal
	}
	ti := out.Issue.Token
	// Core §12.2: same sub and aud; auth_time is the original sign-in's;
	// the nonce belonged to the authorization request and is not repeated.
	if err := g.idTokens(ctx, idTokenInput{
		client: c, userID: ti.GetUserID(), scope: ti.GetScope(), ext: seen.Ext(), accessToken: ti.GetAccess(),
	}); err != nil {
		return nil, err
	}
	g.metrics.issued(GrantRefreshToken)
	g.used.mark(ctx, ti)
	return ti, nil
}

// scopesOf parses a stored, canonical scope string.
func scopesOf(stored string) scopes.Set {
	set, err := scopes.ParseSet(stored)
	if err != nil {
		return scopes.Set{}
	}
	return set
}
