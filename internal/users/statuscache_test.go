package users_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/notify"
	"github.com/authgate/authgate/internal/users"
)

// statusBound is how long another instance may serve a changed user: the
// SQLite change feed's documented bound (PostgreSQL's NOTIFY is faster).
const statusBound = time.Second

// cachedUsers opens dsn as a separate "process": its own pool, bus and
// users store with the status cache on.
func cachedUsers(t *testing.T, dsn string, size int) (*users.SQLStore, *db.DB) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	bus, err := notify.New(ctx, d, dsn, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	s := users.NewSQLStoreWith(d, users.HashLimits{}, bus)
	s.EnableStatusCache(bus, size)
	return s, d
}

// TestStatusCache: two instances on one database cache a user's status; a
// deactivation or admin change on A is seen by A at once and by B within
// the bound; an unannounced change is not seen (the cache answers without
// a query); the cache never holds more than its bound.
func TestStatusCache(t *testing.T) {
	for _, dial := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(dial.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dial.dsn(t)
			a, ad := cachedUsers(t, dsn, 4)
			b, _ := cachedUsers(t, dsn, 4)
			u, err := a.Create(ctx, users.NewUser{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*users.SQLStore{a, b} {
				if st, err := s.Status(ctx, u.ID); err != nil || !st.IsActive || st.Username != "alice" {
					t.Fatalf("Status = %+v, %v", st, err)
				}
				if s.StatusCacheLen() != 1 {
					t.Fatalf("status cache holds %d users after one read", s.StatusCacheLen())
				}
			}
			if _, err := a.Status(ctx, u.ID+1000); err == nil {
				t.Fatal("Status of an unknown user succeeded")
			}
			// Control: an unannounced change is not seen.
			if _, err := ad.ExecContext(ctx, ad.Rebind(`UPDATE users SET is_active = FALSE WHERE id = ?`), u.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * notify.DefaultPollInterval)
			if st, _ := b.Status(ctx, u.ID); !st.IsActive {
				t.Fatal("a cached status read went to the database")
			}
			seen := func(what string, change func() error, ok func(users.Status) bool) {
				t.Helper()
				seenOnBoth(t, what, change, func(s *users.SQLStore) (users.Status, error) { return s.Status(ctx, u.ID) }, a, b, ok)
			}
			seen("reactivate", func() error { return a.SetActive(ctx, u.ID, true) }, func(st users.Status) bool { return st.IsActive })
			seen("deactivate", func() error { return a.SetActive(ctx, u.ID, false) }, func(st users.Status) bool { return !st.IsActive })
			seen("make admin", func() error { return a.SetAdmin(ctx, u.ID, true) }, func(st users.Status) bool { return st.IsAdmin })

			for i := range 10 {
				v, err := a.Create(ctx, users.NewUser{Username: fmt.Sprint("u", i)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.Status(ctx, v.ID); err != nil {
					t.Fatal(err)
				}
				if n := a.StatusCacheLen(); n > 4 {
					t.Fatalf("%d users cached, bound 4", n)
				}
			}
		})
	}
}

// TestUserRecordCache: Get answers from the same cache (GET /api/session/
// reads the caller's record on every request); a profile or password change
// on A is seen by A at once and by B within the bound, and an unannounced
// change is not seen, so the cached read sends no query.
func TestUserRecordCache(t *testing.T) {
	for _, dial := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", dbtest.SQLiteDSN}, {"postgres", dbtest.PostgresDSN}} {
		t.Run(dial.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dial.dsn(t)
			a, ad := cachedUsers(t, dsn, 4)
			b, _ := cachedUsers(t, dsn, 4)
			u, err := a.Create(ctx, users.NewUser{Username: "alice", Name: "Alice", Password: "a long enough password"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*users.SQLStore{a, b} {
				if got, err := s.Get(ctx, u.ID); err != nil || got.Name != "Alice" {
					t.Fatalf("Get = %+v, %v", got, err)
				}
			}
			if _, err := ad.ExecContext(ctx, ad.Rebind(`UPDATE users SET name = 'Mallory' WHERE id = ?`), u.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * notify.DefaultPollInterval)
			if got, _ := b.Get(ctx, u.ID); got.Name != "Alice" {
				t.Fatal("a cached Get went to the database")
			}
			seen := func(what string, change func() error, ok func(users.User) bool) {
				t.Helper()
				seenOnBoth(t, what, change, func(s *users.SQLStore) (users.User, error) { return s.Get(ctx, u.ID) }, a, b, ok)
			}
			seen("profile", func() error {
				return a.SetProfile(ctx, u.ID, users.Profile{Email: "alice@example.com", Name: "Alice Liddell"})
			}, func(got users.User) bool { return got.Name == "Alice Liddell" && got.Email == "alice@example.com" })
			before, _ := a.Get(ctx, u.ID)
			time.Sleep(time.Millisecond)
			seen("password", func() error { return a.SetPassword(ctx, u.ID, "another long password") },
				func(got users.User) bool { return got.UpdatedAt.After(before.UpdatedAt) })
		})
	}
}

// seenOnBoth makes a change through instance a and checks that a reads it
// at once and b within statusBound.
func seenOnBoth[T any](t *testing.T, what string, change func() error, read func(*users.SQLStore) (T, error),
	a, b *users.SQLStore, ok func(T) bool) {
	t.Helper()
	if err := change(); err != nil {
		t.Fatal(err)
	}
	if got, err := read(a); err != nil || !ok(got) {
		t.Fatalf("%s: A did not see its own change at once: %+v %v", what, got, err)
	}
	start := time.Now()
	for {
		if got, err := read(b); err == nil && ok(got) {
			break
		}
		if time.Since(start) > statusBound {
			t.Fatalf("%s: B did not see it within %s", what, statusBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s: B saw it after %s", what, time.Since(start).Round(time.Millisecond))
}
