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

// TestStoreAnnouncesFlagChanges: every change of a user record (the active
// and admin flags, which API-token authentication caches; the password and
// profile, which change the cached record) announces "user:<id>" with its
// transaction; a failed change announces nothing; the change itself is made.
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
			{"password", func() error { return s.SetPassword(ctx, u.ID, "a new password") }, func(users.User) bool { return true }, []string{id}},
			{"profile", func() error { return s.SetProfile(ctx, u.ID, users.Profile{Name: "Alice"}) }, func(u users.User) bool { return u.Name == "Alice" }, []string{id}},
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
