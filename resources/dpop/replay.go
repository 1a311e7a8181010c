package dpop

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// MemoryReplayStore is a ReplayStore for one process (a single resource
// server). It forgets entries once they expire.
type MemoryReplayStore struct {
	mu   sync.Mutex
	max  int
	seen map[string]time.Time
	now  func() time.Time
}

// NewMemoryReplayStore returns a store holding at most max live entries
// (default 100000); when full it refuses new proofs rather than forget
// live ones.
func NewMemoryReplayStore(max int) *MemoryReplayStore {
	if max <= 0 {
		max = 100000
	}
	return &MemoryReplayStore{max: max, seen: map[string]time.Time{}, now: time.Now}
}

// Use implements ReplayStore.
func (m *MemoryReplayStore) Use(_ context.Context, key string, exp time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e, ok := m.seen[key]; ok && now.Before(e) {
		return false, nil
	}
	if len(m.seen) >= m.max {
		for k, e := range m.seen {
			if !now.Before(e) {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= m.max {
			return false, fmt.Errorf("dpop replay store full (%d live proofs)", m.max)
		}
	}
	m.seen[key] = exp
	return true, nil
}

// SQLReplayStore is a ReplayStore on the dpop_jtis table, shared by every
// instance using the database.
type SQLReplayStore struct {
	db *db.DB
}

// NewSQLReplayStore returns a store on d.
func NewSQLReplayStore(d *db.DB) *SQLReplayStore { return &SQLReplayStore{db: d} }

// Use implements ReplayStore with one statement: the insert wins, or a
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
