package users_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestStoreConformance is the users conformance suite, run against SQLite
// and PostgreSQL.
func TestStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		RunConformance(t, users.NewSQLStore(d))
	})
}

// RunConformance exercises every Store method.
func RunConformance(t *testing.T, s users.Store) {
	ctx := context.Background()
	before := time.Now().UTC().Add(-time.Second)

	alice, err := s.Create(ctx, users.NewUser{Username: "alice", Email: " alice@example.com ", Password: "correct horse"})
	if err != nil {
		t.Fatalf("Create alice: %v", err)
	}
	if alice.ID == 0 || !alice.IsActive || alice.IsAdmin || alice.Email != "alice@example.com" {
		t.Fatalf("created %+v", alice)
	}
	if alice.CreatedAt.Before(before) || alice.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt %v", alice.CreatedAt)
	}
	if _, err := s.Create(ctx, users.NewUser{Username: "alice", Password: "another one"}); !errors.Is(err, users.ErrAlreadyExists) {
		t.Fatalf("duplicate Create: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.Create(ctx, users.NewUser{Username: "bad name", Password: "whatever1"}); !errors.Is(err, users.ErrInvalidUsername) {
		t.Fatalf("bad username: %v", err)
	}
	if _, err := s.Create(ctx, users.NewUser{Username: "short", Password: "1234567"}); !errors.Is(err, users.ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	root, err := s.Create(ctx, users.NewUser{Username: "root", Password: "rootroot", IsAdmin: true})
	if err != nil || !root.IsAdmin {
		t.Fatalf("Create admin: %+v %v", root, err)
	}

	got, err := s.Get(ctx, alice.ID)
	if err != nil || got.Username != "alice" || !got.CreatedAt.Equal(alice.CreatedAt) {
		t.Fatalf("Get = %+v, %v (want CreatedAt %v)", got, err, alice.CreatedAt)
	}
	if got, err := s.GetByUsername(ctx, "root"); err != nil || got.ID != root.ID || !got.IsAdmin {
		t.Fatalf("GetByUsername = %+v, %v", got, err)
	}
	if _, err := s.GetByUsername(ctx, "nobody"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("GetByUsername(nobody): %v", err)
	}
	if _, err := s.Get(ctx, 999999); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("Get(999999): %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "root" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if n, err := s.Count(ctx); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v", n, err)
	}

	if u, err := s.Authenticate(ctx, "alice", "correct horse"); err != nil || u.ID != alice.ID {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "alice", "wrong horse"},
		{"unknown user", "mallory", "correct horse"},
		{"empty password", "alice", ""},
	} {
		if _, err := s.Authenticate(ctx, tc.user, tc.pass); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Errorf("Authenticate %s: %v", tc.name, err)
		}
	}

	if err := s.SetPassword(ctx, alice.ID, "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "correct horse"); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice", "battery staple"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := s.SetPassword(ctx, 999999, "battery staple"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("SetPassword unknown: %v", err)
	}

	if err := s.SetActive(ctx, alice.ID, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Get(ctx, alice.ID); u.IsActive || !u.UpdatedAt.After(alice.UpdatedAt) && !u.UpdatedAt.Equal(alice.UpdatedAt) {
		t.Fatalf("after deactivate %+v", u)
	}
	if _, err := s.Authenticate(ctx, "alice", "battery staple"); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Fatalf("inactive user authenticated: %v", err)
	}
	if err := s.SetAdmin(ctx, alice.ID, true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Get(ctx, alice.ID); !u.IsAdmin {
		t.Fatal("SetAdmin did not stick")
	}
	if err := s.SetActive(ctx, 999999, false); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("SetActive unknown: %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := users.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := users.HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		name, hash, pass string
		want             bool
	}{
		{"match", h, "correct horse", true},
		{"wrong", h, "correct horsE", false},
		{"empty", h, "", false},
		{"garbage hash", "nope", "correct horse", false},
		{"bcrypt hash", "$2a$10$abcdefghijklmnopqrstuv", "correct horse", false},
		{"tampered params", strings.Replace(h, "m=19456", "m=999999999", 1), "correct horse", false},
		{"truncated key", h[:len(h)-10], "correct horse", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := users.VerifyPassword(tc.hash, tc.pass); got != tc.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := users.HashPassword("correct horse"); err != nil {
			b.Fatal(err)
		}
	}
}
