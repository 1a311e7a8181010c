package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestResourceServerWiring: through the real router, only a client flagged
// resource_server registers resources with its resource:write token, and a
// resource configured with an audience gets tokens carrying it. A bad
// configured audience stops start-up.
func TestResourceServerWiring(t *testing.T) {
	ctx := context.Background()
	cfg, err := configs.Load("", nil, configs.Overrides{"database.url": dbtest.SQLiteDSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resources = []configs.Resource{{Name: "billing", Methods: []string{"GET"}, Audience: "https://billing.example"}}
	a, err := app.New(ctx, cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	do := func(method, path string, form url.Values, set func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		set(req)
		w := httptest.NewRecorder()
		a.Router.ServeHTTP(w, req)
		return w
	}
	token := func(rs bool, scope string) string {
		t.Helper()
		c, secret, err := a.OAuth.CreateClient(ctx, authserver.ClientSpec{Name: "rs", ResourceServer: rs,
			GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: strings.Fields(scope)})
		if err != nil {
			t.Fatal(err)
		}
		w := do("POST", authserver.PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}},
			func(r *http.Request) { r.SetBasicAuth(c.ID, secret) })
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.AccessToken == "" {
			t.Fatalf("token: %d %s", w.Code, w.Body)
		}
		return body.AccessToken
	}
	register := func(tok string) int {
		return do("PUT", "/api/resources/photos/", url.Values{"methods": {"GET"}, "audience": {"https://photos.example"}},
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }).Code
	}
	if code := register(token(false, "resource:write")); code != http.StatusForbidden {
		t.Fatalf("a client that is not a resource server registered: %d", code)
	}
	if code := register(token(true, "resource:write")); code != http.StatusCreated {
		t.Fatalf("resource server: %d", code)
	}
	if got := a.Scopes.ScopeAudience("photos:read"); got != "https://photos.example" {
		t.Fatalf("photos audience = %q", got)
	}
	parts := strings.Split(token(false, "billing:read"), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), `"aud":["https://billing.example"]`) {
		t.Fatalf("billing token claims %s", payload)
	}

	cfg.Resources[0].Audience = "http://billing.example"
	if _, err := app.New(ctx, cfg, nil, app.Options{}); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("http audience off loopback: %v", err)
	}
}
