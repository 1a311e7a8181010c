package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestAppMountsManagementAPI: the composition root mounts the whole
// management API, /api/oauth-apps/ included, on its router, and the
// OAuth-apps resource manages the authorization server's clients.
func TestAppMountsManagementAPI(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": dbtest.SQLiteDSN, "postgres": dbtest.PostgresDSN} {
		t.Run(name, func(t *testing.T) {
			cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dsn(t), "auth.enable_basic": true})
			if err != nil {
				t.Fatal(err)
			}
			a, err := app.New(context.Background(), cfg, nil, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			const password = "an admin password"
			if _, err := a.Users.Create(context.Background(), users.NewUser{Username: "root", Password: password, IsAdmin: true}); err != nil {
				t.Fatal(err)
			}
			call := func(method, path, body string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(method, path, strings.NewReader(body))
				req.SetBasicAuth("root", password)
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				w := httptest.NewRecorder()
				a.Router.ServeHTTP(w, req)
				return w
			}
			if w := call(http.MethodGet, "/api/users/", ""); w.Code != http.StatusOK {
				t.Fatalf("GET /api/users/: %d %s", w.Code, w.Body)
			}
			w := call(http.MethodPost, "/api/oauth-apps/", `{"name":"Svc","grant_types":["client_credentials"]}`)
			if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"client_secret"`) {
				t.Fatalf("POST /api/oauth-apps/: %d %s", w.Code, w.Body)
			}
			list, err := a.OAuth.ListClients(context.Background())
			if err != nil || len(list) != 1 || list[0].Name != "Svc" {
				t.Fatalf("clients after the API's create: %v, %v", list, err)
			}
			if w := call(http.MethodGet, "/api/oauth-apps/"+list[0].ID+"/", ""); w.Code != http.StatusOK {
				t.Fatalf("GET /api/oauth-apps/{id}/: %d %s", w.Code, w.Body)
			}
		})
	}
}
