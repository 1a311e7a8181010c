package mgmtapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/tokens"
)

// TestOAuthAppsAPI: the admin-only management resource for clients.
func TestOAuthAppsAPI(t *testing.T) {
	eachApps(t, func(t *testing.T, h *appsHarness) {
		ctx := context.Background()

		t.Run("who may call it", func(t *testing.T) {
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps, "", ""); r.Status != http.StatusUnauthorized {
				t.Fatalf("anonymous: %d", r.Status)
			}
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps, "", "alice"); r.Status != http.StatusForbidden {
				t.Fatalf("non-admin: %d %s", r.Status, r.Raw)
			}
			_, raw, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: h.bob})
			if err != nil {
				t.Fatal(err)
			}
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps, "", "token "+raw); r.Status == http.StatusOK {
				t.Fatalf("an admin's API token reached client management: %d", r.Status)
			}
			svc, secret := h.serviceClient("test:read")
			at := h.token(url.Values{"grant_type": {"client_credentials"}}, svc.ID, secret).str("access_token")
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps, "", "Bearer "+at); r.Status == http.StatusOK {
				t.Fatalf("an OAuth2 token reached client management: %d", r.Status)
			}
		})

		var id, secret string
		t.Run("create", func(t *testing.T) {
			r := h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"Dash","redirect_uris":["https://dash.example.com/cb"],"scopes":"test:read test:write"}`, "bob")
			app, _ := r.Body["oauth_app"].(map[string]any)
			if r.Status != http.StatusCreated || app == nil {
				t.Fatalf("create: %d %s", r.Status, r.Raw)
			}
			id, _ = app["client_id"].(string)
			secret, _ = app["client_secret"].(string)
			if !tokenformat.ValidOpaque(secret, authserver.PrefixClientSecret) || app["public"] != false {
				t.Fatalf("created %s", r.Raw)
			}
			bad := h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"x","redirect_uris":["http://evil.example.com/cb"]}`, "bob")
			if bad.Status != http.StatusBadRequest {
				t.Fatalf("invalid redirect URI: %d %s", bad.Status, bad.Raw)
			}
			bad = h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"x","scopes":["nope:read"]}`, "bob")
			if bad.Status != http.StatusBadRequest {
				t.Fatalf("unknown scope: %d %s", bad.Status, bad.Raw)
			}
		})
		t.Run("list and get never show the secret", func(t *testing.T) {
			r := h.appsRequest("GET", mgmtapi.PathOAuthApps, "", "bob")
			if r.Status != http.StatusOK || strings.Contains(r.Raw, secret) || !strings.Contains(r.Raw, id) {
				t.Fatalf("list: %d %s", r.Status, r.Raw)
			}
			r = h.appsRequest("GET", mgmtapi.PathOAuthApps+id+"/", "", "bob")
			if r.Status != http.StatusOK || strings.Contains(r.Raw, secret) {
				t.Fatalf("get: %d %s", r.Status, r.Raw)
			}
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps+"agci_missing/", "", "bob"); r.Status != http.StatusNotFound {
				t.Fatalf("missing: %d", r.Status)
			}
		})
		t.Run("update and rotate", func(t *testing.T) {
			r := h.appsRequest("PUT", mgmtapi.PathOAuthApps+id+"/", `{"name":"Dashboard","scopes":["test:read"],"rotate_secret":true}`, "bob")
			app, _ := r.Body["oauth_app"].(map[string]any)
			if r.Status != http.StatusOK || app["name"] != "Dashboard" {
				t.Fatalf("update: %d %s", r.Status, r.Raw)
			}
			newSecret, _ := app["client_secret"].(string)
			cl, _ := h.s.GetClient(ctx, id)
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
			tok := h.tokens(&authserver.Client{ID: id, RedirectURIs: []string{"https://dash.example.com/cb"}}, secret, "test:read")
			r := h.appsRequest("PUT", mgmtapi.PathOAuthApps+id+"/", `{"disabled":true}`, "bob")
			if r.Status != http.StatusOK || !strings.Contains(r.Raw, `"disabled":true`) {
				t.Fatalf("disable: %d %s", r.Status, r.Raw)
			}
			if h.active(tok.str("access_token")) {
				t.Fatal("a disabled client's token is active")
			}
			if rr := h.api("Bearer " + tok.str("access_token")); rr.Status != http.StatusUnauthorized {
				t.Fatalf("API accepted a disabled client's token: %d", rr.Status)
			}
			expectError(t, h.refresh(&authserver.Client{ID: id}, secret, tok.str("refresh_token")), http.StatusUnauthorized, "invalid_client")
		})
		t.Run("delete", func(t *testing.T) {
			if r := h.appsRequest("DELETE", mgmtapi.PathOAuthApps+id+"/", "", "bob"); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Raw)
			}
			if r := h.appsRequest("GET", mgmtapi.PathOAuthApps+id+"/", "", "bob"); r.Status != http.StatusNotFound {
				t.Fatalf("after delete: %d", r.Status)
			}
		})
	})
}

// TestOAuthAppsResourceServer: resource_server on create and update, shown
// in the JSON; a public client cannot be one.
func TestOAuthAppsResourceServer(t *testing.T) {
	eachApps(t, func(t *testing.T, h *appsHarness) {
		r := h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"Photos","grant_types":["client_credentials"],"resource_server":true}`, "bob")
		app, _ := r.Body["oauth_app"].(map[string]any)
		if r.Status != http.StatusCreated || app["resource_server"] != true {
			t.Fatalf("create: %d %s", r.Status, r.Raw)
		}
		id, _ := app["client_id"].(string)
		if ok, err := h.s.IsResourceServer(context.Background(), id); err != nil || !ok {
			t.Fatalf("IsResourceServer = %v, %v", ok, err)
		}
		r = h.appsRequest("PUT", mgmtapi.PathOAuthApps+id+"/", `{"resource_server":false}`, "bob")
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
			if r := h.appsRequest("POST", mgmtapi.PathOAuthApps, body, "bob"); r.Status != http.StatusBadRequest {
				t.Fatalf("%s: %d %s", body, r.Status, r.Raw)
			}
		}
	})
}

// TestOAuthAppsAuditActor: through /api/oauth-apps/ the admin is the
// actor of every client event.
func TestOAuthAppsAuditActor(t *testing.T) {
	eachApps(t, func(t *testing.T, h *appsHarness) {
		var (
			id      string
			secrets []string
		)
		appSecret := func(r response) string {
			app, _ := r.Body["oauth_app"].(map[string]any)
			s, _ := app["client_secret"].(string)
			return s
		}
		steps := []struct {
			name         string
			method, body string
			status       int
			want         wantEvent
		}{
			{"create", "POST", `{"name":"Svc","grant_types":["client_credentials"],"scopes":["test:read"]}`, http.StatusCreated,
				wantEvent{kind: authserver.AuditClientCreated, data: fmt.Sprintf(`{"name":"Svc","public":false,"owner_id":%d,"grant_types":["client_credentials"],"scopes":["test:read"]}`, h.bob.ID)}},
			{"rename", "PUT", `{"name":"Svc 2"}`, http.StatusOK,
				wantEvent{kind: authserver.AuditClientUpdated, data: `{"name":"Svc 2","changed":["name"],"from":{"name":"Svc"},"to":{"name":"Svc 2"}}`}},
			{"rotate secret", "PUT", `{"rotate_secret":true}`, http.StatusOK,
				wantEvent{kind: authserver.AuditClientSecretRotated, data: `{"name":"Svc 2","changed":["secret"]}`}},
			{"disable", "PUT", `{"disabled":true}`, http.StatusOK,
				wantEvent{kind: authserver.AuditClientDisabled, data: `{"name":"Svc 2","changed":["disabled"]}`}},
			{"enable", "PUT", `{"disabled":false}`, http.StatusOK,
				wantEvent{kind: authserver.AuditClientEnabled, data: `{"name":"Svc 2","changed":["disabled"]}`}},
			{"delete", "DELETE", "", http.StatusNoContent,
				wantEvent{kind: authserver.AuditClientDeleted, data: `{"name":"Svc 2"}`}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				since := h.lastAuditID()
				path := mgmtapi.PathOAuthApps
				if id != "" {
					path += id + "/"
				}
				r := h.appsRequest(st.method, path, st.body, "bob")
				if r.Status != st.status {
					t.Fatalf("%s %s: %d %s", st.method, path, r.Status, r.Raw)
				}
				if st.name == "create" {
					app, _ := r.Body["oauth_app"].(map[string]any)
					id, _ = app["client_id"].(string)
				}
				if s := appSecret(r); s != "" {
					secrets = append(secrets, s)
				}
				w := st.want
				w.subjectType, w.subjectID, w.actor = authserver.AuditSubjectClient, id, h.bob.ID
				h.expectOneEvent(t, since, w)
			})
		}
		t.Run("a refused request records nothing", func(t *testing.T) {
			since := h.lastAuditID()
			if r := h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"x","redirect_uris":["http://evil.example.com/cb"]}`, "bob"); r.Status != http.StatusBadRequest {
				t.Fatalf("invalid create: %d %s", r.Status, r.Raw)
			}
			if r := h.appsRequest("POST", mgmtapi.PathOAuthApps, `{"name":"y","grant_types":["client_credentials"]}`, "alice"); r.Status != http.StatusForbidden {
				t.Fatalf("non-admin create: %d %s", r.Status, r.Raw)
			}
			if n := h.lastAuditID(); n != since {
				t.Fatalf("audit events after %d, up to %d", since, n)
			}
		})
		t.Run("no secret in the log", func(t *testing.T) {
			if len(secrets) != 2 {
				t.Fatalf("collected %d secrets, want 2 (created, rotated)", len(secrets))
			}
			h.expectNoSecrets(t, secrets...)
		})
	})
}

// TestOAuthAppsServerChosenClientID: clients cannot choose a client_id
// that could be confused with an end user; the management API ignores a
// client_id in the request (the ID's shape is checked in authserver,
// TestChecklist_ServerChosenClientIDs).
func TestOAuthAppsServerChosenClientID(t *testing.T) {
	eachApps(t, func(t *testing.T, h *appsHarness) {
		r := h.appsRequest(http.MethodPost, mgmtapi.PathOAuthApps, `{"name":"x","client_id":"1","grant_types":["client_credentials"]}`, "bob")
		app, _ := r.Body["oauth_app"].(map[string]any)
		if r.Status != http.StatusCreated || app["client_id"] == "1" {
			t.Fatalf("create with chosen ID: %d %s", r.Status, r.Raw)
		}
	})
}
