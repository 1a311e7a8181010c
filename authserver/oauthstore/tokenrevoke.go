package oauthstore

// Revocation in the token store: go-oauth2's Remove* hooks, whole grants,
// clients and user-client pairs, and the jtis of JWTs that have no row.

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// RemoveByAccess implements oauth2.TokenStore by revoking the access token.
func (s *TokenStore) RemoveByAccess(ctx context.Context, access string) error {
	r, ok, err := s.byDigest(ctx, s.db, KindAccess, access)
	if err != nil || !ok {
		return err
	}
	return s.RevokeRow(ctx, r)
}

// RemoveByRefresh implements oauth2.TokenStore by revoking the refresh
// token together with its whole grant (RFC 7009 §2.1; the library's memory
// store left the access token alive: docs/go-oauth2.md, "Store contracts", #303).
func (s *TokenStore) RemoveByRefresh(ctx context.Context, refresh string) error {
	r, ok, err := s.byDigest(ctx, s.db, KindRefresh, refresh)
	if err != nil || !ok {
		return err
	}
	_, err = s.RevokeGrant(ctx, r.GrantID)
	return err
}

// RevokeRow revokes one row; for a JWT access token its jti is listed in
// revoked_jti until the token would have expired.
func (s *TokenStore) RevokeRow(ctx context.Context, r *TokenRow) error {
	return s.revokingTx(ctx, func(tx *sqlx.Tx) ([]string, error) {
		now := DBNow(s.now)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), now, r.ID); err != nil {
			return nil, fmt.Errorf("revoke token: %w", err)
		}
		if !r.JTI.Valid {
			return nil, nil // an opaque token: no jti to list or announce
		}
		return s.revokeJTIs(ctx, tx, `SELECT jti, expires_at FROM oauth_tokens WHERE id = ?`, r.ID)
	})
}

// RevokeGrant revokes every row of a grant family (its code, access and
// refresh tokens) and lists its JWTs' jtis as revoked. It returns how many
// rows it revoked. It is what a code replay, a refresh-token reuse and the
// revocation of a refresh token do.
func (s *TokenStore) RevokeGrant(ctx context.Context, grantID string) (int, error) {
	var n int
	err := s.revokingTx(ctx, func(tx *sqlx.Tx) (jtis []string, err error) {
		n, jtis, err = s.revokeGrantTx(ctx, tx, grantID)
		return jtis, err
	})
	return n, err
}

// revokeGrantTx revokes a grant family in tx and returns how many rows it
// revoked and the jtis it listed.
func (s *TokenStore) revokeGrantTx(ctx context.Context, tx *sqlx.Tx, grantID string) (int, []string, error) {
	now := DBNow(s.now)
	if err := s.lockRows(ctx, tx, `grant_id = ?`, grantID); err != nil {
		return 0, nil, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE oauth_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL`), now, grantID)
	if err != nil {
		return 0, nil, fmt.Errorf("revoke grant: %w", err)
	}
	n, _ := res.RowsAffected()
	jtis, err := s.revokeJTIs(ctx, tx, `SELECT jti, expires_at FROM oauth_tokens WHERE grant_id = ? AND jti IS NOT NULL ORDER BY jti`, grantID)
	if err != nil {
		return 0, nil, err
	}
	return int(n), jtis, nil
}

// lockRows takes, on PostgreSQL, the row locks of the rows matching where in
// id order, so concurrent revocations of one family (49 replays of a code)
// queue up instead of deadlocking. SQLite serialises writers already.
func (s *TokenStore) lockRows(ctx context.Context, tx *sqlx.Tx, where string, args ...any) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(`SELECT id FROM oauth_tokens WHERE `+where+` ORDER BY id FOR UPDATE`), args...); err != nil {
		return fmt.Errorf("lock tokens: %w", err)
	}
	return nil
}

// RevokeClient revokes every token of a client (used when it is disabled or
// deleted, so its JWTs stop validating at once).
func (s *TokenStore) RevokeClient(ctx context.Context, clientID string) (int, error) {
	return s.revokeWhere(ctx, `client_id = ?`, clientID)
}

// RevokeUserClient revokes every token a client holds for a user (the user
// withdrew the app's access).
func (s *TokenStore) RevokeUserClient(ctx context.Context, userID int64, clientID string) (int, error) {
	return s.revokeWhere(ctx, `user_id = ? AND client_id = ?`, userID, clientID)
}

// revokeWhere revokes the rows matching where and lists their unexpired
// JWTs' jtis.
func (s *TokenStore) revokeWhere(ctx context.Context, where string, args ...any) (int, error) {
	var n int
	err := s.revokingTx(ctx, func(tx *sqlx.Tx) (jtis []string, err error) {
		n, jtis, err = s.revokeWhereTx(ctx, tx, where, args...)
		return jtis, err
	})
	return n, err
}

// WithdrawUserClient is RevokeUserClient that also records
// consent.revoked (with the actor of audit.WithActor) in the same
// transaction: the user withdrew the app's access.
func (s *TokenStore) WithdrawUserClient(ctx context.Context, userID int64, clientID string) error {
	return s.revokingTx(ctx, func(tx *sqlx.Tx) ([]string, error) {
		n, jtis, err := s.revokeWhereTx(ctx, tx, `user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return nil, err
		}
		return jtis, appendConsentRevoked(ctx, tx, userID, clientID, n)
	})
}

// RevokeReported revokes the grant of a token reported as leaked — the
// opaque value raw of kind, or the JWT access token with jti when jti is not
// "" — when it is still live, and records AuditCredentialReported in the
// same transaction. It reports whether it revoked anything.
func (s *TokenStore) RevokeReported(ctx context.Context, kind, raw, jti string) (bool, error) {
	revoked := false
	err := s.revokingTx(ctx, func(tx *sqlx.Tx) ([]string, error) {
		var row *TokenRow
		var err error
		if jti != "" {
			row, err = s.byJTI(ctx, tx, jti)
		} else {
			row, _, err = s.byDigest(ctx, tx, kind, raw)
		}
		if err != nil || row == nil || row.RevokedAt.Valid || row.GrantID == "" {
			return nil, err
		}
		n, jtis, err := s.revokeGrantTx(ctx, tx, row.GrantID)
		if err != nil || n == 0 {
			return nil, err // another revocation got there first
		}
		revoked = true
		return jtis, appendGrantEvent(ctx, tx, AuditCredentialReported, row, row.ClientID, n)
	})
	return revoked, err
}

// byJTI loads the access-token row of a JWT by its jti; nil if none.
func (s *TokenStore) byJTI(ctx context.Context, q sqlx.QueryerContext, jti string) (*TokenRow, error) {
	var r TokenRow
	err := sqlx.GetContext(ctx, q, &r, s.db.Rebind(`SELECT `+tokenColumns+` FROM oauth_tokens WHERE jti = ? AND kind = ?`), jti, KindAccess)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load access token by jti: %w", err)
	}
	r.normalize()
	return &r, nil
}

// revokeWhereTx revokes in tx the rows matching where and returns how many
// it revoked and the jtis it listed.
func (s *TokenStore) revokeWhereTx(ctx context.Context, tx *sqlx.Tx, where string, args ...any) (int, []string, error) {
	now := DBNow(s.now)
	if err := s.lockRows(ctx, tx, where, args...); err != nil {
		return 0, nil, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE oauth_tokens SET revoked_at = ? WHERE `+where+` AND revoked_at IS NULL`),
		append([]any{now}, args...)...)
	if err != nil {
		return 0, nil, fmt.Errorf("revoke tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	jtis, err := s.revokeJTIs(ctx, tx, `SELECT jti, expires_at FROM oauth_tokens WHERE `+where+` AND jti IS NOT NULL AND expires_at > ? ORDER BY jti`,
		append(append([]any{}, args...), now)...)
	return int(n), jtis, err
}

// revokeJTIs lists in revoked_jti the jtis selected by query (jti,
// expires_at), skipping those already listed, and returns them all (a
// second announcement of a listed jti is harmless).
func (s *TokenStore) revokeJTIs(ctx context.Context, tx *sqlx.Tx, query string, args ...any) ([]string, error) {
	var rows []struct {
		JTI       string    `db:"jti"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list jtis to revoke: %w", err)
	}
	now := DBNow(s.now)
	jtis := make([]string, 0, len(rows))
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES (?, ?, ?)
			ON CONFLICT (jti) DO NOTHING`), r.JTI, r.ExpiresAt.UTC(), now); err != nil {
			return nil, fmt.Errorf("revoke jti: %w", err)
		}
		jtis = append(jtis, r.JTI)
	}
	return jtis, nil
}

// RevokeJTI lists a JWT's jti as revoked until exp (for a JWT with no row).
func (s *TokenStore) RevokeJTI(ctx context.Context, jti string, exp time.Time) error {
	return s.revokingTx(ctx, func(tx *sqlx.Tx) ([]string, error) {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES (?, ?, ?)
		ON CONFLICT (jti) DO NOTHING`), jti, exp.UTC(), DBNow(s.now))
		if err != nil {
			return nil, fmt.Errorf("revoke jti: %w", err)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE jti = ?`), DBNow(s.now), jti)
		if err != nil {
			return nil, fmt.Errorf("revoke jti: %w", err)
		}
		return []string{jti}, nil
	})
}

// JTIRevoked reports whether a JWT's jti has been revoked.
func (s *TokenStore) JTIRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	err := s.db.Prepared().GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM revoked_jti WHERE jti = ?`), jti)
	if err != nil {
		return false, fmt.Errorf("check revoked jti: %w", err)
	}
	return n > 0, nil
}
