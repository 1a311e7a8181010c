package authserver

import (
	"context"
	"fmt"
)

// RevokeReported revokes the grant of raw when it is one of this server's
// OAuth access or refresh tokens that is still live, and records
// AuditCredentialReported in the same transaction. It reports whether it
// revoked anything. There is no client authentication: possession of the
// token is the proof, as in GitHub's credential-revocation API, and
// revoking a leaked credential can only help its owner. See
// docs/migrating-from-review-board.md, "Reporting leaked credentials".
//
// A whole grant is revoked, not just the token: whoever holds a leaked
// access token may hold its refresh token too (RFC 9700 §4.14.2).
func (s *Server) RevokeReported(ctx context.Context, raw string) (bool, error) {
	var kind, jti string
	switch {
	case hasPrefix(raw, PrefixRefreshToken) && wellFormed(PrefixRefreshToken, raw):
		kind = kindRefresh
	case hasPrefix(raw, PrefixAccessToken) && wellFormed(PrefixAccessToken, raw):
		kind = kindAccess
	case looksLikeJWT(raw):
		claims, err := s.access.parseJWT(ctx, s.access.anyAud, raw) // any audience authgate issued
		if err != nil {
			return false, nil // not ours, badly signed or expired: nothing to revoke
		}
		jti = claims.ID
		if claims.Subject == claims.ClientID {
			// A client_credentials JWT has no row (rowless.go): its jti
			// alone is revoked; it has no grant beyond itself.
			revoked, err := s.Tokens.RevokeReportedJTI(ctx, jti, claims.ClientID, claims.ExpiresAt.Time)
			if err != nil {
				return false, fmt.Errorf("revoke reported credential: %w", err)
			}
			return revoked, nil
		}
	default:
		return false, nil
	}
	revoked, err := s.Tokens.RevokeReported(ctx, kind, raw, jti)
	if err != nil {
		return false, fmt.Errorf("revoke reported credential: %w", err)
	}
	return revoked, nil
}
