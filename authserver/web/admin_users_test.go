package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

var shownPasswordRE = regexp.MustCompile(`id="shown-password" value="([^"]+)"`)

// adminPost posts form to path with the CSRF token of the page at from.
func adminPost(b *testenv.Browser, from, path string, form url.Values) testenv.Page {
	form.Set("csrf_token", b.CSRF(from))
	return b.Post(path, form)
}

// TestAdminUsersGate: the users page and each of its forms send a visitor
// to /login, refuse a signed-in non-admin with 403 (GET and POST, with a
// valid CSRF token), and refuse an admin's POST without the CSRF token;
// none of the refused POSTs changed anything.
func TestAdminUsersGate(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		id := strconv.FormatInt(e.User.ID, 10)
		posts := map[string]url.Values{
			"/admin/users/":                    {"username": {"mallory"}, "generate": {"1"}, "admin": {"1"}},
			"/admin/users/" + id + "/active":   {"active": {"false"}},
			"/admin/users/" + id + "/admin":    {"admin": {"true"}},
			"/admin/users/" + id + "/password": {"generate": {"1"}},
		}
		anon := e.Browser()
		if p := anon.Get("/admin/users/"); p.Status != http.StatusSeeOther || p.Location(t).Query().Get("return_to") != "/admin/users/" {
			t.Errorf("signed out GET: %d %s, want 303 to /login and back", p.Status, p.Header.Get("Location"))
		}
		user := e.Browser()
		user.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := user.Get("/admin/users/"); p.Status != http.StatusForbidden {
			t.Errorf("non-admin GET: %d, want 403", p.Status)
		}
		admin := adminBrowser(e)
		for path, form := range posts {
			if p := anon.Post(path, form); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
				t.Errorf("signed out POST %s: %d, want 303 to /login", path, p.Status)
			}
			if p := adminPost(user, "/account/", path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Administrators only") {
				t.Errorf("non-admin POST %s: %d, want 403", path, p.Status)
			}
			if p := admin.Post(path, form); p.Status != http.StatusForbidden {
				t.Errorf("admin POST %s without the CSRF token: %d, want 403", path, p.Status)
			}
			bad := url.Values{"csrf_token": {"forged"}}
			for k, v := range form {
				bad[k] = v
			}
			if p := admin.Post(path, bad); p.Status != http.StatusForbidden {
				t.Errorf("admin POST %s with a wrong CSRF token: %d, want 403", path, p.Status)
			}
		}
		u, err := e.App.Users.Get(context.Background(), e.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !u.IsActive || u.IsAdmin {
			t.Errorf("a refused POST changed the user: %+v", u)
		}
		if _, err := e.App.Users.GetByUsername(context.Background(), "mallory"); err == nil {
			t.Error("a refused POST created a user")
		}
		e.Browser().SignIn(testenv.UserUsername, testenv.UserPassword) // the password still works
	})
}

// TestAdminUsersCreate: an admin creates users with a typed password (303,
// then listed) and with a generated one (shown once, never logged); both
// can sign in; the store's audit events name the admin; bad input is
// answered in place with the form kept.
func TestAdminUsersCreate(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		admin := adminBrowser(e)
		p := adminPost(admin, "/admin/users/", "/admin/users/", url.Values{"username": {"bob"}, "name": {"Bob <b>"},
			"email": {"bob@example.com"}, "password": {"bob's long password"}, "confirm_password": {"bob's long password"}})
		if p.Status != http.StatusSeeOther || p.Location(t).Path != "/admin/users/" {
			t.Fatalf("create with a password: %d %s", p.Status, p.Body)
		}
		list := admin.Get(p.Header.Get("Location"))
		if !strings.Contains(list.Body, "The user <strong>bob</strong> was created") || !strings.Contains(list.Body, "Bob &lt;b&gt;") {
			t.Errorf("list after create lacks the notice or the escaped name: %s", list.Body)
		}
		e.Browser().SignIn("bob", "bob's long password")

		p = adminPost(admin, "/admin/users/", "/admin/users/", url.Values{"username": {"carol"}, "generate": {"1"}, "admin": {"1"}})
		m := shownPasswordRE.FindStringSubmatch(p.Body)
		if p.Status != http.StatusCreated || m == nil {
			t.Fatalf("create with a generated password: %d, no password shown: %s", p.Status, p.Body)
		}
		e.Logs.Secret(m[1])
		if len(m[1]) < users.MinPasswordLength {
			t.Errorf("generated password %d characters", len(m[1]))
		}
		carol := e.Browser()
		carol.SignIn("carol", m[1])
		if carol.Get("/admin/").Status != http.StatusOK {
			t.Error("carol was created without the admin flag")
		}
		if strings.Contains(admin.Get("/admin/users/").Body, m[1]) {
			t.Error("the list shows the generated password again")
		}

		u, err := e.App.Users.GetByUsername(context.Background(), "carol")
		if err != nil {
			t.Fatal(err)
		}
		evs, err := e.App.Tokens.AuditEvents(context.Background(), audit.Filter{Kind: users.AuditCreated, SubjectID: strconv.FormatInt(u.ID, 10)})
		if err != nil || len(evs) != 1 || evs[0].ActorUserID == nil || *evs[0].ActorUserID != e.Admin.ID {
			t.Errorf("audit of carol's creation: %+v, %v; want one user.created by the admin", evs, err)
		}

		for _, c := range []struct {
			form   url.Values
			status int
			msg    string
		}{
			{url.Values{"username": {"bad name"}, "generate": {"1"}}, http.StatusBadRequest, "letters, digits"},
			{url.Values{"username": {"bob"}, "generate": {"1"}}, http.StatusConflict, "is taken"},
			{url.Values{"username": {"dave"}, "password": {"short"}, "confirm_password": {"short"}}, http.StatusBadRequest, "at least 8"},
			{url.Values{"username": {"dave"}, "password": {"long enough 1"}, "confirm_password": {"long enough 2"}}, http.StatusBadRequest, "do not match"},
			{url.Values{"username": {"dave"}, "email": {"not an address"}, "generate": {"1"}}, http.StatusBadRequest, "invalid profile"},
		} {
			p := adminPost(admin, "/admin/users/", "/admin/users/", c.form)
			if p.Status != c.status || !strings.Contains(p.Body, c.msg) || !strings.Contains(p.Body, `role="alert"`) {
				t.Errorf("create %v: %d, want %d with %q in place: %s", c.form, p.Status, c.status, c.msg, p.Body)
			}
			if !strings.Contains(p.Body, `value="`+c.form.Get("username")+`"`) {
				t.Errorf("create %v: the form lost the username", c.form)
			}
		}
		if _, err := e.App.Users.GetByUsername(context.Background(), "dave"); err == nil {
			t.Error("a refused create made dave")
		}
	})
}

// TestAdminUsersDeactivate: deactivating a user refuses their open session
// (303 to /login), their API token and their sign-in; reactivating lets
// them sign in again. An admin cannot deactivate themselves or remove
// their own admin flag (409, explained in place, nothing changed) but can
// grant and remove another user's flag.
func TestAdminUsersDeactivate(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		_, raw, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "script"})
		if err != nil {
			t.Fatal(err)
		}
		e.Logs.Secret(raw)
		alice := e.Browser()
		alice.SignIn(testenv.UserUsername, testenv.UserPassword)
		if alice.Get("/account/").Status != http.StatusOK || apiStatus(t, e, "/api/session/", raw) != http.StatusOK {
			t.Fatal("alice's session or token does not work before deactivation")
		}
		admin := adminBrowser(e)
		uid := strconv.FormatInt(e.User.ID, 10)
		p := adminPost(admin, "/admin/users/", "/admin/users/"+uid+"/active", url.Values{"active": {"false"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("deactivate: %d %s", p.Status, p.Body)
		}
		if p := alice.Get("/account/"); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
			t.Errorf("deactivated user's session: %d, want 303 to /login", p.Status)
		}
		if s := apiStatus(t, e, "/api/session/", raw); s != http.StatusUnauthorized {
			t.Errorf("deactivated user's API token: %d, want 401", s)
		}
		f := e.Browser().Get("/login").Hidden()
		f.Set("username", testenv.UserUsername)
		f.Set("password", testenv.UserPassword)
		if p := e.Browser().Post("/login", f); p.Status == http.StatusSeeOther {
			t.Error("a deactivated user signed in")
		}
		if !strings.Contains(admin.Get("/admin/users/").Body, "deactivated") {
			t.Error("the list does not show the user deactivated")
		}
		p = adminPost(admin, "/admin/users/", "/admin/users/"+uid+"/active", url.Values{"active": {"true"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("activate: %d", p.Status)
		}
		e.Browser().SignIn(testenv.UserUsername, testenv.UserPassword)

		p = adminPost(admin, "/admin/users/", "/admin/users/"+uid+"/admin", url.Values{"admin": {"true"}})
		if u, _ := e.App.Users.Get(ctx, e.User.ID); p.Status != http.StatusSeeOther || !u.IsAdmin {
			t.Fatalf("grant admin: %d, admin %v", p.Status, u.IsAdmin)
		}
		p = adminPost(admin, "/admin/users/", "/admin/users/"+uid+"/admin", url.Values{"admin": {"false"}})
		if u, _ := e.App.Users.Get(ctx, e.User.ID); p.Status != http.StatusSeeOther || u.IsAdmin {
			t.Fatalf("remove admin: %d, admin %v", p.Status, u.IsAdmin)
		}

		self := strconv.FormatInt(e.Admin.ID, 10)
		for _, c := range []struct{ path, field, msg string }{
			{"/active", "active", "cannot deactivate yourself"},
			{"/admin", "admin", "cannot remove your own administrator flag"},
		} {
			p := adminPost(admin, "/admin/users/", "/admin/users/"+self+c.path, url.Values{c.field: {"false"}})
			if p.Status != http.StatusConflict || !strings.Contains(p.Body, c.msg) {
				t.Errorf("self %s: %d, want 409 with %q: %s", c.field, p.Status, c.msg, p.Body)
			}
		}
		if u, _ := e.App.Users.Get(ctx, e.Admin.ID); !u.IsActive || !u.IsAdmin {
			t.Errorf("the self-demotion changed the admin: %+v", u)
		}
		for _, c := range []struct {
			path   string
			form   url.Values
			status int
		}{
			{"/admin/users/999999/active", url.Values{"active": {"false"}}, http.StatusNotFound},
			{"/admin/users/x/admin", url.Values{"admin": {"true"}}, http.StatusNotFound},
			{"/admin/users/" + uid + "/active", url.Values{"active": {"maybe"}}, http.StatusBadRequest},
		} {
			if p := adminPost(admin, "/admin/users/", c.path, c.form); p.Status != c.status {
				t.Errorf("POST %s %v: %d, want %d", c.path, c.form, p.Status, c.status)
			}
		}
	})
}

// TestAdminUsersResetPassword: a typed reset (303) and a generated one
// (shown once) both replace the password and end the user's sessions; an
// admin's own password is refused here (the account page asks for the
// current one); a mismatch is explained in place.
func TestAdminUsersResetPassword(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		alice := e.Browser()
		alice.SignIn(testenv.UserUsername, testenv.UserPassword)
		admin := adminBrowser(e)
		path := fmt.Sprintf("/admin/users/%d/password", e.User.ID)
		p := adminPost(admin, "/admin/users/", path, url.Values{"password": {"a brand new password"}, "confirm_password": {"a brand new password"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("typed reset: %d %s", p.Status, p.Body)
		}
		if p := alice.Get("/account/"); p.Status != http.StatusSeeOther {
			t.Errorf("alice's session after the reset: %d, want 303 to /login", p.Status)
		}
		e.Browser().SignIn(testenv.UserUsername, "a brand new password")

		p = adminPost(admin, "/admin/users/", path, url.Values{"generate": {"1"}})
		m := shownPasswordRE.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || m == nil {
			t.Fatalf("generated reset: %d: %s", p.Status, p.Body)
		}
		e.Logs.Secret(m[1])
		e.Browser().SignIn(testenv.UserUsername, m[1])

		p = adminPost(admin, "/admin/users/", path, url.Values{"password": {"one long password"}, "confirm_password": {"another one"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "do not match") {
			t.Errorf("mismatched reset: %d", p.Status)
		}
		self := fmt.Sprintf("/admin/users/%d/password", e.Admin.ID)
		p = adminPost(admin, "/admin/users/", self, url.Values{"generate": {"1"}})
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "your account page") {
			t.Errorf("own reset: %d, want 409 pointing to the account page", p.Status)
		}
		admin.Get("/admin/users/") // the admin's session survived
		e.Browser().SignIn(testenv.AdminUsername, testenv.AdminPassword)
	})
}
