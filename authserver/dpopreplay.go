package authserver

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

// Purge deletes entries that expired before cutoff.
func (s *SQLReplayStore) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM dpop_jtis WHERE expires_at < ?`), cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge dpop proofs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
