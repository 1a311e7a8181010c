package users_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// recordingNotifier runs the transaction and records what commits with it.
type recordingNotifier struct {
	d    *db.DB
	sent []string
}

func (n *recordingNotifier) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	if err := n.d.InTx(ctx, fn); err != nil {
		return err
	}
	n.sent = append(n.sent, kind+":"+id)
	return nil
}

// TestStoreAnnouncesFlagChanges: changes to the active and admin flags
// (which API-token authentication caches) announce "user:<id>" with their
// transaction; a password change does not; the change itself is made.
func TestStoreAnnouncesFlagChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		n := &recordingNotifier{d: d}
		s := users.NewSQLStoreWith(d, users.HashLimits{}, n)
		u, err := s.Create(ctx, users.NewUser{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		id := users.NotifyKind + ":" + strconv.FormatInt(u.ID, 10)
		for _, tc := range []struct {
			name   string
			change func() error
			check  func(users.User) bool
			want   []string
		}{
			{"deactivate", func() error { return s.SetActive(ctx, u.ID, false) }, func(u users.User) bool { return !u.IsActive }, []string{id}},
			{"make admin", func() error { return s.SetAdmin(ctx, u.ID, true) }, func(u users.User) bool { return u.IsAdmin }, []string{id}},
			{"password", func() error { return s.SetPassword(ctx, u.ID, "a new password") }, func(users.User) bool { return true }, nil},
			{"unknown user", func() error {
				if err := s.SetActive(ctx, u.ID+1000, false); err == nil {
					t.Fatal("no error for an unknown user")
				}
				return nil
			}, func(users.User) bool { return true }, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n.sent = nil
				if err := tc.change(); err != nil {
					t.Fatal(err)
				}
				got, err := s.Get(ctx, u.ID)
				if err != nil || !tc.check(got) {
					t.Fatalf("change not stored: %+v %v", got, err)
				}
				if !slices.Equal(n.sent, tc.want) {
					t.Fatalf("announced %v, want %v", n.sent, tc.want)
				}
			})
		}
	})
}
