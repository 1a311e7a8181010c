package testenv_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// TestEnv: the environment serves the real application on both databases,
// its seeded user signs in through the form, and clients register.
func TestEnv(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		b := e.Browser()
		if p := b.Get("/account/"); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
			t.Fatalf("account page before sign-in: %d", p.Status)
		}
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := b.Get("/account/"); p.Status != http.StatusOK || !strings.Contains(p.Body, testenv.UserUsername) {
			t.Fatalf("account page after sign-in: %d", p.Status)
		}
		if b.CSRF("/account/") == "" {
			t.Fatal("no CSRF token")
		}
		c, secret := e.RegisterClient(authserver.ClientSpec{RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"session:read"}})
		if c.ID == "" || secret == "" {
			t.Fatalf("client %+v", c)
		}
		if !e.Logs.Contains(`"msg":"user logged in"`) {
			t.Fatalf("log not captured: %s", e.Logs.String())
		}
		if e.Admin.ID == 0 || !e.Admin.IsAdmin || e.User.IsAdmin {
			t.Fatalf("seeded users %+v %+v", e.Admin, e.User)
		}
	})
}
