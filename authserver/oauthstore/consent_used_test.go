package oauthstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestConsentMarkUsed: a consent has no last use until MarkUsed; within
// UsedEvery a second call writes nothing (neither this store nor a second
// one, as another server instance would be); after it, the use moves on;
// a consent that does not exist is no error; Grant keeps the last use.
func TestConsentMarkUsed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		alice, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
		st := NewSQLConsentStoreWith(d, clock)
		other := NewSQLConsentStoreWith(d, clock)
		if _, err := st.Grant(ctx, alice.ID, "app", mustSet(t, "session:read")); err != nil {
			t.Fatal(err)
		}
		lastUsed := func() *time.Time {
			t.Helper()
			c, err := st.Get(ctx, alice.ID, "app")
			if err != nil {
				t.Fatal(err)
			}
			return c.LastUsedAt
		}
		if got := lastUsed(); got != nil {
			t.Fatalf("new consent last used %v, want never", got)
		}
		mark := func(s *SQLConsentStore, want bool) {
			t.Helper()
			wrote, err := s.MarkUsed(ctx, alice.ID, "app")
			if err != nil || wrote != want {
				t.Fatalf("MarkUsed = %v, %v; want %v, nil", wrote, err, want)
			}
		}
		first := clock()
		mark(st, true)
		if got := lastUsed(); got == nil || !got.Equal(first) {
			t.Fatalf("last used %v, want %v", got, first)
		}
		advance(30 * time.Second)
		mark(st, false)
		mark(other, false)
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last used moved to %v within a minute", got)
		}
		advance(31 * time.Second)
		mark(other, true)
		mark(st, false) // the database already holds this minute's use
		if got := lastUsed(); !got.Equal(first.Add(61 * time.Second)) {
			t.Fatalf("last used %v, want %v", got, first.Add(61*time.Second))
		}
		if _, err := st.Grant(ctx, alice.ID, "app", mustSet(t, "tokens:read")); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); got == nil || !got.Equal(first.Add(61*time.Second)) {
			t.Fatalf("Grant changed last used to %v", got)
		}
		if wrote, err := st.MarkUsed(ctx, alice.ID, "no-such-app"); wrote || err != nil {
			t.Fatalf("MarkUsed without a consent = %v, %v", wrote, err)
		}
		list, err := st.ListByUser(ctx, alice.ID)
		if err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
			t.Fatalf("ListByUser = %+v, %v; want the last use", list, err)
		}
	})
}

// BenchmarkConsentMarkUsed: "recorded" is the steady state of a busy
// client (the use was written less than UsedEvery ago: no query);
// "write" is the once-a-minute UPDATE.
func BenchmarkConsentMarkUsed(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.Open}, {"postgres", dbtest.OpenPostgres}} {
		b.Run(tc.name, func(b *testing.B) {
			d := tc.open(b)
			ctx := context.Background()
			alice, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "alice"})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			st := NewSQLConsentStoreWith(d, func() time.Time { return now })
			if _, err := st.Grant(ctx, alice.ID, "app", mustSet(b, "session:read")); err != nil {
				b.Fatal(err)
			}
			b.Run("recorded", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := st.MarkUsed(ctx, alice.ID, "app"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("write", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					now = now.Add(UsedEvery)
					if wrote, err := st.MarkUsed(ctx, alice.ID, "app"); err != nil || !wrote {
						b.Fatal(wrote, err)
					}
				}
			})
		})
	}
}
