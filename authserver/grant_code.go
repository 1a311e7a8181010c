package authserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/scopes"
)

// requestedScope parses a scope parameter and checks it against the
// client's allowed scopes and, when there is one, the scope registry
// (docs/architecture.md, "The OAuth2 server": unknown, or outside the client's
// set → invalid_scope).
func (s *Server) requestedScope(c *Client, raw string) (scopes.Set, error) {
	set, err := scopes.ParseSet(raw)
	if err != nil {
		return scopes.Set{}, oerr(codeInvalidScope, "the scope parameter is malformed (RFC 6749 §3.3)")
	}
	allowed := c.AllowedScopes()
	for _, sc := range set.Items() {
		if !allowed.Has(sc) {
			return scopes.Set{}, oerr(codeInvalidScope, fmt.Sprintf("scope %q is not allowed for this client", sc))
		}
		if s.scopes != nil && !s.scopes.HasScope(sc) {
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

// issueParams describes one token issuance inside a transaction.
type issueParams struct {
	client         *Client
	userID         string
	scope          string // of the access token
	refreshScope   string // kept by the refresh token (the grant's scope)
	grantID        string
	grantCreatedAt time.Time
	parentID       int64
	redirectURI    string
	extension      url.Values
	// accessAudience narrows the access token's aud within the grant's
	// (extension[extAudience]); nil keeps the grant's.
	accessAudience []string
	refresh        bool
	request        *http.Request
}

// issue generates an access token (and a refresh token) and stores them in
// tx, so they exist exactly when the code or refresh token they replace is
// consumed.
func (s *Server) issue(ctx context.Context, tx *sqlx.Tx, p issueParams) (*models.Token, error) {
	now := s.now()
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
	ti.AccessCreateAt, ti.AccessExpiresIn = now, s.cfg.AccessTokenTTL
	var refreshExp time.Time
	if p.refresh {
		// RFC 9700 §4.14.2: an idle refresh token expires; the family has
		// an absolute lifetime from the authorization.
		refreshExp = now.Add(s.cfg.RefreshIdleTTL)
		if abs := p.grantCreatedAt.Add(s.cfg.RefreshTokenTTL); abs.Before(refreshExp) {
			refreshExp = abs
		}
		ti.RefreshCreateAt, ti.RefreshExpiresIn = now, refreshExp.Sub(now)
	}
	access, refresh, err := s.access.Token(ctx, &oauth2.GenerateBasic{
		Client: clientInfo{p.client}, UserID: p.userID, CreateAt: now, TokenInfo: ti, Request: p.request,
	}, p.refresh)
	if err != nil {
		return nil, err
	}
	ti.Access, ti.Refresh = access, refresh
	if err := s.Tokens.insertInfo(ctx, tx, ti, p.parentID, p.refreshScope, refreshExp); err != nil {
		return nil, err
	}
	return ti, nil
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3) in one
// transaction: the conditional UPDATE that consumes the code is the atomic
// claim, so of any number of concurrent redemptions exactly one gets tokens
// (docs/go-oauth2.md, "Findings and their tests", finding 5). A code that
// cannot be claimed because it was already
// redeemed is a replay: the request fails and every token of its grant is
// revoked (RFC 6749 §4.1.2, docs/go-oauth2.md, "Findings and their tests",
// finding 7). Any other failure after the claim
// (wrong client, redirect URI or verifier) still consumes the code.
func (s *Server) exchangeCode(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
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
	if ctx, err = s.access.prepare(ctx); err != nil {
		return nil, err
	}
	var (
		ti       *models.Token
		failure  error
		notFresh bool
	)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := s.Tokens.consume(ctx, tx, kindCode, tgr.Code)
		if err != nil {
			return err
		}
		if !ok {
			notFresh = true
			return nil
		}
		row, found, err := s.Tokens.byDigest(ctx, tx, kindCode, tgr.Code)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("redeem code: consumed row vanished")
		}
		if failure, err = s.checkRedemption(ctx, tx, c, row, tgr); err != nil || failure != nil {
			return err // commit: the code stays consumed
		}
		ext, _ := url.ParseQuery(row.Extension)
		// RFC 8707 §2.2: resource in the token request narrows the
		// audience bound into the code, never widens it.
		aud, e := narrowAudience(grantAudience(ext, s.cfg.Audience), formValues(tgr, "resource"))
		if e != nil {
			failure = e
			return nil // commit: the code stays consumed
		}
		ti, err = s.issue(ctx, tx, issueParams{
			client: c, userID: row.userIDString(), scope: row.Scope, refreshScope: row.Scope,
			grantID: row.GrantID, grantCreatedAt: row.GrantCreatedAt, parentID: row.ID,
			redirectURI: row.RedirectURI, extension: ext, accessAudience: aud, refresh: c.AllowsGrant(GrantRefreshToken),
			request: tgr.Request,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if notFresh {
		s.codeReplay(ctx, tgr.Code, c.ID)
		return nil, errGrantInvalid
	}
	if failure != nil {
		return nil, failure
	}
	s.metrics.issued(GrantAuthorizationCode)
	return ti, nil
}

// checkRedemption applies RFC 6749 §4.1.3 and RFC 7636 §4.6 to a claimed
// code. It returns the client-facing failure, or err for a server fault.
func (s *Server) checkRedemption(ctx context.Context, tx *sqlx.Tx, c *Client, row *tokenRow, tgr *oauth2.TokenGenerateRequest) (failure, err error) {
	if row.ClientID != c.ID {
		return errGrantInvalid, nil // issued to another client
	}
	switch {
	case tgr.RedirectURI == redirectOmitted && row.CodeChallenge == "":
		// RFC 6749 §4.1.3: without PKCE the redirect URI is what binds the
		// code to the request, so it must be repeated.
		return oerr(codeInvalidRequest, "redirect_uri is required for a code issued without PKCE"), nil
	case tgr.RedirectURI == redirectOmitted:
		// OAuth 2.1 §4.1.3: the code is bound by PKCE (verified below) and
		// was issued for row.RedirectURI.
	case row.RedirectURI != tgr.RedirectURI:
		return oerr(codeInvalidGrant, "redirect_uri does not match the authorization request"), nil
	}
	if f := s.verifyPKCE(c, row, tgr.CodeVerifier); f != nil {
		return f, nil
	}
	active, err := userActive(ctx, tx, row.userIDString())
	if err != nil {
		return nil, err
	}
	if !active {
		return errGrantInvalid, nil
	}
	return nil, nil
}

// verifyPKCE checks the code_verifier against the challenge stored with the
// code. go-oauth2 answered a missing or unexpected verifier with 500 and
// skipped the check for public clients that sent no challenge
// (docs/go-oauth2.md, "PKCE"; docs/go-oauth2.md, "Findings and their tests",
// finding 6); here each case is invalid_grant (400).
func (s *Server) verifyPKCE(c *Client, row *tokenRow, verifier string) error {
	challenge, method := row.CodeChallenge, row.CodeChallengeMethod
	switch {
	case challenge == "" && verifier != "":
		// RFC 9700 §2.1.1: reject a verifier when no challenge was sent
		// (PKCE downgrade).
		return oerr(codeInvalidGrant, "code_verifier sent, but the authorization request had no code_challenge")
	case challenge == "":
		if c.Public || !s.cfg.AllowConfidentialWithoutPKCE {
			return oerr(codeInvalidGrant, "this client must use PKCE")
		}
		return nil
	case verifier == "":
		return oerr(codeInvalidGrant, "code_verifier is required (RFC 7636 §4.5)")
	case !validPKCEValue(verifier):
		return oerr(codeInvalidGrant, "code_verifier is malformed (RFC 7636 §4.1)")
	}
	var computed string
	switch method {
	case string(oauth2.CodeChallengeS256):
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	case string(oauth2.CodeChallengePlain):
		if !s.cfg.AllowPlainPKCE {
			return oerr(codeInvalidGrant, "the plain PKCE method is not allowed")
		}
		computed = verifier
	default:
		return oerr(codeInvalidGrant, "unsupported code_challenge_method")
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(strings.TrimRight(challenge, "="))) != 1 {
		return oerr(codeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// codeReplay handles a code that could not be claimed: if it was redeemed
// before, every token of its grant is revoked, since the server cannot tell
// the attacker from the client (RFC 6749 §4.1.2, RFC 9700 §4.5), and the
// oauth.code_replayed audit event is appended in the same transaction.
func (s *Server) codeReplay(ctx context.Context, code, clientID string) {
	row, found, err := s.Tokens.byDigest(ctx, s.db, kindCode, code)
	if err != nil {
		s.log.Error("look up replayed authorization code", "error", err)
		return
	}
	if !found || !row.ConsumedAt.Valid {
		return // unknown, expired or revoked: nothing more to do
	}
	var n int
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if n, err = s.Tokens.revokeGrantTx(ctx, tx, row.GrantID); err != nil {
			return err
		}
		return appendGrantEvent(ctx, tx, AuditCodeReplayed, row, clientID, n)
	})
	if err != nil {
		s.log.Error("revoke grant after authorization code replay", "error", err, "client_id", row.ClientID)
		return
	}
	s.log.Warn("authorization code replayed; grant revoked", "client_id", row.ClientID,
		"presented_by", clientID, "code", row.Prefix, "revoked", n)
	s.metrics.security("code_replay")
}
