package authserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/tokens"
)

// appsRequest calls the management API as username (HTTP Basic), or with
// the given Authorization header when username contains a space.
func (h *harness) appsRequest(method, path, body, username string) response {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.Contains(username, " "):
		req.Header.Set("Authorization", username)
	case username != "":
		req.SetBasicAuth(username, testPassword)
	}
	return h.do(req)
}

// TestOAuthAppsAPI: the admin-only management resource for clients.
func TestOAuthAppsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, nil)
		ctx := context.Background()

		t.Run("who may call it", func(t *testing.T) {
			if r := h.appsRequest("GET", PathOAuthApps, "", ""); r.Status != http.StatusUnauthorized {
				t.Fatalf("anonymous: %d", r.Status)
			}
			if r := h.appsRequest("GET", PathOAuthApps, "", "alice"); r.Status != http.StatusForbidden {
				t.Fatalf("non-admin: %d %s", r.Status, r.Raw)
			}
			_, raw, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: h.bob})
			if err != nil {
				t.Fatal(err)
			}
			if r := h.appsRequest("GET", PathOAuthApps, "", "token "+raw); r.Status == http.StatusOK {
				t.Fatalf("an admin's API token reached client management: %d", r.Status)
			}
			svc, secret := h.serviceClient("test:read")
			at := h.token(url.Values{"grant_type": {"client_credentials"}}, svc.ID, secret).str("access_token")
			if r := h.appsRequest("GET", PathOAuthApps, "", "Bearer "+at); r.Status == http.StatusOK {
				t.Fatalf("an OAuth2 token reached client management: %d", r.Status)
			}
		})

		var id, secret string
		t.Run("create", func(t *testing.T) {
			r := h.appsRequest("POST", PathOAuthApps, `{"name":"Dash","redirect_uris":["https://dash.example.com/cb"],"scopes":"test:read test:write"}`, "bob")
			app, _ := r.Body["oauth_app"].(map[string]any)
			if r.Status != http.StatusCreated || app == nil {
				t.Fatalf("create: %d %s", r.Status, r.Raw)
			}
			id, _ = app["client_id"].(string)
			secret, _ = app["client_secret"].(string)
			if !wellFormed(PrefixClientSecret, secret) || app["public"] != false {
				t.Fatalf("created %s", r.Raw)
			}
			bad := h.appsRequest("POST", PathOAuthApps, `{"name":"x","redirect_uris":["http://evil.example.com/cb"]}`, "bob")
			if bad.Status != http.StatusBadRequest {
				t.Fatalf("invalid redirect URI: %d %s", bad.Status, bad.Raw)
			}
			bad = h.appsRequest("POST", PathOAuthApps, `{"name":"x","scopes":["nope:read"]}`, "bob")
			if bad.Status != http.StatusBadRequest {
				t.Fatalf("unknown scope: %d %s", bad.Status, bad.Raw)
			}
		})
		t.Run("list and get never show the secret", func(t *testing.T) {
			r := h.appsRequest("GET", PathOAuthApps, "", "bob")
			if r.Status != http.StatusOK || strings.Contains(r.Raw, secret) || !strings.Contains(r.Raw, id) {
				t.Fatalf("list: %d %s", r.Status, r.Raw)
			}
			r = h.appsRequest("GET", PathOAuthApps+id+"/", "", "bob")
			if r.Status != http.StatusOK || strings.Contains(r.Raw, secret) {
				t.Fatalf("get: %d %s", r.Status, r.Raw)
			}
			if r := h.appsRequest("GET", PathOAuthApps+"agci_missing/", "", "bob"); r.Status != http.StatusNotFound {
				t.Fatalf("missing: %d", r.Status)
			}
		})
		t.Run("update and rotate", func(t *testing.T) {
			r := h.appsRequest("PUT", PathOAuthApps+id+"/", `{"name":"Dashboard","scopes":["test:read"],"rotate_secret":true}`, "bob")
			app, _ := r.Body["oauth_app"].(map[string]any)
			if r.Status != http.StatusOK || app["name"] != "Dashboard" {
				t.Fatalf("update: %d %s", r.Status, r.Raw)
			}
			newSecret, _ := app["client_secret"].(string)
			cl, _ := h.s.Clients.GetClient(ctx, id)
			if newSecret == "" || newSecret == secret || !cl.VerifySecret(newSecret) || cl.VerifySecret(secret) {
				t.Fatal("rotation via the API")
			}
			var scopes []string
			b, _ := json.Marshal(app["scopes"])
			_ = json.Unmarshal(b, &scopes)
			if len(scopes) != 1 || scopes[0] != "test:read" {
				t.Fatalf("scopes %v", scopes)
			}
			secret = newSecret
		})
		t.Run("disable revokes tokens", func(t *testing.T) {
			tok := h.tokens(&Client{ID: id, RedirectURIs: []string{"https://dash.example.com/cb"}}, secret, "test:read")
			r := h.appsRequest("PUT", PathOAuthApps+id+"/", `{"disabled":true}`, "bob")
			if r.Status != http.StatusOK || !strings.Contains(r.Raw, `"disabled":true`) {
				t.Fatalf("disable: %d %s", r.Status, r.Raw)
			}
			if h.active(tok.str("access_token")) {
				t.Fatal("a disabled client's token is active")
			}
			if rr := h.api("Bearer " + tok.str("access_token")); rr.Status != http.StatusUnauthorized {
				t.Fatalf("API accepted a disabled client's token: %d", rr.Status)
			}
			expectError(t, h.refresh(&Client{ID: id}, secret, tok.str("refresh_token"), ""), http.StatusUnauthorized, "invalid_client")
		})
		t.Run("delete", func(t *testing.T) {
			if r := h.appsRequest("DELETE", PathOAuthApps+id+"/", "", "bob"); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Raw)
			}
			if r := h.appsRequest("GET", PathOAuthApps+id+"/", "", "bob"); r.Status != http.StatusNotFound {
				t.Fatalf("after delete: %d", r.Status)
			}
		})
	})
}

// TestOAuthAppsResourceServer: resource_server on create and update, shown
// in the JSON; a public client cannot be one.
func TestOAuthAppsResourceServer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, nil)
		r := h.appsRequest("POST", PathOAuthApps, `{"name":"Photos","grant_types":["client_credentials"],"resource_server":true}`, "bob")
		app, _ := r.Body["oauth_app"].(map[string]any)
		if r.Status != http.StatusCreated || app["resource_server"] != true {
			t.Fatalf("create: %d %s", r.Status, r.Raw)
		}
		id, _ := app["client_id"].(string)
		if ok, err := h.s.IsResourceServer(context.Background(), id); err != nil || !ok {
			t.Fatalf("IsResourceServer = %v, %v", ok, err)
		}
		r = h.appsRequest("PUT", PathOAuthApps+id+"/", `{"resource_server":false}`, "bob")
		if app, _ = r.Body["oauth_app"].(map[string]any); r.Status != http.StatusOK || app["resource_server"] != false {
			t.Fatalf("update: %d %s", r.Status, r.Raw)
		}
		if ok, _ := h.s.IsResourceServer(context.Background(), id); ok {
			t.Fatal("still a resource server")
		}
		for _, body := range []string{
			`{"name":"x","public":true,"redirect_uris":["http://127.0.0.1/cb"],"resource_server":true}`,
			`{"name":"x","grant_types":["client_credentials"],"resource_server":"maybe"}`,
		} {
			if r := h.appsRequest("POST", PathOAuthApps, body, "bob"); r.Status != http.StatusBadRequest {
				t.Fatalf("%s: %d %s", body, r.Status, r.Raw)
			}
		}
	})
}
