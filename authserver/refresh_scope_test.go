package authserver_test

import (
	"net/http"
	"testing"
)

// Issue #9 item 7: a refresh kept scopes the registry no longer knows. After
// the "admin" resource is unregistered, a refresh drops admin:read from the
// new access token (as a new grant would refuse it) and refuses a request
// for it.
func TestRefreshDropsScopesTheRegistryForgot(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read", "admin:read")
		rt := h.tokens(c, secret, "test:read admin:read").str("refresh_token")
		if !h.reg.Remove("admin") {
			t.Fatal("the harness registry has no admin resource")
		}
		expectError(t, h.refresh(c, secret, rt, "admin:read"), http.StatusBadRequest, "invalid_scope")
		r := h.refresh(c, secret, rt, "")
		if r.Status != http.StatusOK || r.str("scope") != "test:read" {
			t.Fatalf("refresh after unregistering admin: %d %s", r.Status, r.Raw)
		}
		if got := accessScope(t, h, r.str("access_token")); got != "test:read" {
			t.Fatalf("refreshed access token scope %q, want test:read", got)
		}
	})
}
