package oauthstore

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// SQLReplayStore is a dpop.ReplayStore on the dpop_jtis table, shared by every
// instance using the database.
type SQLReplayStore struct {
	db *db.DB
}

// NewSQLReplayStore returns a store on d.
func NewSQLReplayStore(d *db.DB) *SQLReplayStore { return &SQLReplayStore{db: d} }

// Use implements dpop.ReplayStore with one statement: the insert wins, or a
// conflicting row is taken over only if it has expired (not yet purged).
// Of concurrent uses of one key exactly one affects a row.
func (s *SQLReplayStore) Use(ctx context.Context, key string, exp time.Time) (bool, error) {
	now := time.Now().UTC()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO dpop_jtis (jti_key, expires_at) VALUES (?, ?)
		ON CONFLICT (jti_key) DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_jtis.expires_at < ?`),
		key, exp.UTC(), now)
	if err != nil {
		return false, fmt.Errorf("record dpop proof: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record dpop proof: %w", err)
	}
	return n == 1, nil
}

// purgeDPoPQuery deletes one batch in the expires_at index's order (see
// purgeQueries).
const purgeDPoPQuery = `DELETE FROM dpop_jtis WHERE jti_key IN
	(SELECT jti_key FROM dpop_jtis WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`

// PurgeExpired deletes at most limit entries that expired before now and
// returns how many; fewer than limit means nothing is left.
func (s *SQLReplayStore) PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(purgeDPoPQuery), now.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge dpop proofs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge dpop proofs: %w", err)
	}
	return int(n), nil
}

// Purge deletes every entry that expired before cutoff, in batches of
// PurgeExpired.
func (s *SQLReplayStore) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	return purgeAll(ctx, cutoff, s.PurgeExpired)
}
