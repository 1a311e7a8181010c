package oauthstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// The SQL replay store: of concurrent uses of one key exactly one is
// fresh; an expired entry may be reused.
func TestSQLReplayStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := oauthstore.NewSQLReplayStore(d)
		ctx := context.Background()
		exp := time.Now().Add(time.Minute)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.Use(ctx, "k1", exp)
				if err != nil {
					t.Error(err)
				}
				if ok {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("%d fresh uses of one key, want 1", fresh.Load())
		}
		if ok, err := s.Use(ctx, "old", time.Now().Add(-time.Second)); err != nil || !ok {
			t.Fatalf("first use: %v %v", ok, err)
		}
		if ok, err := s.Use(ctx, "old", exp); err != nil || !ok {
			t.Fatalf("an expired entry must not block: %v %v", ok, err)
		}
		n, err := s.Purge(ctx, time.Now().Add(2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}
