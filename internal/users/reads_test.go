package users_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestReadsForOtherStores: the reads other packages use instead of SQL on
// users — Status in one query, GetIn and UsernamesIn with a handle or the
// caller's transaction (seeing its own uncommitted change), ErrNotFound or
// absence for an unknown ID.
func TestReadsForOtherStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := users.NewSQLStore(d)
		alice, err := s.Create(ctx, users.NewUser{Username: "alice", Email: "a@example.com", IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.Create(ctx, users.NewUser{Username: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetActive(ctx, bob.ID, false); err != nil {
			t.Fatal(err)
		}
		if st, err := s.Status(ctx, alice.ID); err != nil || st != (users.Status{ID: alice.ID, Username: "alice", IsActive: true, IsAdmin: true}) {
			t.Errorf("Status(alice) = %+v, %v", st, err)
		}
		if st, err := users.StatusIn(ctx, d, bob.ID); err != nil || st != (users.Status{ID: bob.ID, Username: "bob"}) {
			t.Errorf("StatusIn(bob) = %+v, %v", st, err)
		}
		if _, err := s.Status(ctx, 999); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("Status(999) = %v, want ErrNotFound", err)
		}
		if u, err := users.GetIn(ctx, d, alice.ID); err != nil || u.Email != "a@example.com" || !u.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("GetIn(alice) = %+v, %v", u, err)
		}
		if _, err := users.GetIn(ctx, d, 999); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("GetIn(999) = %v, want ErrNotFound", err)
		}
		ids := []int64{bob.ID, 999, alice.ID}
		for i := range 600 { // more than one IN (...) chunk
			ids = append(ids, int64(10000+i))
		}
		names, err := users.UsernamesIn(ctx, d, ids)
		if err != nil || len(names) != 2 || names[alice.ID] != "alice" || names[bob.ID] != "bob" {
			t.Errorf("UsernamesIn = %v, %v", names, err)
		}
		err = d.InTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET is_active = ? WHERE id = ?`), true, bob.ID); err != nil {
				return err
			}
			st, err := users.StatusIn(ctx, tx, bob.ID)
			if err != nil || !st.IsActive {
				t.Errorf("StatusIn in the transaction = %+v, %v; want its own change", st, err)
			}
			if _, err := users.UsernamesIn(ctx, tx, []int64{bob.ID}); err != nil {
				t.Error(err)
			}
			return errors.New("roll back")
		})
		if err == nil {
			t.Fatal("transaction committed")
		}
		if st, _ := s.Status(ctx, bob.ID); st.IsActive {
			t.Error("rolled-back change visible")
		}
	})
}
