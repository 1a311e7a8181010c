package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
)

// TestChangeProfile: /account/ sets the signed-in user's name and email
// address (the OpenID Connect name and email claims) through the user
// store, CSRF-protected; a bad address is shown in place with nothing
// written; a changed address loses its verified flag, an unchanged one
// keeps it. On SQLite and PostgreSQL.
func TestChangeProfile(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		if err := e.App.Users.SetProfile(ctx, e.User.ID, users.Profile{Email: "user@example.com", EmailVerified: true}); err != nil {
			t.Fatal(err)
		}
		stored := func() users.User {
			t.Helper()
			u, err := e.App.Users.Get(ctx, e.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		page := b.Get("/account/")
		if !strings.Contains(page.Body, `id="profile-form"`) || !strings.Contains(page.Body, `value="user@example.com"`) ||
			!strings.Contains(page.Body, "Verified by an administrator.") {
			t.Fatalf("account page has no profile form with the stored address: %s", page.Body)
		}
		csrf := b.CSRF("/account/")

		if p := b.Post("/account/profile", url.Values{"name": {"Ann"}, "email": {"user@example.com"}}); p.Status != http.StatusForbidden {
			t.Fatalf("without CSRF: %d, want 403", p.Status)
		}
		p := b.Post("/account/profile", url.Values{"csrf_token": {csrf}, "name": {"Ann Example"}, "email": {"not an address"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "is not an email address") ||
			!strings.Contains(p.Body, `aria-invalid="true"`) || !strings.Contains(p.Body, `value="not an address"`) {
			t.Fatalf("bad address: %d, want 400 with the error and the input in place: %s", p.Status, p.Body)
		}
		if u := stored(); u.Name != "" || u.Email != "user@example.com" || !u.EmailVerified {
			t.Fatalf("a refused change was written: %+v", u)
		}

		p = b.Post("/account/profile", url.Values{"csrf_token": {csrf}, "name": {"Ann Example"}, "email": {"user@example.com"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account/?notice=profile" {
			t.Fatalf("save: %d %q", p.Status, p.Header.Get("Location"))
		}
		if u := stored(); u.Name != "Ann Example" || u.Email != "user@example.com" || !u.EmailVerified {
			t.Fatalf("same address, new name: %+v (the verified flag must stay)", u)
		}
		b.Post("/account/profile", url.Values{"csrf_token": {csrf}, "name": {"Ann Example"}, "email": {"ann@example.org"}})
		if u := stored(); u.Email != "ann@example.org" || u.EmailVerified {
			t.Fatalf("new address: %+v (it must be unverified)", u)
		}
		if !strings.Contains(b.Get("/account/?notice=profile").Body, "Not verified.") {
			t.Fatal("the page does not say the new address is unverified")
		}
	})
}
