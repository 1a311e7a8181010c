package users_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestProfile: a user is created with a display name and a verified
// address, both read back; SetProfile replaces them; a malformed address
// or a name with control characters is refused and nothing is written; an
// empty address is never "verified".
func TestProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := users.NewSQLStore(d)
		u, err := s.Create(ctx, users.NewUser{Username: "ann", Email: " ann@example.com ", EmailVerified: true, Name: " Ann Example "})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, u.ID)
		if err != nil || got.Email != "ann@example.com" || !got.EmailVerified || got.Name != "Ann Example" {
			t.Fatalf("created %+v, %v", got, err)
		}
		for _, bad := range []users.Profile{
			{Email: "not an address"}, {Email: "Ann <ann@example.com>"}, {Name: "a\nb"}, {Name: strings.Repeat("x", 201)},
		} {
			if err := s.SetProfile(ctx, u.ID, bad); !errors.Is(err, users.ErrInvalidProfile) {
				t.Errorf("SetProfile(%+v) = %v, want ErrInvalidProfile", bad, err)
			}
		}
		if _, err := s.Create(ctx, users.NewUser{Username: "bad", Email: "nope"}); !errors.Is(err, users.ErrInvalidProfile) {
			t.Errorf("Create with a bad address = %v", err)
		}
		if got, _ := s.Get(ctx, u.ID); got.Name != "Ann Example" {
			t.Fatalf("a refused update wrote %+v", got)
		}
		if err := s.SetProfile(ctx, u.ID, users.Profile{Email: "", EmailVerified: true, Name: "Ann"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, u.ID); got.Email != "" || got.EmailVerified || got.Name != "Ann" {
			t.Fatalf("after SetProfile %+v", got)
		}
		if err := s.SetProfile(ctx, 999999, users.Profile{}); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("SetProfile of a missing user = %v", err)
		}
	})
}
