package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
)

// TestGuardAcceptsBearer: the Guard internal/app builds accepts the
// authorization server's access tokens, on the management API and on a
// resource mounted with a.Guard. It used to get the Bearer validator
// through a field set by an earlier wiring step, so a reordering silently
// turned Bearer off (every such request 401).
func TestGuardAcceptsBearer(t *testing.T) {
	a := newApp(t, dbtest.SQLiteDSN(t), nil)
	ctx := context.Background()
	c, secret, err := a.OAuth.CreateClient(ctx, authserver.ClientSpec{Name: "svc",
		GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: []string{"resource:read"}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", authserver.PathToken,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"resource:read"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ID, secret)
	w := httptest.NewRecorder()
	a.Router.ServeHTTP(w, req)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	bearer := http.Header{"Authorization": {"Bearer " + body.AccessToken}}

	if w := get(t, a.Router, "/api/resources/", bearer); w.Code != http.StatusOK {
		t.Fatalf("GET /api/resources/ with a Bearer token: %d %s", w.Code, w.Body)
	}
	if w := get(t, a.Router, "/api/resources/", nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("GET /api/resources/ without credentials: %d, want 401", w.Code)
	}

	r := gin.New()
	var method resources.AuthMethod
	r.GET("/thing", a.Guard.Protect(resources.Resource{Name: "resource", Methods: []string{"GET"}}), func(c *gin.Context) {
		p, _ := resources.PrincipalFrom(c)
		method = p.Method
		c.Status(http.StatusNoContent)
	})
	if w := get(t, r, "/thing", bearer); w.Code != http.StatusNoContent || method != resources.MethodOAuth2 {
		t.Fatalf("a.Guard with a Bearer token: %d %s, method %q", w.Code, w.Body, method)
	}
}
