package oauthstore

import (
	"context"
	"fmt"
	"time"
)

// purgeBatch is the batch size of Purge's loop.
const purgeBatch = 1000

// purgeQueries delete one batch each, oldest expiry first. The batch is
// chosen in expires_at order so that the expires_at index yields it: an
// ORDER BY on the primary key made SQLite walk the table in key order,
// skipping every live row before the expired ones, on each batch and on
// every sweep with nothing to delete. See docs/performance.md, "Growth".
var purgeQueries = []string{
	`DELETE FROM oauth_tokens WHERE id IN (SELECT id FROM oauth_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
	`DELETE FROM revoked_jti WHERE jti IN (SELECT jti FROM revoked_jti WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
	`DELETE FROM device_codes WHERE id IN (SELECT id FROM device_codes WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
}

// PurgeExpired deletes at most limit rows that expired before now: codes,
// access tokens, refresh tokens past their lifetime, then revoked jtis past
// the expiry of their JWT, then device codes (RFC 8628) past theirs. A consumed code or rotated refresh token is kept
// until it expires, so a replay within its lifetime is still recognised. It
// returns how many rows it deleted; fewer than limit means nothing is left.
// Small batches keep each statement's locks short beside live traffic.
func (s *TokenStore) PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	total := 0
	for _, q := range purgeQueries {
		if total >= limit {
			break
		}
		res, err := s.db.ExecContext(ctx, s.db.Rebind(q), now.UTC(), limit-total)
		if err != nil {
			return total, fmt.Errorf("purge expired tokens: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("purge expired tokens: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// Purge deletes every row and revoked jti that expired before cutoff, in
// batches of PurgeExpired. The DPoP replay store purges its own table.
func (s *TokenStore) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	return purgeAll(ctx, cutoff, s.PurgeExpired)
}

// purgeAll calls purge until a batch comes back short.
func purgeAll(ctx context.Context, cutoff time.Time, purge func(context.Context, time.Time, int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := purge(ctx, cutoff, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}
