package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// TestIntrospectionCallers: what a caller learns depends on whether it is a
// resource server (docs/introspection-and-audience.md). A resource server
// sees every access token and API token, with the extension members; any
// other client sees only its own access and refresh tokens, and
// {"active": false} alone for everything else.
func TestIntrospectionCallers(t *testing.T) {
	eachFormat(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		c, secret := h.webClient("test:read")
		other, otherSecret := h.serviceClient("test:read")
		rs, rsSecret := h.introspector()
		tok := h.tokens(c, secret, "test:read")
		ask := func(token, id, sec string) response {
			t.Helper()
			r := h.post(authserver.PathIntrospect, url.Values{"token": {token}}, id, sec)
			if r.Status != http.StatusOK {
				t.Fatalf("introspect: %d %s", r.Status, r.Raw)
			}
			return r
		}
		onlyInactive := func(t *testing.T, r response) {
			t.Helper()
			if r.Body["active"] != false || len(r.Body) != 1 {
				t.Fatalf(`want {"active":false} alone, got %s`, r.Raw)
			}
		}
		apiTok, raw, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: h.alice})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("another client's access token is inactive to a non-resource-server", func(t *testing.T) {
			onlyInactive(t, ask(tok.str("access_token"), other.ID, otherSecret))
		})
		t.Run("own access token is active", func(t *testing.T) {
			if r := ask(tok.str("access_token"), c.ID, secret); r.Body["active"] != true || r.str("username") != "alice" {
				t.Fatalf("own token: %s", r.Raw)
			}
		})
		t.Run("a resource server sees any access token", func(t *testing.T) {
			if r := ask(tok.str("access_token"), rs.ID, rsSecret); r.Body["active"] != true || r.str("client_id") != c.ID {
				t.Fatalf("resource server: %s", r.Raw)
			}
		})
		t.Run("API token is inactive to a non-resource-server", func(t *testing.T) {
			onlyInactive(t, ask(raw, other.ID, otherSecret))
			onlyInactive(t, ask(raw, c.ID, secret))
		})
		t.Run("API token is active to a resource server, with the extension members", func(t *testing.T) {
			r := ask(raw, rs.ID, rsSecret)
			if r.Body["active"] != true || r.str("token_type") != authserver.TokenTypeAPI || r.str("sub") != strconv.FormatInt(h.alice.ID, 10) ||
				r.str("api_token_id") != strconv.FormatInt(apiTok.ID, 10) || r.Body["deprecated"] != false ||
				r.Body["policy"] == nil || r.Body["iat"] == nil || r.Body["exp"] != nil {
				t.Fatalf("API token: %s", r.Raw)
			}
		})
		t.Run("introspection does not record a use", func(t *testing.T) {
			for range 3 {
				ask(raw, rs.ID, rsSecret)
			}
			got, err := h.apiTokens.Get(ctx, apiTok.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsed != nil {
				t.Fatalf("last_used = %v after introspection, want unset", got.LastUsed)
			}
		})
		t.Run("unusable API tokens: reason and the Guard's own message, to resource servers only", func(t *testing.T) {
			mk := func() (*tokens.Token, string) {
				tk, r, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: h.bob})
				if err != nil {
					t.Fatal(err)
				}
				return tk, r
			}
			expired, expiredRaw := mk()
			past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			if _, err := h.d.Exec(h.d.Rebind(`UPDATE api_tokens SET expires = ? WHERE id = ?`), past, expired.ID); err != nil {
				t.Fatal(err)
			}
			invalid, invalidRaw := mk()
			if _, err := h.apiTokens.Invalidate(ctx, invalid.ID, "leaked in a log"); err != nil {
				t.Fatal(err)
			}
			carol, err := h.users.Create(ctx, users.NewUser{Username: "carol", Password: testPassword})
			if err != nil {
				t.Fatal(err)
			}
			_, inactiveRaw, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: carol})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.users.SetActive(ctx, carol.ID, false); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ name, raw, reason string }{
				{"expired", expiredRaw, authserver.InactiveExpired},
				{"invalid", invalidRaw, authserver.InactiveInvalid},
				{"user inactive", inactiveRaw, authserver.InactiveUserInactive},
			} {
				t.Run(tc.name, func(t *testing.T) {
					guard := h.api("token " + tc.raw)
					var msg string
					if e, ok := guard.Body["err"].(map[string]any); ok {
						msg, _ = e["msg"].(string)
					}
					if guard.Status != http.StatusUnauthorized || msg == "" {
						t.Fatalf("guard: %d %s", guard.Status, guard.Raw)
					}
					r := ask(tc.raw, rs.ID, rsSecret)
					if r.Body["active"] != false || r.str("token_type") != authserver.TokenTypeAPI || r.str("inactive_reason") != tc.reason ||
						r.str("error_description") != msg || len(r.Body) != 4 {
						t.Fatalf("resource server got %s; want reason %q and the Guard's message %q", r.Raw, tc.reason, msg)
					}
					onlyInactive(t, ask(tc.raw, other.ID, otherSecret))
				})
			}
		})
		t.Run("unknown API token is inactive alone, even to a resource server", func(t *testing.T) {
			gone, unknown, err := h.apiTokens.Generate(ctx, tokens.GenerateParams{User: h.alice})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.d.Exec(h.d.Rebind(`DELETE FROM api_tokens WHERE id = ?`), gone.ID); err != nil {
				t.Fatal(err)
			}
			onlyInactive(t, ask(unknown, rs.ID, rsSecret))
		})
	})
}
