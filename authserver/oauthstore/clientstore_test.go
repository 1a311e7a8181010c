package oauthstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestClientStoreConformance is the ClientStore suite; every implementation
// must pass it on SQLite and PostgreSQL.
func TestClientStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		runClientStoreSuite(t, NewSQLClientStore(d), d)
	})
}

func runClientStoreSuite(t *testing.T, s ClientStore, d *db.DB) {
	ctx := context.Background()
	owner, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "owner"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("create confidential", func(t *testing.T) {
		c, secret, err := s.Create(ctx, ClientSpec{Name: " Web App ", OwnerID: owner.ID,
			RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb"}, Scopes: []string{"b:read", "a:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.ID, PrefixClientID+"_") || !wellFormedID(c.ID) {
			t.Errorf("client ID %q", c.ID)
		}
		if !WellFormed(PrefixClientSecret, secret) || c.SecretPrefix != secret[:9] {
			t.Errorf("secret %q prefix %q", secret, c.SecretPrefix)
		}
		if c.Name != "Web App" || c.OwnerID != owner.ID || c.Public || c.Disabled() {
			t.Errorf("client %+v", c)
		}
		if !slices.Equal(c.RedirectURIs, []string{"https://app.example.com/cb"}) ||
			!slices.Equal(c.GrantTypes, []string{GrantAuthorizationCode, GrantRefreshToken}) ||
			!slices.Equal(c.Scopes, []string{"a:read", "b:read"}) {
			t.Errorf("lists %v %v %v", c.RedirectURIs, c.GrantTypes, c.Scopes)
		}
		got, err := s.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.VerifySecret(secret) || got.VerifySecret(secret+"x") || got.VerifySecret("") {
			t.Error("VerifySecret")
		}
		if !got.CreatedAt.Equal(c.CreatedAt) || got.Name != c.Name {
			t.Errorf("round trip %+v vs %+v", got, c)
		}
	})
	t.Run("create public", func(t *testing.T) {
		c, secret, err := s.Create(ctx, ClientSpec{Name: "CLI", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" || c.SecretPrefix != "" || !c.Public || !c.VerifySecret("") || c.VerifySecret("agcs_x") {
			t.Errorf("public client %+v secret %q", c, secret)
		}
		if _, _, err := s.RotateSecret(ctx, c.ID); !errors.Is(err, ErrInvalidClientMetadata) {
			t.Errorf("rotate public secret: %v", err)
		}
	})
	t.Run("create service", func(t *testing.T) {
		c, _, err := s.Create(ctx, ClientSpec{Name: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.GrantTypes, []string{GrantClientCredentials}) || len(c.RedirectURIs) != 0 {
			t.Errorf("service client %+v", c)
		}
	})
	t.Run("invalid specs", func(t *testing.T) {
		for _, sp := range []ClientSpec{
			{Name: ""},
			{Name: strings.Repeat("x", 201)},
			{Name: "x", RedirectURIs: []string{"http://app.example.com/cb"}},
			{Name: "x", RedirectURIs: []string{"https://app.example.com/cb#f"}},
			{Name: "x", RedirectURIs: []string{"https://*.example.com/cb"}},
			{Name: "x", RedirectURIs: []string{"/relative"}},
			{Name: "x", RedirectURIs: []string{"myapp:/cb"}},
			{Name: "x", GrantTypes: []string{"password"}},
			{Name: "x", GrantTypes: []string{"implicit"}},
			{Name: "x", GrantTypes: []string{GrantAuthorizationCode}},
			{Name: "x", GrantTypes: []string{GrantRefreshToken, GrantClientCredentials}},
			{Name: "x", Public: true},
			{Name: "x", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, GrantTypes: []string{GrantClientCredentials}},
			{Name: "x", Scopes: []string{"bad scope"}},
			{Name: "x", Scopes: []string{`quo"te`}},
		} {
			if _, _, err := s.Create(ctx, sp); !errors.Is(err, ErrInvalidClientMetadata) {
				t.Errorf("Create(%+v) = %v, want ErrInvalidClientMetadata", sp, err)
			}
		}
	})
	t.Run("not found", func(t *testing.T) {
		if _, err := s.GetClient(ctx, "agci_missing"); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("GetClient: %v", err)
		}
		if _, err := s.Update(ctx, "agci_missing", func(*ClientSpec) error { return nil }); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("Update: %v", err)
		}
		if _, _, err := s.RotateSecret(ctx, "agci_missing"); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("RotateSecret: %v", err)
		}
		if _, err := s.SetDisabled(ctx, "agci_missing", true); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("SetDisabled: %v", err)
		}
		if err := s.Delete(ctx, "agci_missing"); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("Delete: %v", err)
		}
	})
	t.Run("update", func(t *testing.T) {
		c, _, err := s.Create(ctx, ClientSpec{Name: "u", RedirectURIs: []string{"https://u.example.com/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Update(ctx, c.ID, func(sp *ClientSpec) error {
			sp.Name = "renamed"
			sp.RedirectURIs = append(sp.RedirectURIs, "https://u.example.com/two")
			sp.Scopes = []string{"x:read"}
			sp.Public = true // ignored: the kind of client cannot change
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "renamed" || len(got.RedirectURIs) != 2 || got.Public || !slices.Equal(got.Scopes, []string{"x:read"}) {
			t.Errorf("updated %+v", got)
		}
		if _, err := s.Update(ctx, c.ID, func(sp *ClientSpec) error { sp.RedirectURIs = nil; return nil }); !errors.Is(err, ErrInvalidClientMetadata) {
			t.Errorf("update to an invalid client: %v", err)
		}
		boom := errors.New("boom")
		if _, err := s.Update(ctx, c.ID, func(*ClientSpec) error { return boom }); !errors.Is(err, boom) {
			t.Errorf("fn error: %v", err)
		}
		again, _ := s.GetClient(ctx, c.ID)
		if again.Name != "renamed" {
			t.Errorf("failed update changed the client: %+v", again)
		}
	})
	t.Run("rotate secret", func(t *testing.T) {
		c, old, err := s.Create(ctx, ClientSpec{Name: "r"})
		if err != nil {
			t.Fatal(err)
		}
		got, secret, err := s.RotateSecret(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if secret == old || !got.VerifySecret(secret) || got.VerifySecret(old) || got.SecretRotatedAt == nil {
			t.Errorf("rotation: %+v", got)
		}
	})
	t.Run("disable and enable", func(t *testing.T) {
		c, _, err := s.Create(ctx, ClientSpec{Name: "d"})
		if err != nil {
			t.Fatal(err)
		}
		d1, err := s.SetDisabled(ctx, c.ID, true)
		if err != nil || !d1.Disabled() {
			t.Fatalf("disable: %v %+v", err, d1)
		}
		d2, err := s.SetDisabled(ctx, c.ID, true)
		if err != nil || !d2.DisabledAt.Equal(*d1.DisabledAt) {
			t.Errorf("disabling twice moved the date: %v %v", d1.DisabledAt, d2.DisabledAt)
		}
		e, err := s.SetDisabled(ctx, c.ID, false)
		if err != nil || e.Disabled() {
			t.Errorf("enable: %v %+v", err, e)
		}
	})
	t.Run("list and delete", func(t *testing.T) {
		all, err := s.List(ctx, 0)
		if err != nil || len(all) < 5 {
			t.Fatalf("List: %d %v", len(all), err)
		}
		mine, err := s.List(ctx, owner.ID)
		if err != nil || len(mine) != 1 || mine[0].OwnerID != owner.ID {
			t.Fatalf("List(owner): %v %v", mine, err)
		}
		if err := s.Delete(ctx, mine[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetClient(ctx, mine[0].ID); !errors.Is(err, ErrClientNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}

func wellFormedID(id string) bool {
	return len(id) == clientIDLength && wellFormedClientID(id)
}

func wellFormedClientID(id string) bool {
	// Same vendor_checksum layout as the secrets, shorter entropy.
	for i := len(PrefixClientID) + 1; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
