package authserver

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// AuditCredentialReported: an OAuth access or refresh token was reported
// as leaked (POST /api/credentials/revoke) and its whole grant revoked.
// Data: client_id, grant_id, user_id, tokens_revoked. The actor is none:
// the reporter is anonymous.
const AuditCredentialReported = "oauth.credential_reported"

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
	default:
		return false, nil
	}
	revoked := false
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var row *tokenRow
		var err error
		if jti != "" {
			row, err = s.Tokens.byJTI(ctx, tx, jti)
		} else {
			row, _, err = s.Tokens.byDigest(ctx, tx, kind, raw)
		}
		if err != nil || row == nil || row.RevokedAt.Valid || row.GrantID == "" {
			return err
		}
		n, err := s.Tokens.revokeGrantTx(ctx, tx, row.GrantID)
		if err != nil || n == 0 {
			return err // another revocation got there first
		}
		revoked = true
		return appendGrantEvent(ctx, tx, AuditCredentialReported, row, row.ClientID, n)
	})
	if err != nil {
		return false, fmt.Errorf("revoke reported credential: %w", err)
	}
	return revoked, nil
}

// byJTI loads the access-token row of a JWT by its jti; nil if none.
func (s *TokenStore) byJTI(ctx context.Context, q sqlx.QueryerContext, jti string) (*tokenRow, error) {
	var r tokenRow
	err := sqlx.GetContext(ctx, q, &r, s.db.Rebind(`SELECT `+tokenColumns+` FROM oauth_tokens WHERE jti = ? AND kind = ?`), jti, kindAccess)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load access token by jti: %w", err)
	}
	r.normalize()
	return &r, nil
}
