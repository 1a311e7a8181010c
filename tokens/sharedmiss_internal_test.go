package tokens

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// gatedStore holds every LookupDigest until gate is closed, and counts the
// lookups and the transactions it is asked for.
type gatedStore struct {
	Store
	gate          chan struct{}
	lookups, txns atomic.Int32
}

func (s *gatedStore) LookupDigest(ctx context.Context, digest string) (*Lookup, error) {
	s.lookups.Add(1)
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.LookupDigest(ctx, digest)
}

func (s *gatedStore) InTx(ctx context.Context, fn func(tx StoreTx) error) error {
	s.txns.Add(1)
	return s.Store.InTx(ctx, fn)
}

// TestConcurrentFirstUse: 32 concurrent first uses of a token, with the
// cache, make one lookup and one last_used transaction in this process
// (not 32 of each, queueing on the row's lock), and all 32 succeed. A
// request that starts after the token was dropped from the cache does not
// join a lookup begun before the drop.
func TestConcurrentFirstUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{})
		alice := e.user(t, "alice", false)
		tok, raw := e.generate(t, GenerateParams{User: alice})
		gs := &gatedStore{Store: e.store, gate: make(chan struct{})}
		m := mustManager(t, gs, e.users, Options{Now: e.clock.Now, CacheTTL: time.Hour, LegacySecret: []byte("test-legacy-secret")})

		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := m.Authenticate(ctx, raw)
				errs <- err
			}()
		}
		time.Sleep(200 * time.Millisecond) // let them reach the miss
		close(gs.gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := gs.lookups.Load(); n != 1 {
			t.Errorf("%d lookups for 32 concurrent first uses, want 1", n)
		}
		if n := gs.txns.Load(); n != 1 {
			t.Errorf("%d last_used transactions, want 1", n)
		}
		if n := e.rec.count(EventUsed); n != 0 { // e.rec observes e.m, not m
			t.Fatalf("%d events on the other manager", n)
		}

		// A drop between a lookup's start and a second request's.
		gs.gate = make(chan struct{})
		gs.lookups.Store(0)
		m.cache.dropToken(tok.ID)
		first := make(chan error, 1)
		go func() { _, err := m.Authenticate(ctx, raw); first <- err }()
		time.Sleep(100 * time.Millisecond)
		m.cache.dropToken(tok.ID)
		second := make(chan error, 1)
		go func() { _, err := m.Authenticate(ctx, raw); second <- err }()
		time.Sleep(100 * time.Millisecond)
		if n := gs.lookups.Load(); n != 2 {
			t.Errorf("%d lookups in flight, want 2: the request after the drop joined the earlier lookup", n)
		}
		close(gs.gate)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	})
}
