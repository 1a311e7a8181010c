package authserver_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
	"github.com/authgate/authgate/scopes"
)

// audienceOf returns the aud of an access token: the JWT claim, or what
// introspection reports for an opaque token.
func (h *harness) audienceOf(access string) []string {
	h.t.Helper()
	r := h.introspect(access)
	if r.Body["active"] != true {
		h.t.Fatalf("token inactive: %s", r.Raw)
	}
	var out []string
	switch v := r.Body["aud"].(type) {
	case string:
		out = []string{v}
	case []any:
		for _, a := range v {
			s, _ := a.(string)
			out = append(out, s)
		}
	}
	if isJWT(access) {
		var claims struct {
			Aud any `json:"aud"`
		}
		decodeSegment(h.t, access, 1, &claims)
		var jwtAud []string
		switch v := claims.Aud.(type) {
		case string:
			jwtAud = []string{v}
		case []any:
			for _, a := range v {
				s, _ := a.(string)
				jwtAud = append(jwtAud, s)
			}
		}
		if !slices.Equal(jwtAud, out) {
			h.t.Fatalf("JWT aud %v, introspection aud %v", jwtAud, out)
		}
	}
	return out
}

// TestAudience: RFC 8707 resource indicators at /oauth/authorize and
// /oauth/token, and the default audience of a resource's own scopes.
func TestAudience(t *testing.T) {
	eachFormat(t, func(t *testing.T, h *harness) {
		if err := h.reg.Add(scopes.Decl{Name: "photos", Methods: []string{"GET", "PUT"}, Audience: photosAudience}); err != nil {
			t.Fatal(err)
		}
		own := h.s.Settings().Audience
		svc, svcSecret := h.serviceClient("photos:read", "photos:write", "test:read")
		cc := func(scope string, resource ...string) response {
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": resource}
			return h.token(form, svc.ID, svcSecret)
		}
		t.Run("client_credentials: resource= sets aud", func(t *testing.T) {
			r := cc("test:read", photosAudience)
			if r.Status != http.StatusOK || !slices.Equal(h.audienceOf(r.str("access_token")), []string{photosAudience}) {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("client_credentials: resource may repeat", func(t *testing.T) {
			r := cc("test:read", photosAudience, own)
			if r.Status != http.StatusOK || len(h.audienceOf(r.str("access_token"))) != 2 {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("client_credentials: unknown or malformed resource is invalid_target", func(t *testing.T) {
			expectError(t, cc("test:read", "https://evil.example"), http.StatusBadRequest, "invalid_target")
			expectError(t, cc("test:read", "photos"), http.StatusBadRequest, "invalid_target")
			expectError(t, cc("test:read", photosAudience+"#frag"), http.StatusBadRequest, "invalid_target")
		})
		t.Run("default: every scope belongs to the resource", func(t *testing.T) {
			r := cc("photos:read photos:write")
			if got := h.audienceOf(r.str("access_token")); !slices.Equal(got, []string{photosAudience}) {
				t.Fatalf("aud = %v", got)
			}
			// authgate's own API refuses a token meant for another server.
			if api := h.api("Bearer " + r.str("access_token")); api.Status != http.StatusUnauthorized {
				t.Fatalf("own API accepted a photos token: %d %s", api.Status, api.Raw)
			}
		})
		t.Run("default: mixed scopes keep the issuer's audience", func(t *testing.T) {
			r := cc("photos:read test:read")
			if got := h.audienceOf(r.str("access_token")); !slices.Equal(got, []string{own}) {
				t.Fatalf("aud = %v", got)
			}
			if api := h.api("Bearer " + r.str("access_token")); api.Status != http.StatusOK {
				t.Fatalf("own API: %d %s", api.Status, api.Raw)
			}
		})

		web, webSecret := h.webClient("photos:read", "test:read")
		authz := func(resource ...string) response {
			_, ch := pkce()
			cookie := h.browserSession(h.alice, web, "photos:read test:read")
			return h.authorize(url.Values{
				"response_type": {"code"}, "client_id": {web.ID}, "redirect_uri": {web.RedirectURIs[0]},
				"scope": {"photos:read test:read"}, "state": {"s1"}, "code_challenge": {ch}, "code_challenge_method": {"S256"},
				"resource": resource,
			}, cookie)
		}
		t.Run("authorize: unknown resource is invalid_target by redirect", func(t *testing.T) {
			r := authz("https://evil.example")
			loc, _ := url.Parse(r.Header.Get("Location"))
			if r.Status != http.StatusSeeOther || loc.Query().Get("error") != "invalid_target" || loc.Query().Get("state") != "s1" {
				t.Fatalf("%d %s", r.Status, r.Header.Get("Location"))
			}
		})
		codeFor := func(t *testing.T, resource ...string) (code, verifier string) {
			t.Helper()
			v, ch := pkce()
			cookie := h.browserSession(h.alice, web, "photos:read test:read")
			r := h.authorize(url.Values{
				"response_type": {"code"}, "client_id": {web.ID}, "redirect_uri": {web.RedirectURIs[0]},
				"scope": {"photos:read test:read"}, "code_challenge": {ch}, "code_challenge_method": {"S256"},
				"resource": resource,
			}, cookie)
			loc, _ := url.Parse(r.Header.Get("Location"))
			if loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("authorize: %d %s", r.Status, r.Header.Get("Location"))
			}
			return loc.Query().Get("code"), v
		}
		redeem := func(code, verifier string, resource ...string) response {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {web.RedirectURIs[0]},
				"code_verifier": {verifier}, "resource": resource}
			return h.token(form, web.ID, webSecret)
		}
		t.Run("code: the audience is bound into the code", func(t *testing.T) {
			code, v := codeFor(t, photosAudience)
			r := redeem(code, v)
			if r.Status != http.StatusOK || !slices.Equal(h.audienceOf(r.str("access_token")), []string{photosAudience}) {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("code: the token request cannot widen the audience", func(t *testing.T) {
			code, v := codeFor(t, photosAudience)
			expectError(t, redeem(code, v, own), http.StatusBadRequest, "invalid_target")
		})
		t.Run("refresh: resource narrows the access token only", func(t *testing.T) {
			code, v := codeFor(t, photosAudience, own)
			r := redeem(code, v)
			if r.Status != http.StatusOK || len(h.audienceOf(r.str("access_token"))) != 2 {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}, "resource": {photosAudience}}
			r = h.token(form, web.ID, webSecret)
			if r.Status != http.StatusOK || !slices.Equal(h.audienceOf(r.str("access_token")), []string{photosAudience}) {
				t.Fatalf("narrowed refresh: %d %s", r.Status, r.Raw)
			}
			form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}, "resource": {"https://evil.example"}}
			expectError(t, h.token(form, web.ID, webSecret), http.StatusBadRequest, "invalid_target")
			// The refused request left the refresh token unspent, and it
			// still holds the whole grant's audience.
			form.Del("resource")
			r = h.token(form, web.ID, webSecret)
			if r.Status != http.StatusOK || len(h.audienceOf(r.str("access_token"))) != 2 {
				t.Fatalf("refresh after narrowing: %d %s", r.Status, r.Raw)
			}
		})
		// Opaque tokens are introspected, not verified locally: this check
		// is for the JWT format only.
		raw := cc("photos:read").str("access_token")
		if !isJWT(raw) {
			return
		}
		t.Run("a JWT for the resource validates at that resource server", func(t *testing.T) {
			// The remote validator verifies the signature and leaves the
			// audience to the Guard's one Audience setting.
			v, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: h.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				audience string
				ok       bool
			}{{photosAudience, true}, {own, false}} {
				g, err := resources.NewGuard(resources.GuardConfig{Bearer: v, Audience: tc.audience})
				if err != nil {
					t.Fatal(err)
				}
				r := gin.New()
				r.GET("/photos/", g.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) { c.Status(http.StatusNoContent) })
				req := httptest.NewRequest(http.MethodGet, "/photos/", nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if got := rec.Code == http.StatusNoContent; got != tc.ok {
					t.Fatalf("audience %s: status %d %s", tc.audience, rec.Code, rec.Body)
				}
			}
		})
	})
}

const photosAudience = "https://photos.example"

// isJWT tells a JWT access token (three dot-separated parts) from an
// opaque one.
func isJWT(raw string) bool { return strings.Count(raw, ".") == 2 }
