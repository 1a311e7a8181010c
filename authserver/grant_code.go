package authserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/grants"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/authserver/signing"
)

// codeGrant serves the authorization_code grant (RFC 6749 §4.1.3).
type codeGrant struct {
	tokens   *oauthstore.TokenStore
	mint     *minter
	pkce     grants.PKCEPolicy
	audience string // authgate's own, the default of a grant without one
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time
	// idTokens adds the OpenID Connect ID token to the response of a grant
	// whose scope has openid; keys signs it.
	idTokens func(context.Context, idTokenInput) error
	keys     *signing.KeySet
	used     consentUse
}

// handle redeems an authorization code. The store applies
// grants.RedeemCode in one transaction holding the code's lock, so of any
// number of concurrent redemptions exactly one gets tokens
// (docs/go-oauth2.md, "Findings and their tests", finding 5); a code
// presented again revokes every token of its grant (finding 7); any other
// failure after the code was found live still consumes it.
func (g *codeGrant) handle(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	c, err := authenticatedClient(ctx)
	if err != nil {
		return nil, err
	}
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, oerr(codeUnauthorizedClient, "the client may not use the authorization_code grant")
	}
	if !wellFormed(PrefixCode, tgr.Code) {
		return nil, errGrantInvalid // malformed: no database lookup
	}
	if ctx, err = g.mint.prepare(ctx); err != nil {
		return nil, err
	}
	if c.AllowedScopes().Has(ScopeOpenID) {
		// Load (or create) the ID-token key before the store's
		// transaction, which must not wait on another write.
		if _, err := g.keys.IDTokenSigner(ctx, idTokenAlg(c)); err != nil {
			return nil, err
		}
	}
	var seen *tokenRow
	out, err := g.tokens.RedeemCode(ctx, tgr.Code, func(row *tokenRow) (oauthstore.Outcome, error) {
		seen = row
		req := grants.CodeRequest{
			ClientID: c.ID, Public: c.Public, RedirectURI: tgr.RedirectURI,
			RedirectOmitted: tgr.RedirectURI == redirectOmitted, Verifier: tgr.CodeVerifier,
		}
		code := grants.StoredCode{Stored: stored(row, g.now())}
		var aud []string
		if row != nil {
			code.RedirectURI, code.Challenge, code.ChallengeMethod = row.RedirectURI, row.CodeChallenge, row.CodeChallengeMethod
			// RFC 8707 §2.2: resource in the token request narrows the
			// audience bound into the code, never widens it.
			var e *oauthError
			aud, e = narrowAudience(grantAudience(row.Ext(), g.audience), formValues(tgr, "resource"))
			req.TargetErr = targetErr(e)
		}
		d := grants.RedeemCode(req, g.pkce, code)
		o := outcome(d, AuditCodeReplayed, c.ID)
		if d.Action != grants.Issue {
			return o, nil
		}
		var err error
		o.Issue, err = g.mint.mint(ctx, issueParams{
			client: c, userID: row.UserIDString(), scope: row.Scope, refreshScope: row.Scope,
			grantID: row.GrantID, grantCreatedAt: row.GrantCreatedAt, redirectURI: row.RedirectURI,
			extension: row.Ext(), accessAudience: aud, refresh: c.AllowsGrant(GrantRefreshToken), request: tgr.Request,
		})
		return o, err
	})
	if err != nil {
		return nil, err
	}
	if out.RevokeFamily {
		g.log.Warn("authorization code replayed; grant revoked", "client_id", seen.ClientID,
			"presented_by", c.ID, "code", seen.Prefix, "revoked", out.Revoked)
		g.metrics.security("code_replay")
	}
	if out.Refusal != nil {
		return nil, out.Refusal
	}
	ti := out.Issue.Token
	if err := g.idTokens(ctx, idTokenInput{
		client: c, userID: ti.GetUserID(), scope: ti.GetScope(), ext: seen.Ext(), accessToken: ti.GetAccess(), withNonce: true,
	}); err != nil {
		return nil, err
	}
	g.metrics.issued(GrantAuthorizationCode)
	g.used.mark(ctx, ti)
	return ti, nil
}
