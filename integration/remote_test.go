package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
	"github.com/authgate/authgate/tokens"
)

// TestRemoteResourceServer runs a separate resource server (its own gin
// router, talking to authgate only over HTTP) that registers its resource
// with PUT /api/resources/photos/, then enforces authgate's access tokens
// (JWKS and introspection) and API tokens (introspection) with
// resources/remote.
func TestRemoteResourceServer(t *testing.T) {
	eachDB(t, configs.Overrides{"auth.enable_basic": true}, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		const adminPass = "admin password for the remote test"
		if _, err := ag.App.Users.Create(ctx, users.NewUser{Username: "rsadmin", Password: adminPass, IsAdmin: true}); err != nil {
			t.Fatal(err)
		}

		// 1. The resource server's operator registers its resource.
		form := url.Values{"methods": {"GET POST DELETE"}, "description": {"Your photo library"}}
		req, _ := http.NewRequest(http.MethodPut, ag.URL+"/api/resources/photos/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rsadmin", adminPass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register resource: %d", resp.StatusCode)
		}
		var md struct {
			ScopesSupported []string `json:"scopes_supported"`
		}
		ag.getJSON("/.well-known/oauth-authorization-server", &md)
		if !strings.Contains(strings.Join(md.ScopesSupported, " "), "photos:read") {
			t.Fatalf("scopes_supported %v lacks photos:read", md.ScopesSupported)
		}

		// 2. A client-credentials client gets a photos:read token; the
		// resource server is a confidential client for introspection.
		register := func(spec authserver.ClientSpec) registeredClient {
			c, secret, err := ag.App.OAuth.Clients.Create(ctx, spec)
			if err != nil {
				t.Fatalf("create client: %v", err)
			}
			return registeredClient{ID: c.ID, Secret: secret}
		}
		app := register(authserver.ClientSpec{Name: "photo app", GrantTypes: []string{"client_credentials"}, Scopes: []string{"photos:read", "photos:write"}})
		rs := register(authserver.ClientSpec{Name: "photos resource server", GrantTypes: []string{"client_credentials"}, Scopes: []string{"photos:read"}, ResourceServer: true})
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: ag.URL + "/oauth/token", Scopes: []string{"photos:read"}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, raw, err := ag.App.Tokens.Generate(ctx, tokens.GenerateParams{User: ag.alice, Note: "photos",
			Policy: json.RawMessage(`{"resources":{"photos":{"*":{"block":["DELETE"]}}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		apiTok := raw

		jv, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: ag.URL})
		if err != nil {
			t.Fatal(err)
		}
		in, err := remote.NewIntrospector(remote.IntrospectorOptions{URL: ag.URL + "/oauth/introspect", ClientID: rs.ID, ClientSecret: rs.Secret,
			APITokenTTL: -1, AccessTokenTTL: -1, NegativeTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		server := func(bearer resources.BearerValidator) *gin.Engine {
			// authgate's default audience is its issuer URL.
			g, err := resources.NewGuard(resources.GuardConfig{Bearer: bearer, Tokens: in, Audience: ag.URL})
			if err != nil {
				t.Fatal(err)
			}
			r := gin.New()
			h := g.Protect(resources.Resource{Name: "photos", Methods: []string{"GET", "POST", "DELETE"}})
			for _, m := range []string{"GET", "POST", "DELETE"} {
				r.Handle(m, "/photos/", h, func(c *gin.Context) {
					p, _ := resources.PrincipalFrom(c)
					c.JSON(200, gin.H{"stat": "ok", "auth": p.Method, "user": p.User.Username})
				})
			}
			return r
		}
		byJWKS, byIntrospection := server(jv), server(in)
		call := func(r *gin.Engine, method, authz string) (int, int) {
			req := httptest.NewRequest(method, "/photos/", nil)
			req.Header.Set("Authorization", authz)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			var body struct {
				Err struct{ Code int } `json:"err"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			return w.Code, body.Err.Code
		}
		bearer := "Bearer " + tok.AccessToken
		tests := []struct {
			name         string
			r            *gin.Engine
			method       string
			authz        string
			status, code int
		}{
			{"jwks: read scope", byJWKS, "GET", bearer, 200, 0},
			{"jwks: no write scope", byJWKS, "POST", bearer, 403, 112},
			{"introspection: read scope", byIntrospection, "GET", bearer, 200, 0},
			{"introspection: no destroy scope", byIntrospection, "DELETE", bearer, 403, 112},
			{"api token: allowed", byJWKS, "POST", "token " + apiTok, 200, 0},
			{"api token: policy blocks DELETE", byJWKS, "DELETE", "token " + apiTok, 403, 101},
			{"api token: unknown", byJWKS, "GET", "token agp_" + strings.Repeat("x", 36), 401, 104},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if status, code := call(tc.r, tc.method, tc.authz); status != tc.status || code != tc.code {
					t.Fatalf("%d/%d; want %d/%d", status, code, tc.status, tc.code)
				}
			})
		}

		// Revocation: introspection sees it at once (cache off); a JWT
		// checked locally stays valid until it expires (documented).
		rev := url.Values{"token": {tok.AccessToken}}
		req, _ = http.NewRequest(http.MethodPost, ag.URL+"/oauth/revoke", strings.NewReader(rev.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, app.Secret)
		if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", resp, err)
		}
		resp.Body.Close()
		if status, _ := call(byIntrospection, "GET", bearer); status != 401 {
			t.Fatalf("revoked token via introspection: %d", status)
		}
		if status, _ := call(byJWKS, "GET", bearer); status != 200 {
			t.Fatalf("revoked JWT via JWKS: %d (expected to pass until exp)", status)
		}
	})
}
