package oauthstore

// Access tokens without a row: a client_credentials JWT is verified from
// its signature, its jti against revoked_jti and its client's state, so
// issuing one writes nothing. See docs/performance.md, "Issuance".

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
)

// Rowless reports whether ti is a token the store does not write: an
// access token that is a JWT (not an agat_ value), with no user and no
// refresh token — what the client_credentials grant issues in the jwt
// format.
func Rowless(ti oauth2.TokenInfo) bool {
	access := ti.GetAccess()
	return access != "" && ti.GetRefresh() == "" && ti.GetUserID() == "" && ti.GetCode() == "" &&
		!HasPrefix(access, PrefixAccessToken) && strings.Count(access, ".") == 2
}

// RevokeReportedJTI revokes a reported JWT access token that has no row
// (RevokeReported finds nothing to revoke for it): its jti is listed in
// revoked_jti until exp and AuditCredentialReported is recorded, against
// the client, in the same transaction. It reports whether the jti was not
// revoked already.
func (s *TokenStore) RevokeReportedJTI(ctx context.Context, jti, clientID string, exp time.Time) (bool, error) {
	revoked := false
	err := s.revokingTx(ctx, func(tx *sqlx.Tx) ([]string, error) {
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES (?, ?, ?)
			ON CONFLICT (jti) DO NOTHING`), jti, exp.UTC(), DBNow(s.now))
		if err != nil {
			return nil, fmt.Errorf("revoke jti: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, nil // revoked before
		}
		revoked = true
		return []string{jti}, audit.Append(ctx, tx, &audit.Event{
			Kind: AuditCredentialReported, SubjectType: AuditSubjectClient, SubjectID: clientID,
			Data: audit.Data(map[string]any{"client_id": clientID, "jti": jti, "tokens_revoked": 1}),
		})
	})
	return revoked, err
}
