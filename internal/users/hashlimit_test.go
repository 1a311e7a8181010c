package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

func TestHashSlots(t *testing.T) {
	d := dbtest.Open(t)
	for _, tc := range []struct {
		mib, want int
	}{{0, 3}, {64, 3}, {128, 6}, {19, 1}, {1, 1}, {512, 26}} {
		if got := users.NewSQLStoreWith(d, users.HashLimits{MemoryMiB: tc.mib}, nil).HashSlots(); got != tc.want {
			t.Errorf("HashSlots with %d MiB = %d, want %d", tc.mib, got, tc.want)
		}
	}
}

// TestAuthenticateBoundedHashing: with memory for one hash and a short
// queue, a burst of concurrent sign-ins gets ErrBusy for those that cannot
// get memory in time, never a wrong answer; with a long enough queue every
// check completes.
func TestAuthenticateBoundedHashing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		burst := func(wait time.Duration) (busy, invalid int) {
			s := users.NewSQLStoreWith(d, users.HashLimits{MemoryMiB: 19, Wait: wait}, nil)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					_, err := s.Authenticate(ctx, fmt.Sprintf("nobody%d", i), "wrong password")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, users.ErrBusy):
						busy++
					case errors.Is(err, users.ErrInvalidCredentials):
						invalid++
					default:
						t.Errorf("Authenticate: %v", err)
					}
				})
			}
			wg.Wait()
			return busy, invalid
		}
		if busy, invalid := burst(time.Millisecond); busy == 0 || invalid == 0 || busy+invalid != 8 {
			t.Errorf("1 slot, 1ms queue: %d busy, %d invalid; want some of each", busy, invalid)
		}
		if busy, invalid := burst(time.Minute); busy != 0 || invalid != 8 {
			t.Errorf("1 slot, long queue: %d busy, %d invalid; want 0 and 8", busy, invalid)
		}
		s := users.NewSQLStoreWith(d, users.HashLimits{MemoryMiB: 19, Wait: time.Minute}, nil)
		if _, err := s.Create(ctx, users.NewUser{Username: "carol", Password: "long enough"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "carol", "long enough"); err != nil {
			t.Fatalf("Authenticate carol: %v", err)
		}
	})
}
