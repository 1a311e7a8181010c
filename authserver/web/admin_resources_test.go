package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
)

// TestAdminResources: the resources page lists authgate's own resources,
// the configuration's and the run-time registrations with their owners and
// scopes; an admin registers and removes run-time resources through the
// management API's path (the API then serves the same registry), with the
// API's refusals shown in place; built-in and configured resources cannot
// be removed; non-admins get 403 (GET and POST), a forged form 403.
func TestAdminResources(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		admin := adminBrowser(e)
		p := admin.Get("/admin/resources/")
		if p.Status != http.StatusOK {
			t.Fatalf("GET: %d %s", p.Status, p.Body)
		}
		for _, want := range []string{`id="resource-api_token"`, "built-in", `id="resource-billing"`, "the configuration file",
			"<code>billing:read</code>", "Money &amp; invoices"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the registry page lacks %q", want)
			}
		}

		form := url.Values{"policy_id": {"photos"}, "methods": {"GET, POST"}, "description": {"Photos <img src=x>"},
			"audience": {"https://photos.example"}, "oauth2_access": {"true"}}
		p = adminPost(admin, "/admin/resources/", "/admin/resources/", form)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("register: %d %s", p.Status, p.Body)
		}
		p = admin.Get(p.Header.Get("Location"))
		if !strings.Contains(p.Body, "<code>photos</code> was registered") || !strings.Contains(p.Body, "<code>photos:write</code>") ||
			!strings.Contains(p.Body, "Photos &lt;img src=x&gt;") || !strings.Contains(p.Body, `id="delete-photos"`) {
			t.Errorf("after registering: %s", p.Body)
		}
		if !strings.Contains(p.Body, "<td>"+testenv.AdminUsername+"</td>") {
			t.Error("the registration's owner is not shown as the admin")
		}
		if api := admin.Get("/api/resources/photos/"); api.Status != http.StatusOK || !strings.Contains(api.Body, `"registered"`) {
			t.Errorf("the API does not serve the registration: %d %s", api.Status, api.Body)
		}

		for _, c := range []struct {
			form   url.Values
			status int
			msg    string
		}{
			{url.Values{"policy_id": {"albums"}, "methods": {"get"}}, http.StatusBadRequest, "is not an upper-case HTTP method"},
			{url.Values{"policy_id": {"albums"}}, http.StatusBadRequest, "This field is required."},
			{url.Values{"policy_id": {"api_token"}, "methods": {"GET"}}, http.StatusConflict, "cannot be changed at run time"},
			{url.Values{"policy_id": {"albums"}, "methods": {"GET"}, "scope_name": {"photos"}}, http.StatusConflict, "is already declared by the resource"},
			{url.Values{"policy_id": {"Bad ID!"}, "methods": {"GET"}}, http.StatusBadRequest, ""},
			{url.Values{"policy_id": {"albums"}, "methods": {"GET"}, "api_token_access": {"perhaps"}}, http.StatusBadRequest, "Must be true or false."},
		} {
			p := adminPost(admin, "/admin/resources/", "/admin/resources/", c.form)
			if p.Status != c.status || !strings.Contains(p.Body, htmlText(c.msg)) || !strings.Contains(p.Body, `role="alert"`) {
				t.Errorf("register %v: %d, want %d with %q in place: %s", c.form, p.Status, c.status, c.msg, p.Body)
			}
		}
		if api := admin.Get("/api/resources/albums/"); api.Status != http.StatusNotFound {
			t.Errorf("a refused registration was made: %d", api.Status)
		}

		user := e.Browser()
		user.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := user.Get("/admin/resources/"); p.Status != http.StatusForbidden {
			t.Errorf("non-admin GET: %d", p.Status)
		}
		for path, f := range map[string]url.Values{"/admin/resources/": {"policy_id": {"evil"}, "methods": {"GET"}}, "/admin/resources/photos/delete": {}} {
			if p := adminPost(user, "/account/", path, f); p.Status != http.StatusForbidden {
				t.Errorf("non-admin POST %s: %d, want 403", path, p.Status)
			}
			f.Set("csrf_token", "forged")
			if p := admin.Post(path, f); p.Status != http.StatusForbidden {
				t.Errorf("forged POST %s: %d, want 403", path, p.Status)
			}
		}
		if api := admin.Get("/api/resources/photos/"); api.Status != http.StatusOK {
			t.Fatalf("a refused delete removed photos: %d", api.Status)
		}

		for _, c := range []struct {
			id     string
			status int
		}{{"api_token", http.StatusConflict}, {"billing", http.StatusConflict}, {"nothing", http.StatusNotFound}} {
			if p := adminPost(admin, "/admin/resources/", "/admin/resources/"+c.id+"/delete", url.Values{}); p.Status != c.status {
				t.Errorf("delete %s: %d, want %d", c.id, p.Status, c.status)
			}
		}
		p = adminPost(admin, "/admin/resources/", "/admin/resources/photos/delete", url.Values{})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("delete photos: %d %s", p.Status, p.Body)
		}
		if p := admin.Get("/admin/resources/"); strings.Contains(p.Body, `id="resource-photos"`) {
			t.Error("the removed resource is still listed")
		}
		if api := admin.Get("/api/resources/photos/"); api.Status != http.StatusNotFound {
			t.Errorf("the API still serves the removed resource: %d", api.Status)
		}
	}, testenv.Config(func(c *configs.Config) {
		c.Resources = append(c.Resources, configs.Resource{Name: "billing", Methods: []string{"GET"}, Description: "Money & invoices"})
	}))
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;").Replace(s)
}
