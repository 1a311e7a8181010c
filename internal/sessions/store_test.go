package sessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

func newUser(t *testing.T, us users.Store, name string) users.User {
	t.Helper()
	u, err := us.Create(context.Background(), users.NewUser{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// TestStoreConformance is the Store contract, run on SQLite and PostgreSQL.
func TestStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		us := users.NewSQLStore(d)
		alice := newUser(t, us, "alice")
		bob := newUser(t, us, "bob")
		st := NewSQLStore(d)
		base := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
		mk := func(uid int64, created time.Time) Session {
			return Session{UserID: uid, CSRFToken: "csrf-" + created.Format(time.RFC3339Nano),
				CreatedAt: created, ExpiresAt: created.Add(12 * time.Hour), LastSeen: created}
		}

		t.Run("create and get round-trip", func(t *testing.T) {
			want := mk(alice.ID, base)
			if err := st.Create(ctx, Digest("s1"), want); err != nil {
				t.Fatal(err)
			}
			got, err := st.Get(ctx, Digest("s1"))
			if err != nil {
				t.Fatal(err)
			}
			want.CreatedAt, want.ExpiresAt, want.LastSeen = dbTime(want.CreatedAt), dbTime(want.ExpiresAt), dbTime(want.LastSeen)
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Fatalf("times must come back in UTC, got %v", got.CreatedAt.Location())
			}
		})
		t.Run("duplicate digest refused", func(t *testing.T) {
			err := st.Create(ctx, Digest("s1"), mk(bob.ID, base))
			if err == nil || !db.IsUniqueViolation(err) {
				t.Fatalf("want unique violation, got %v", err)
			}
		})
		t.Run("unknown user refused (foreign key)", func(t *testing.T) {
			if err := st.Create(ctx, Digest("orphan"), mk(999999, base)); err == nil {
				t.Fatal("session for a missing user was stored")
			}
		})
		t.Run("get unknown", func(t *testing.T) {
			if _, err := st.Get(ctx, Digest("nope")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("want ErrNotFound, got %v", err)
			}
		})
		t.Run("touch moves last_seen forward only", func(t *testing.T) {
			later := base.Add(10 * time.Minute)
			if err := st.Touch(ctx, Digest("s1"), later); err != nil {
				t.Fatal(err)
			}
			if err := st.Touch(ctx, Digest("s1"), base.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, _ := st.Get(ctx, Digest("s1"))
			if !got.LastSeen.Equal(dbTime(later)) {
				t.Fatalf("last_seen = %v, want %v", got.LastSeen, dbTime(later))
			}
		})
		t.Run("delete", func(t *testing.T) {
			if err := st.Create(ctx, Digest("s2"), mk(alice.ID, base)); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, Digest("s2")); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, Digest("s2")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: want ErrNotFound, got %v", err)
			}
		})
		t.Run("delete user", func(t *testing.T) {
			for _, id := range []string{"b1", "b2"} {
				if err := st.Create(ctx, Digest(id), mk(bob.ID, base)); err != nil {
					t.Fatal(err)
				}
			}
			n, err := st.DeleteUser(ctx, bob.ID)
			if err != nil || n != 2 {
				t.Fatalf("DeleteUser = %d, %v; want 2", n, err)
			}
			if _, err := st.Get(ctx, Digest("s1")); err != nil {
				t.Fatalf("alice's session went too: %v", err)
			}
		})
		t.Run("delete expired", func(t *testing.T) {
			now := base.Add(24 * time.Hour)
			idleBefore := now.Add(-time.Hour)
			cases := []struct {
				id      string
				s       Session
				survive bool
			}{
				{"absolute-past", Session{UserID: alice.ID, CSRFToken: "x", CreatedAt: base, ExpiresAt: now.Add(-time.Second), LastSeen: now}, false},
				{"idle", Session{UserID: alice.ID, CSRFToken: "x", CreatedAt: base, ExpiresAt: now.Add(time.Hour), LastSeen: idleBefore.Add(-time.Second)}, false},
				{"fresh", Session{UserID: alice.ID, CSRFToken: "x", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeen: now}, true},
			}
			for _, c := range cases {
				if err := st.Create(ctx, Digest(c.id), c.s); err != nil {
					t.Fatal(err)
				}
			}
			// s1 from above is both past its absolute expiry and idle.
			n, err := st.DeleteExpired(ctx, now, idleBefore)
			if err != nil || n != 3 {
				t.Fatalf("DeleteExpired = %d, %v; want 3", n, err)
			}
			for _, c := range cases {
				_, err := st.Get(ctx, Digest(c.id))
				if c.survive != (err == nil) {
					t.Errorf("%s: survive=%v, Get err=%v", c.id, c.survive, err)
				}
			}
		})
		t.Run("deleting the user deletes sessions (cascade)", func(t *testing.T) {
			carol := newUser(t, us, "carol")
			if err := st.Create(ctx, Digest("c1"), mk(carol.ID, base)); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, d.Rebind(`DELETE FROM users WHERE id = ?`), carol.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, Digest("c1")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("want ErrNotFound after user delete, got %v", err)
			}
		})
	})
}
