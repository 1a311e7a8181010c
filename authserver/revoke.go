package authserver

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleRevoke serves POST /oauth/revoke (RFC 7009). The client
// authenticates as at the token endpoint (a public client by client_id).
//
//   - A refresh token revokes its whole grant: the refresh token and every
//     access token issued from the same authorization (RFC 7009 §2.1; the
//     library left the access token alive:
//     docs/go-oauth2.md, "Findings and their tests", finding 7, go-oauth2#303).
//   - An access token revokes itself; a JWT's jti is listed as revoked, so
//     authgate's validator and introspection refuse it at once.
//   - A token issued to another client is refused (RFC 7009 §2.1) with
//     unauthorized_client.
//   - An unknown, malformed, expired or already revoked token gets 200, as
//     RFC 7009 §2.2 requires; so does a token_type_hint we do not know,
//     since the hint only speeds up the lookup (§2.1).
func (s *Server) handleRevoke(c *gin.Context) {
	w, r := c.Writer, c.Request
	allowCORS(w)
	if e := parseOAuthForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	client, _, _, err := s.authenticateClient(r)
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, oerr(codeInvalidRequest, "token is required"))
		return
	}
	ctx := r.Context()
	switch {
	case hasPrefix(raw, PrefixRefreshToken):
		// RFC 7009 §2.1: revoking a refresh token revokes the access
		// tokens of the same grant too.
		if e := s.revokeStored(ctx, client, PrefixRefreshToken, kindRefresh, raw, func(row *tokenRow) error {
			_, err := s.Tokens.RevokeGrant(ctx, row.GrantID)
			return err
		}); e != nil {
			writeOAuthError(w, e)
			return
		}
	case hasPrefix(raw, PrefixAccessToken):
		if e := s.revokeStored(ctx, client, PrefixAccessToken, kindAccess, raw, func(row *tokenRow) error {
			return s.Tokens.RevokeRow(ctx, row)
		}); e != nil {
			writeOAuthError(w, e)
			return
		}
	case looksLikeJWT(raw):
		claims, err := s.access.parseJWT(ctx, s.access.anyAud, raw) // any audience authgate issued
		if err != nil {
			break // not ours, or expired: nothing to revoke
		}
		if claims.ClientID != client.ID {
			writeOAuthError(w, errNotYourToken)
			return
		}
		if err := s.Tokens.RevokeJTI(ctx, claims.ID, claims.ExpiresAt.Time); err != nil {
			writeOAuthError(w, classify(err, s.log))
			return
		}
	}
	// RFC 7009 §2.2: 200 whether or not there was anything to revoke.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	c.Status(http.StatusOK)
}

// revokeStored revokes an opaque token of kind with revoke when it is well
// formed, known, still live and the caller's. Anything else that is not
// the caller's fault is nothing to revoke (nil: RFC 7009 §2.2 answers 200).
func (s *Server) revokeStored(ctx context.Context, client *Client, prefix, kind, raw string, revoke func(*tokenRow) error) *oauthError {
	if !wellFormed(prefix, raw) {
		return nil
	}
	row, found, err := s.Tokens.ByDigest(ctx, kind, raw)
	if err != nil {
		return classify(err, s.log)
	}
	if !found || row.RevokedAt.Valid {
		return nil
	}
	if row.ClientID != client.ID {
		return errNotYourToken
	}
	if err := revoke(row); err != nil {
		return classify(err, s.log)
	}
	return nil
}

var errNotYourToken = oerr(codeUnauthorizedClient, "the token was not issued to this client")
