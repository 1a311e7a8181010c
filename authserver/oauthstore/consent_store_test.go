package oauthstore

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

func mustSet(t testing.TB, s string) scopes.Set {
	t.Helper()
	set, err := scopes.ParseSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestConsentStoreConformance is the ConsentStore contract on SQLite and
// PostgreSQL.
func TestConsentStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		us := users.NewSQLStore(d)
		alice, err := us.Create(ctx, users.NewUser{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := us.Create(ctx, users.NewUser{Username: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		st := NewSQLConsentStore(d)

		t.Run("none yet", func(t *testing.T) {
			if _, err := st.Get(ctx, alice.ID, "app"); !errors.Is(err, ErrConsentNotFound) {
				t.Fatalf("want ErrConsentNotFound, got %v", err)
			}
		})
		t.Run("grant, subset, superset", func(t *testing.T) {
			c, err := st.Grant(ctx, alice.ID, "app", mustSet(t, "session:read tokens:read"))
			if err != nil {
				t.Fatal(err)
			}
			if c.Scopes.String() != "session:read tokens:read" {
				t.Fatalf("granted %q", c.Scopes)
			}
			got, err := st.Get(ctx, alice.ID, "app")
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				requested string
				covered   bool
			}{
				{"session:read", true},
				{"session:read tokens:read", true},
				{"session:read tokens:write", false},
				{"users:read", false},
			}
			for _, tc := range cases {
				if got.Covers(mustSet(t, tc.requested)) != tc.covered {
					t.Errorf("Covers(%q) = %v", tc.requested, !tc.covered)
				}
			}
		})
		t.Run("grant merges", func(t *testing.T) {
			c, err := st.Grant(ctx, alice.ID, "app", mustSet(t, "tokens:write"))
			if err != nil {
				t.Fatal(err)
			}
			if c.Scopes.String() != "session:read tokens:read tokens:write" {
				t.Fatalf("merged %q", c.Scopes)
			}
		})
		t.Run("per user and client", func(t *testing.T) {
			if _, err := st.Get(ctx, bob.ID, "app"); !errors.Is(err, ErrConsentNotFound) {
				t.Fatalf("bob sees alice's consent: %v", err)
			}
			if _, err := st.Get(ctx, alice.ID, "other"); !errors.Is(err, ErrConsentNotFound) {
				t.Fatalf("consent leaked to another client: %v", err)
			}
		})
		t.Run("concurrent grants keep every scope", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 8 {
				set := mustSet(t, "r"+string(rune('a'+i))+":read")
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := st.Grant(ctx, bob.ID, "race", set)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			c, err := st.Get(ctx, bob.ID, "race")
			if err != nil || c.Scopes.Len() != 8 {
				t.Fatalf("after concurrent grants: %q, %v; want 8 scopes", c.Scopes, err)
			}
		})
		t.Run("list and revoke", func(t *testing.T) {
			if _, err := st.Grant(ctx, alice.ID, "another", mustSet(t, "session:read")); err != nil {
				t.Fatal(err)
			}
			list, err := st.ListByUser(ctx, alice.ID)
			if err != nil || len(list) != 2 || list[0].ClientID != "another" || list[1].ClientID != "app" {
				t.Fatalf("ListByUser = %+v, %v", list, err)
			}
			if err := st.Revoke(ctx, alice.ID, "app"); err != nil {
				t.Fatal(err)
			}
			if err := st.Revoke(ctx, alice.ID, "app"); !errors.Is(err, ErrConsentNotFound) {
				t.Fatalf("second revoke: %v", err)
			}
			if _, err := st.Get(ctx, alice.ID, "app"); !errors.Is(err, ErrConsentNotFound) {
				t.Fatalf("after revoke: %v", err)
			}
		})
	})
}
