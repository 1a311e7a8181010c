package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/tokens"
)

// APITokenInspector looks API tokens up for introspection without
// recording a use; the tokens package's *Manager implements it.
type APITokenInspector interface {
	Inspect(ctx context.Context, raw string) (*tokens.Authenticated, error)
}

// Token types reported by introspection (RFC 7662 §2.2 token_type).
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeRefresh = "refresh_token"
	TokenTypeAPI     = "api_token"
)

var inactive = map[string]any{"active": false}

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

func (s *Server) introspect(ctx context.Context, caller *Client, raw string) (map[string]any, error) {
	switch {
	case hasPrefix(raw, PrefixAccessToken) || looksLikeJWT(raw):
		at, err := s.access.validateAnyAudience(ctx, raw)
		if errors.Is(err, errTokenInvalid) {
			return inactive, nil
		}
		if err != nil {
			return nil, err
		}
		if !caller.ResourceServer && at.ClientID != caller.ID {
			return inactive, nil
		}
		out := map[string]any{
			"active": true, "token_type": TokenTypeBearer, "client_id": at.ClientID, "sub": at.Subject,
			"exp": at.ExpiresAt.Unix(), "iat": at.IssuedAt.Unix(), "iss": s.cfg.Issuer, "aud": at.Audience,
		}
		if at.Scope != "" {
			out["scope"] = at.Scope
		}
		if at.Username != "" {
			out["username"] = at.Username
		}
		if !at.Opaque {
			out["jti"] = at.JTI
		}
		if at.JKT != "" {
			// RFC 9449 §6.2: the key the token is bound to.
			out["token_type"] = dpop.TokenType
			out["cnf"] = map[string]string{"jkt": at.JKT}
		}
		return out, nil
	case hasPrefix(raw, PrefixRefreshToken):
		if !wellFormed(PrefixRefreshToken, raw) {
			return inactive, nil
		}
		row, found, err := s.Tokens.ByDigest(ctx, kindRefresh, raw)
		if err != nil {
			return nil, err
		}
		if !found || !row.Live(s.now()) || row.ClientID != caller.ID {
			return inactive, nil
		}
		out := map[string]any{
			"active": true, "token_type": TokenTypeRefresh, "client_id": row.ClientID,
			"exp": row.ExpiresAt.Unix(), "iat": row.CreatedAt.Unix(), "iss": s.cfg.Issuer,
		}
		if row.Scope != "" {
			out["scope"] = row.Scope
		}
		if row.JKT != "" {
			out["cnf"] = map[string]string{"jkt": row.JKT}
		}
		if row.UserID.Valid {
			_, active, username, err := s.access.status(ctx, "", row.UserID.Int64)
			if err != nil {
				return nil, err
			}
			if !active {
				return inactive, nil
			}
			out["sub"], out["username"] = strconv.FormatInt(row.UserID.Int64, 10), username
		}
		return out, nil
	case hasPrefix(raw, PrefixCode), hasPrefix(raw, PrefixClientSecret):
		return inactive, nil
	}
	if s.apiTokens == nil || !caller.ResourceServer {
		// API tokens are for resource servers only: no other client
		// receives them, so no other client may ask about them.
		return inactive, nil
	}
	return s.introspectAPIToken(ctx, raw)
}

// denyAllPolicy is what introspection reports for an API token whose stored
// policy is unreadable.
var denyAllPolicy = json.RawMessage(`{"resources":{"*":{"block":["*"]}}}`)

// Values of the inactive_reason member (an extension of RFC 7662 §2.2).
const (
	InactiveExpired      = "expired"
	InactiveInvalid      = "invalid"
	InactiveUserInactive = "user_inactive"
)

// introspectAPIToken answers a resource server about an API token, looked
// up without recording a use.
func (s *Server) introspectAPIToken(ctx context.Context, raw string) (map[string]any, error) {
	a, err := s.apiTokens.Inspect(ctx, raw)
	if err != nil {
		return unusableAPIToken(err)
	}
	// The policy goes out as the manager compiled it. A stored policy that
	// cannot be read must not reach a remote resource server as {} (full
	// access): it is reported as a policy that blocks everything, the same
	// fail-closed decision authgate's own middleware makes
	// (docs/api-tokens.md, "Deliberate differences").
	pol := a.Policy.JSON()
	if pol == nil {
		pol = denyAllPolicy
	}
	out := map[string]any{
		"active": true, "token_type": TokenTypeAPI, "username": a.User.Username,
		"sub": strconv.FormatInt(a.User.ID, 10), "iat": a.Token.TimeAdded.Unix(), "iss": s.cfg.Issuer,
		"policy": pol, "api_token_id": strconv.FormatInt(a.Token.ID, 10), "deprecated": a.Deprecated,
	}
	if a.Token.Expires != nil {
		out["exp"] = a.Token.Expires.Unix()
	}
	return out, nil
}

// unusableAPIToken maps an Inspect failure to the response: an unknown or
// malformed token is {"active": false}; one that exists but cannot be used
// carries inactive_reason and, as error_description, the exact message
// authgate's Guard sends for it (Djblets' wording).
func unusableAPIToken(err error) (map[string]any, error) {
	var ae *tokens.AuthError
	if !errors.As(err, &ae) {
		return nil, err
	}
	var reason, msg string
	switch {
	case errors.Is(ae.Kind, tokens.ErrTokenExpired):
		reason, msg = InactiveExpired, ae.Message
	case errors.Is(ae.Kind, tokens.ErrTokenInvalid):
		reason, msg = InactiveInvalid, ae.Message
	case errors.Is(ae.Kind, tokens.ErrUserInactive):
		reason, msg = InactiveUserInactive, ae.Message
	default:
		return inactive, nil
	}
	if msg == "" {
		msg = resources.LoginFailed().Msg
	}
	return map[string]any{
		"active": false, "token_type": TokenTypeAPI, "inactive_reason": reason, "error_description": msg,
	}, nil
}
