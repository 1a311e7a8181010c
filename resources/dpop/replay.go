package dpop

import (
	"context"
	"fmt"
	"sync"
	"time"
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
