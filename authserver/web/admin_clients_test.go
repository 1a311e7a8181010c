package web_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/testenv"
)

var (
	clientIDRE     = regexp.MustCompile(`id="client-id" value="([^"]+)"`)
	clientSecretRE = regexp.MustCompile(`id="client-secret" value="([^"]+)"`)
)

// shownSecret returns the client_id and secret a page showed once ("" when
// none); the secret joins the values the log must never hold.
func shownSecret(e *testenv.Env, p testenv.Page) (id, secret string) {
	if m := clientIDRE.FindStringSubmatch(p.Body); m != nil {
		id = html.UnescapeString(m[1])
	}
	if m := clientSecretRE.FindStringSubmatch(p.Body); m != nil {
		secret = html.UnescapeString(m[1])
		e.Logs.Secret(secret)
	}
	return id, secret
}

// clientCredentials asks the token endpoint for a client_credentials token
// with HTTP Basic authentication and returns the status.
func clientCredentials(e *testenv.Env, id, secret string) int {
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return e.Browser().Do(http.MethodPost, authserver.PathToken, url.Values{"grant_type": {"client_credentials"}},
		http.Header{"Authorization": req.Header["Authorization"]}).Status
}

// auditActor returns the actor of the newest event kind about client id,
// failing when there is none.
func auditActor(t *testing.T, e *testenv.Env, kind, id string) int64 {
	t.Helper()
	evs, err := audit.List(context.Background(), e.App.DB, audit.Filter{Kind: kind, SubjectType: "oauth_client", SubjectID: id, NewestFirst: true, Limit: 1})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no %s event for %s (%v)", kind, id, err)
	}
	if evs[0].ActorUserID == nil {
		return 0
	}
	return *evs[0].ActorUserID
}

func adminBrowser(e *testenv.Env) *testenv.Browser {
	b := e.Browser()
	b.SignIn(testenv.AdminUsername, testenv.AdminPassword)
	return b
}

// TestAdminClientRegister: the register form offers the registry's scopes
// by resource and the grant types; a confidential client is registered
// through the authorization server's CreateClient (owner and audit actor
// the admin), its secret shown once on a no-store page and working at the
// token endpoint; the registry's refusal is shown in place, worded as the
// API words it, with the form kept; a public client gets no secret.
func TestAdminClientRegister(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		b := adminBrowser(e)
		form := b.Get("/admin/clients/new")
		if form.Status != http.StatusOK {
			t.Fatalf("form: %d %s", form.Status, form.Body)
		}
		for _, want := range []string{`name="scopes" value="user:read"`, `<legend>`, `value="client_credentials"`,
			`value="urn:ietf:params:oauth:grant-type:device_code"`, `aria-current="page">Clients</a>`} {
			if !strings.Contains(form.Body, want) {
				t.Errorf("register form lacks %s", want)
			}
		}
		csrf := form.Hidden().Get("csrf_token")

		// Refused by the registry: message in place, as the API words it.
		bad := url.Values{"csrf_token": {csrf}, "name": {"Reporter"}, "client_type": {"confidential"},
			"redirect_uris": {"http://reporter.example/cb"}, "grant_types": {"authorization_code"}, "scopes": {"user:read"}}
		p := b.Post("/admin/clients/new", bad)
		_, _, apiErr := e.App.OAuth.CreateClient(context.Background(), authserver.ClientSpec{Name: "Reporter",
			RedirectURIs: []string{"http://reporter.example/cb"}, GrantTypes: []string{"authorization_code"}})
		msg := strings.TrimPrefix(apiErr.Error(), authserver.ErrInvalidClientMetadata.Error()+": ")
		if p.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(p.Body), msg[1:]) ||
			!strings.Contains(p.Body, `value="Reporter"`) || !strings.Contains(p.Body, `id="form-error"`) {
			t.Fatalf("bad redirect URI: %d, want 400 with %q in place and the form kept: %s", p.Status, msg, p.Body)
		}
		if !strings.Contains(p.Body, `value="user:read" id="scope-`) || !regexp.MustCompile(`value="user:read" id="scope-\d+" checked`).MatchString(p.Body) {
			t.Error("the ticked scope was not kept")
		}
		if bad.Set("scopes", "no-such:scope"); b.Post("/admin/clients/new", bad).Status != http.StatusBadRequest {
			t.Error("an unknown scope was not refused")
		}

		// A confidential client with client_credentials.
		p = b.Post("/admin/clients/new", url.Values{"csrf_token": {csrf}, "name": {"Nightly report"}, "client_type": {"confidential"},
			"grant_types": {"client_credentials"}, "scopes": {"user:read", "session:read"}})
		if p.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", p.Status, p.Body)
		}
		id, secret := shownSecret(e, p)
		if id == "" || secret == "" {
			t.Fatalf("the page does not show the client_id and the secret: %s", p.Body)
		}
		if cc := p.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("secret page Cache-Control %q, want no-store", cc)
		}
		cl, err := e.App.OAuth.GetClient(context.Background(), id)
		if err != nil || cl.Public || cl.OwnerID != e.Admin.ID || strings.Join(cl.Scopes, " ") != "session:read user:read" ||
			strings.Join(cl.GrantTypes, " ") != "client_credentials" {
			t.Fatalf("stored client %+v (%v)", cl, err)
		}
		if a := auditActor(t, e, "client.created", id); a != e.Admin.ID {
			t.Errorf("client.created actor %d, want the admin %d", a, e.Admin.ID)
		}
		if st := clientCredentials(e, id, secret); st != http.StatusOK {
			t.Fatalf("token endpoint with the shown secret: %d", st)
		}
		list := b.Get("/admin/clients/")
		if list.Status != http.StatusOK || !strings.Contains(list.Body, "Nightly report") || !strings.Contains(list.Body, id) ||
			!strings.Contains(list.Body, "Client credentials") || strings.Contains(list.Body, secret) {
			t.Fatalf("list: %d %s", list.Status, list.Body)
		}

		// A public client: no secret, back to the list.
		p = b.Post("/admin/clients/new", url.Values{"csrf_token": {csrf}, "name": {"Phone app"}, "client_type": {"public"},
			"redirect_uris": {"com.example.phone:/cb\r\nhttp://127.0.0.1/cb"}})
		if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("notice") != "registered" {
			t.Fatalf("public client: %d %s", p.Status, p.Body)
		}
		pub, err := e.App.OAuth.GetClient(context.Background(), p.Location(t).Query().Get("client_id"))
		if err != nil || !pub.Public || len(pub.RedirectURIs) != 2 || !pub.AllowsGrant(authserver.GrantAuthorizationCode) {
			t.Fatalf("public client %+v (%v)", pub, err)
		}
		if got := b.Get(p.Header.Get("Location")).Body; !strings.Contains(got, "It has no secret") {
			t.Error("no notice after registering a public client")
		}
	})
}

// TestAdminClientActions: rotate (new secret shown once, the old one
// refused at once), disable (tokens refused, badge) and enable, delete
// only after the confirmation box; each through the authorization server
// with the admin as the audit actor.
func TestAdminClientActions(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		cl, secret := e.RegisterClient(authserver.ClientSpec{Name: "Backup job", GrantTypes: []string{"client_credentials"}})
		b := adminBrowser(e)
		csrf := b.CSRF("/admin/clients/")
		post := func(action string, extra url.Values) testenv.Page {
			f := url.Values{"csrf_token": {csrf}}
			for k, v := range extra {
				f[k] = v
			}
			return b.Post("/admin/clients/"+cl.ID+"/"+action, f)
		}

		p := post("rotate-secret", nil)
		_, rotated := shownSecret(e, p)
		if p.Status != http.StatusOK || rotated == "" || rotated == secret || !strings.Contains(p.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("rotate: %d %s", p.Status, p.Body)
		}
		if st := clientCredentials(e, cl.ID, secret); st != http.StatusUnauthorized {
			t.Errorf("old secret after rotation: %d, want 401", st)
		}
		if st := clientCredentials(e, cl.ID, rotated); st != http.StatusOK {
			t.Errorf("new secret: %d, want 200", st)
		}
		if a := auditActor(t, e, "client.secret_rotated", cl.ID); a != e.Admin.ID {
			t.Errorf("client.secret_rotated actor %d", a)
		}

		p = post("disable", nil)
		if p.Status != http.StatusSeeOther || p.Location(t).Query().Get("notice") != "disabled" {
			t.Fatalf("disable: %d %s", p.Status, p.Body)
		}
		if st := clientCredentials(e, cl.ID, rotated); st != http.StatusUnauthorized {
			t.Errorf("disabled client at the token endpoint: %d, want 401", st)
		}
		if list := b.Get(p.Header.Get("Location")).Body; !strings.Contains(list, `badge invalid">disabled`) || !strings.Contains(list, `id="enable-`+cl.ID) {
			t.Errorf("list lacks the disabled badge or the enable button: %s", list)
		}
		if a := auditActor(t, e, "client.disabled", cl.ID); a != e.Admin.ID {
			t.Errorf("client.disabled actor %d", a)
		}
		if p = post("enable", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("enable: %d", p.Status)
		}
		if st := clientCredentials(e, cl.ID, rotated); st != http.StatusOK {
			t.Errorf("enabled client: %d, want 200", st)
		}

		if p = b.Get("/admin/clients/" + cl.ID + "/delete"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="delete-confirm"`) {
			t.Fatalf("delete confirmation page: %d %s", p.Status, p.Body)
		}
		if p = post("delete", nil); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Tick the box") {
			t.Fatalf("delete without confirming: %d %s", p.Status, p.Body)
		}
		if _, err := e.App.OAuth.GetClient(context.Background(), cl.ID); err != nil {
			t.Fatalf("unconfirmed delete deleted the client: %v", err)
		}
		if p = post("delete", url.Values{"confirm": {"yes"}}); p.Status != http.StatusSeeOther || p.Location(t).Query().Get("notice") != "deleted" {
			t.Fatalf("delete: %d %s", p.Status, p.Body)
		}
		if _, err := e.App.OAuth.GetClient(context.Background(), cl.ID); !errors.Is(err, authserver.ErrClientNotFound) {
			t.Fatalf("client after delete: %v", err)
		}
		if a := auditActor(t, e, "client.deleted", cl.ID); a != e.Admin.ID {
			t.Errorf("client.deleted actor %d", a)
		}
		if p = post("rotate-secret", nil); p.Status != http.StatusNotFound {
			t.Errorf("rotate a deleted client: %d, want 404", p.Status)
		}
		if p = b.Get("/admin/clients/" + cl.ID + "/delete"); p.Status != http.StatusNotFound {
			t.Errorf("delete page of a deleted client: %d, want 404", p.Status)
		}

		// A public client has no secret to rotate: the registry's message, 400.
		pub, _ := e.RegisterClient(authserver.ClientSpec{Name: "SPA", Public: true, RedirectURIs: []string{"https://spa.example/cb"}})
		if p = b.Post("/admin/clients/"+pub.ID+"/rotate-secret", url.Values{"csrf_token": {csrf}}); p.Status != http.StatusBadRequest {
			t.Errorf("rotate a public client: %d, want 400: %s", p.Status, p.Body)
		}
	})
}

// TestAdminClientRefusals: every admin write refuses a signed-in non-admin
// with 403 (with her own valid CSRF token), an admin's form without the
// CSRF token or from another site with 403, and a visitor with 303 to the
// login page; nothing changes.
func TestAdminClientRefusals(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		cl, _ := e.RegisterClient(authserver.ClientSpec{Name: "Target", GrantTypes: []string{"client_credentials"}})
		create := url.Values{"name": {"Sneaky"}, "client_type": {"confidential"}, "grant_types": {"client_credentials"}}
		writes := []struct {
			path string
			form url.Values
		}{
			{"/admin/clients/new", create},
			{"/admin/clients/" + cl.ID + "/rotate-secret", url.Values{}},
			{"/admin/clients/" + cl.ID + "/disable", url.Values{}},
			{"/admin/clients/" + cl.ID + "/delete", url.Values{"confirm": {"yes"}}},
			{"/admin/keys/rotate", url.Values{"purpose": {"access"}}},
		}
		keysBefore, err := e.App.OAuth.Keys.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		with := func(f url.Values, csrf string) url.Values {
			out := url.Values{"csrf_token": {csrf}}
			for k, v := range f {
				out[k] = v
			}
			return out
		}

		user := e.Browser()
		user.SignIn(testenv.UserUsername, testenv.UserPassword)
		userCSRF := user.CSRF("/account/")
		for _, path := range []string{"/admin/clients/", "/admin/clients/new", "/admin/clients/" + cl.ID + "/delete", "/admin/keys/"} {
			if p := user.Get(path); p.Status != http.StatusForbidden {
				t.Errorf("non-admin GET %s: %d, want 403", path, p.Status)
			}
		}
		admin := adminBrowser(e)
		adminCSRF := admin.CSRF("/admin/clients/")
		anon := e.Browser()
		for _, w := range writes {
			if p := user.Post(w.path, with(w.form, userCSRF)); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Administrators only") {
				t.Errorf("non-admin POST %s: %d, want 403", w.path, p.Status)
			}
			if p := admin.Post(w.path, with(w.form, "")); p.Status != http.StatusForbidden {
				t.Errorf("admin POST %s without the CSRF token: %d, want 403", w.path, p.Status)
			}
			if p := admin.Post(w.path, with(w.form, userCSRF)); p.Status != http.StatusForbidden {
				t.Errorf("admin POST %s with another session's CSRF token: %d, want 403", w.path, p.Status)
			}
			if p := admin.Do(http.MethodPost, w.path, with(w.form, adminCSRF), http.Header{"Sec-Fetch-Site": {"cross-site"}}); p.Status != http.StatusForbidden {
				t.Errorf("cross-site admin POST %s: %d, want 403", w.path, p.Status)
			}
			if p := anon.Post(w.path, w.form); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
				t.Errorf("visitor POST %s: %d, want 303 to /login", w.path, p.Status)
			}
		}
		list, err := e.App.OAuth.ListClients(context.Background())
		if err != nil || len(list) != 1 || list[0].Disabled() || list[0].SecretRotatedAt != nil {
			t.Fatalf("refused requests changed the clients: %+v (%v)", list, err)
		}
		keysAfter, err := e.App.OAuth.Keys.List(context.Background())
		if err != nil || len(keysAfter) != len(keysBefore) {
			t.Fatalf("refused requests added a key: %d keys, had %d (%v)", len(keysAfter), len(keysBefore), err)
		}
		if p := anon.Get("/admin/clients/"); p.Status != http.StatusSeeOther || p.Location(t).Query().Get("return_to") != "/admin/clients/" {
			t.Errorf("visitor GET /admin/clients/: %d, want 303 to the login page and back", p.Status)
		}
		if p := anon.Get("/admin/keys/"); p.Status != http.StatusSeeOther || p.Location(t).Query().Get("return_to") != "/admin/keys/" {
			t.Errorf("visitor GET /admin/keys/: %d, want 303 to the login page and back", p.Status)
		}
	})
}

// TestAdminFormsLabelled: every visible field of the clients and keys
// pages (list, register form with a refusal, secret page, delete
// confirmation) has a label, and each page has the skip link's target.
func TestAdminFormsLabelled(t *testing.T) {
	e := testenv.New(t)
	cl, _ := e.RegisterClient(authserver.ClientSpec{Name: "Labelled", GrantTypes: []string{"client_credentials"}})
	b := adminBrowser(e)
	pages := map[string]string{}
	for _, p := range []string{"/admin/clients/", "/admin/clients/new", "/admin/clients/" + cl.ID + "/delete", "/admin/keys/"} {
		pages[p] = b.Get(p).Body
	}
	csrf := b.CSRF("/admin/clients/")
	pages["refused"] = b.Post("/admin/clients/new", url.Values{"csrf_token": {csrf}, "client_type": {"public"}}).Body
	secretPage := b.Post("/admin/clients/"+cl.ID+"/rotate-secret", url.Values{"csrf_token": {csrf}})
	shownSecret(e, secretPage)
	pages["secret"] = secretPage.Body
	for path, body := range pages {
		if !strings.Contains(body, `id="content"`) {
			t.Errorf("%s: no main landmark for the skip link", path)
		}
		if bad := unlabelled(body); len(bad) > 0 {
			t.Errorf("%s: fields without a label: %v", path, bad)
		}
	}
}
