package authserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/authgate/authgate/authserver/grants"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/scopes"
)

// The token endpoint's grants are small handler types: each checks what it
// can without the database, asks the token store to apply its decision
// (grants.RedeemCode, grants.RotateRefresh: pure functions) inside the
// store's transaction, and mints tokens through a minter. See
// docs/architecture.md, "Grants and the token store".
type grantHandlers struct {
	code    *codeGrant
	refresh *refreshGrant
	client  *clientGrant
	device  *deviceGrant
}

// newGrants builds the grant handlers from the server's parts.
func (s *Server) newGrants() grantHandlers {
	m := &minter{access: s.access, cfg: s.cfg, now: s.now}
	used := consentUse{consents: s.Consents, log: s.log}
	var known func(string) bool
	if s.scopes != nil {
		known = s.scopes.HasScope
	}
	return grantHandlers{
		code: &codeGrant{
			idTokens: s.attachIDToken, keys: s.Keys,
			tokens: s.Tokens, mint: m, audience: s.cfg.Audience, log: s.log, metrics: s.metrics, now: s.now, used: used,
			pkce: grants.PKCEPolicy{AllowConfidentialWithout: s.cfg.AllowConfidentialWithoutPKCE, AllowPlain: s.cfg.AllowPlainPKCE},
		},
		refresh: &refreshGrant{
			idTokens: s.attachIDToken, keys: s.Keys,
			tokens: s.Tokens, mint: m, audience: s.cfg.Audience, known: known, log: s.log, metrics: s.metrics, now: s.now,
			used: used,
		},
		client: &clientGrant{scopes: s.scopes, audience: s.cfg.Audience, metrics: s.metrics},
		device: &deviceGrant{tokens: s.Tokens, mint: m, log: s.log, metrics: s.metrics, now: s.now, used: used},
	}
}

// requestedScope parses a scope parameter and checks it against the
// client's allowed scopes and, when there is one, the scope registry
// (docs/architecture.md, "The OAuth2 server": unknown, or outside the client's
// set → invalid_scope).
func (s *Server) requestedScope(c *Client, raw string) (scopes.Set, error) {
	return requestedScope(s.scopes, c, raw)
}

func requestedScope(reg ScopeRegistry, c *Client, raw string) (scopes.Set, error) {
	set, err := scopes.ParseSet(raw)
	if err != nil {
		return scopes.Set{}, oerr(codeInvalidScope, "the scope parameter is malformed (RFC 6749 §3.3)")
	}
	allowed := c.AllowedScopes()
	for _, sc := range set.Items() {
		if !allowed.Has(sc) {
			return scopes.Set{}, oerr(codeInvalidScope, fmt.Sprintf("scope %q is not allowed for this client", sc))
		}
		if reg != nil && !reg.HasScope(sc) {
			return scopes.Set{}, oerr(codeInvalidScope, fmt.Sprintf("scope %q is unknown", sc))
		}
	}
	return set, nil
}

// formValues returns the values of a repeatable token-request parameter.
func formValues(tgr *oauth2.TokenGenerateRequest, name string) []string {
	if tgr.Request == nil {
		return nil
	}
	return tgr.Request.PostForm[name]
}

// minter mints the access token (and refresh token) of a grant without
// touching the database: prepare pins the signing key before the store's
// transaction starts.
type minter struct {
	access *accessTokens
	cfg    Config
	now    func() time.Time
}

// prepare loads what mint needs before a transaction starts.
func (m *minter) prepare(ctx context.Context) (context.Context, error) { return m.access.prepare(ctx) }

// issueParams describes one token issuance.
type issueParams struct {
	client         *Client
	userID         string
	scope          string // of the access token
	refreshScope   string // kept by the refresh token (the grant's scope)
	grantID        string
	grantCreatedAt time.Time
	redirectURI    string
	extension      url.Values
	// accessAudience narrows the access token's aud within the grant's
	// (extension[extAudience]); nil keeps the grant's.
	accessAudience []string
	refresh        bool
	request        *http.Request
}

// mint generates an access token (and a refresh token) for the store to
// insert in the transaction that consumes the code or refresh token they
// replace, so they exist exactly when it is consumed.
func (m *minter) mint(ctx context.Context, p issueParams) (*oauthstore.Issue, error) {
	now := m.now()
	ti := models.NewToken()
	for k, v := range p.extension {
		ti.Extension[k] = v
	}
	ti.Extension.Set(extGrantID, p.grantID)
	ti.Extension.Set(extGrantCreatedAt, p.grantCreatedAt.UTC().Format(time.RFC3339Nano))
	ti.Extension.Del(extAccessAudience)
	if len(p.accessAudience) > 0 {
		ti.Extension[extAccessAudience] = p.accessAudience
	}
	ti.ClientID, ti.UserID, ti.Scope, ti.RedirectURI = p.client.ID, p.userID, p.scope, p.redirectURI
	ti.AccessCreateAt, ti.AccessExpiresIn = now, m.cfg.AccessTokenTTL
	var refreshExp time.Time
	if p.refresh {
		// RFC 9700 §4.14.2: an idle refresh token expires; the family has
		// an absolute lifetime from the authorization.
		refreshExp = now.Add(m.cfg.RefreshIdleTTL)
		if abs := p.grantCreatedAt.Add(m.cfg.RefreshTokenTTL); abs.Before(refreshExp) {
			refreshExp = abs
		}
		ti.RefreshCreateAt, ti.RefreshExpiresIn = now, refreshExp.Sub(now)
	}
	access, refresh, err := m.access.Token(ctx, &oauth2.GenerateBasic{
		Client: clientInfo{p.client}, UserID: p.userID, CreateAt: now, TokenInfo: ti, Request: p.request,
	}, p.refresh)
	if err != nil {
		return nil, err
	}
	ti.Access, ti.Refresh = access, refresh
	is := &oauthstore.Issue{Token: ti, RefreshScope: p.refreshScope, RefreshExp: refreshExp}
	is.AccessJKT, is.RefreshJKT = requestBinding(ctx)
	return is, nil
}

// requestBinding is the DPoP binding of the tokens issued for this request
// (RFC 9449 §5): the access token is bound to the proof's key; a public
// client's refresh token is too, a confidential client's is not (it
// authenticates).
func requestBinding(ctx context.Context) (accessJKT, refreshJKT string) {
	st := stateFrom(ctx)
	if st == nil {
		return "", ""
	}
	if st.client != nil && st.client.Public {
		return st.jkt, st.jkt
	}
	return st.jkt, ""
}

// stored is the grant-rule view of a row read by the store (nil: none).
func stored(row *tokenRow, now time.Time) grants.Stored {
	if row == nil {
		return grants.Stored{}
	}
	return grants.Stored{
		Found: true, ClientID: row.ClientID, Consumed: row.ConsumedAt.Valid, Revoked: row.RevokedAt.Valid,
		Expired: row.Expired(now), UserActive: row.UserActive,
	}
}

// outcome turns a grant decision into what the store applies.
func outcome(d grants.Decision, auditKind, presentedBy string) oauthstore.Outcome {
	return oauthstore.Outcome{
		Consume: d.Consume, RevokeFamily: d.Action == grants.RevokeFamily,
		AuditKind: auditKind, PresentedBy: presentedBy, Refusal: refusal(d.Err),
	}
}

// refusal is the oauthError of a grant rule's refusal; other errors (the
// audience checks' oauthErrors) pass through.
func refusal(err error) error {
	var r *grants.Refusal
	switch {
	case err == nil:
		return nil
	case err == grants.ErrGrantInvalid:
		return errGrantInvalid
	case errors.As(err, &r):
		return oerr(r.Code, r.Description)
	}
	return err
}

// targetErr is an audience check's refusal as a plain error (nil for none).
func targetErr(e *oauthError) error {
	if e == nil {
		return nil
	}
	return e
}
