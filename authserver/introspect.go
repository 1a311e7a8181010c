package authserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver/introspection"
	"github.com/authgate/authgate/tokens"
)

// APITokenInspector looks API tokens up for introspection without
// recording a use; the tokens package's *Manager implements it.
type APITokenInspector interface {
	Inspect(ctx context.Context, raw string) (*tokens.Authenticated, error)
}

// Token types reported by introspection (RFC 7662 §2.2 token_type).
const (
	TokenTypeBearer  = introspection.TokenTypeBearer
	TokenTypeRefresh = introspection.TokenTypeRefresh
	TokenTypeAPI     = introspection.TokenTypeAPI
)

// handleIntrospect serves POST /oauth/introspect (RFC 7662). The caller
// authenticates as a confidential client (§2.1: the endpoint must be
// protected; a public client cannot prove who it is). What it learns
// depends on who it is (§4: the server may limit what a caller learns):
//
//   - a resource-server client learns about every access token and API
//     token, since those are what resource servers receive;
//   - any other client learns only about the access and refresh tokens
//     issued to itself;
//   - refresh tokens are answered only to the client they were issued to.
//
// It answers for access tokens, JWT or opaque (active only if the
// signature, issuer, expiry and audience hold — any audience authgate
// issues — and neither the token nor its user has been revoked or
// deactivated); refresh tokens; and API tokens with token_type "api_token",
// username, exp, policy, api_token_id and deprecated. An API token that
// exists but cannot be used is reported to a resource server with
// inactive_reason and the message authgate's own Guard would send, so a
// remote resource server answers exactly as authgate does. Everything else
// is {"active": false} with 200 (§2.2). Introspection never records a use.
// See docs/introspection-and-audience.md.
func (s *Server) handleIntrospect(c *gin.Context) {
	w, r := c.Writer, c.Request
	if e := parseOAuthForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	client, _, _, err := s.authenticateClient(r)
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	if client.Public {
		writeOAuthError(w, oerr(codeInvalidClient, "introspection requires a confidential client"))
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, oerr(codeInvalidRequest, "token is required"))
		return
	}
	resp, err := s.introspect(r.Context(), client, raw)
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// introspect looks up or validates raw and lets package introspection
// decide what caller learns about it.
func (s *Server) introspect(ctx context.Context, client *Client, raw string) (introspection.Response, error) {
	caller := introspection.Caller{ID: client.ID, ResourceServer: client.ResourceServer}
	switch {
	case hasPrefix(raw, PrefixAccessToken) || looksLikeJWT(raw):
		at, err := s.access.validateAnyAudience(ctx, raw)
		if errors.Is(err, errTokenInvalid) {
			return introspection.Inactive(), nil
		}
		if err != nil {
			return introspection.Response{}, err
		}
		return introspection.AccessToken(caller, introspection.Access{
			JTI: at.JTI, ClientID: at.ClientID, Subject: at.Subject, Username: at.Username, Scope: at.Scope,
			Audience: at.Audience, IssuedAt: at.IssuedAt, ExpiresAt: at.ExpiresAt, Opaque: at.Opaque, JKT: at.JKT,
		}, s.cfg.Issuer), nil
	case hasPrefix(raw, PrefixRefreshToken):
		return s.introspectRefresh(ctx, caller, raw)
	case hasPrefix(raw, PrefixCode), hasPrefix(raw, PrefixClientSecret):
		return introspection.Inactive(), nil
	}
	if s.apiTokens == nil || !introspection.APITokensVisible(caller) {
		return introspection.Inactive(), nil
	}
	a, err := s.apiTokens.Inspect(ctx, raw)
	if err != nil {
		return introspection.UnusableAPIToken(err)
	}
	return introspection.APITokenResponse(introspection.APIToken{
		ID: a.Token.ID, UserID: a.User.ID, Username: a.User.Username, IssuedAt: a.Token.TimeAdded,
		Expires: a.Token.Expires, Policy: a.Policy.JSON(), Deprecated: a.Deprecated,
	}, s.cfg.Issuer), nil
}

// introspectRefresh looks a refresh token up, and its user's status when
// the caller may learn about it.
func (s *Server) introspectRefresh(ctx context.Context, caller introspection.Caller, raw string) (introspection.Response, error) {
	if !wellFormed(PrefixRefreshToken, raw) {
		return introspection.Inactive(), nil
	}
	row, found, err := s.Tokens.ByDigest(ctx, kindRefresh, raw)
	if err != nil {
		return introspection.Response{}, err
	}
	if !found || !introspection.RefreshVisible(caller, row.Live(s.now()), row.ClientID) {
		return introspection.Inactive(), nil
	}
	var user *introspection.User
	if row.UserID.Valid {
		_, active, username, err := s.access.status(ctx, "", row.UserID.Int64)
		if err != nil {
			return introspection.Response{}, err
		}
		user = &introspection.User{ID: row.UserID.Int64, Active: active, Username: username}
	}
	return introspection.RefreshToken(introspection.Refresh{
		ClientID: row.ClientID, Scope: row.Scope, JKT: row.JKT, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
	}, user, s.cfg.Issuer), nil
}

// Values of the inactive_reason member (an extension of RFC 7662 §2.2).
const (
	InactiveExpired      = introspection.InactiveExpired
	InactiveInvalid      = introspection.InactiveInvalid
	InactiveUserInactive = introspection.InactiveUserInactive
)
