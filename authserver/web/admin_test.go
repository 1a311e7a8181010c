package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
)

// TestAdminConsoleGate: the console sends a signed-out visitor to the login
// page and back, refuses a signed-in non-admin with 403 and shows an admin
// its sections; only admins see its link in the navigation.
func TestAdminConsoleGate(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		anon := e.Browser().Get("/admin/")
		if anon.Status != http.StatusSeeOther {
			t.Fatalf("signed out: status %d, want 303", anon.Status)
		}
		if loc := anon.Location(t); loc.Path != "/login" || loc.Query().Get("return_to") != "/admin/" {
			t.Fatalf("signed out: Location %s, want /login?return_to=/admin/", loc)
		}

		user := e.Browser()
		user.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := user.Get("/admin/"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Administrators only") {
			t.Fatalf("non-admin: status %d, want 403 with an explanation: %s", p.Status, p.Body)
		}
		if p := user.Get("/account/"); strings.Contains(p.Body, `href="/admin/"`) {
			t.Fatal("a non-admin's navigation links the admin console")
		}

		admin := e.Browser()
		admin.SignIn(testenv.AdminUsername, testenv.AdminPassword)
		p := admin.Get("/admin/")
		if p.Status != http.StatusOK {
			t.Fatalf("admin: status %d: %s", p.Status, p.Body)
		}
		for _, want := range []string{`href="/admin/clients/"`, `href="/admin/users/"`, `href="/admin/resources/"`,
			`href="/admin/audit/"`, `href="/admin/keys/"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("admin index lacks %s", want)
			}
		}
		if p.Header.Get("Content-Security-Policy") == "" {
			t.Error("admin index sent without the pages' security headers")
		}
		if !strings.Contains(admin.Get("/account/").Body, `href="/admin/"`) {
			t.Error("an admin's navigation does not link the admin console")
		}
	})
}
